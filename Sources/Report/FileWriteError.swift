import Foundation

/// A file or folder of a run's output could not be written: the path the user gave and the
/// reason in a few words (`permission denied`, `no space left on device`), never a temporary
/// name or a raw Foundation error.
public struct FileWriteError: Error, Equatable, CustomStringConvertible {
  /// The output the user asked for.
  public let path: String
  /// Why it could not be written.
  public let reason: String

  /// An error naming `path` for `reason`.
  public init(path: String, reason: String) { (self.path, self.reason) = (path, reason) }

  /// An error naming `path` for what the file system threw.
  public init(path: String, error: any Error) {
    self.init(path: path, reason: Self.reason(of: error))
  }

  /// An error naming `path` for the current `errno`.
  static func fromErrno(path: String) -> FileWriteError {
    FileWriteError(path: path, reason: String(cString: strerror(errno)))
  }

  /// "cannot write PATH: REASON".
  public var description: String { "cannot write \(path): \(reason)" }

  /// Whether `error` comes from the file system (Foundation or POSIX) rather than from the
  /// code that produced the contents.
  static func isFileSystemError(_ error: any Error) -> Bool {
    let domain = (error as NSError).domain
    return domain == NSCocoaErrorDomain || domain == NSPOSIXErrorDomain
  }

  /// The file system's reason in words: the POSIX error's text when there is one.
  static func reason(of error: any Error) -> String {
    let ns = error as NSError
    if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain
    {
      return String(cString: strerror(Int32(underlying.code)))
    }
    switch CocoaError.Code(rawValue: ns.code) {
    case .fileWriteNoPermission: return "permission denied"
    case .fileWriteOutOfSpace: return "no space left on device"
    case .fileWriteVolumeReadOnly: return "read-only file system"
    case .fileNoSuchFile, .fileWriteInvalidFileName: return "no such folder"
    default: return ns.domain == NSCocoaErrorDomain ? "the write failed" : "\(error)"
    }
  }
}
