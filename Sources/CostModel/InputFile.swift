import Foundation

/// Reads a whole input file only after checking that it is a regular file of sensible
/// size, so that a folder, a FIFO (which would block) or a huge file gives a one-line
/// reason instead of a hang or a raw Foundation error.
public enum InputFile {
  /// Why a file could not be read, in words.
  public enum Problem: Error, Equatable, CustomStringConvertible {
    /// Nothing is at the path.
    case missing
    /// The path is a folder, a FIFO, a device or a socket.
    case notARegularFile(kind: String)
    /// The file is larger than the reader accepts.
    case tooLarge(bytes: Int, limit: Int)
    /// Reading failed (permissions, I/O).
    case unreadable(String)

    /// The reason, for messages that name the file.
    public var description: String {
      switch self {
      case .missing: "no such file"
      case .notARegularFile(let kind): "it is \(kind), not a regular file"
      case .tooLarge(let bytes, let limit): "it has \(bytes) bytes, more than the \(limit) accepted"
      case .unreadable(let reason): reason
      }
    }
  }

  /// The bytes of the regular file at `path`, at most `limit` of them (default 64 MiB: any
  /// config, index or tokenizer).
  ///
  /// - Throws: `Problem`.
  public static func contents(of path: String, limit: Int = 64 << 20) throws -> Data {
    let attributes: [FileAttributeKey: Any]
    do {
      attributes = try FileManager.default.attributesOfItem(atPath: path)
    } catch {
      throw FileManager.default.fileExists(atPath: path)
        ? Problem.unreadable("its attributes cannot be read") : .missing
    }
    let type = attributes[.type] as? FileAttributeType
    guard type == .typeRegular else {
      let kinds: [FileAttributeType: String] = [
        .typeDirectory: "a folder", .typeCharacterSpecial: "a device", .typeBlockSpecial: "a device",
        .typeSocket: "a socket", .typeSymbolicLink: "a dangling link",
      ]
      throw Problem.notARegularFile(kind: type.flatMap { kinds[$0] } ?? "a FIFO or special file")
    }
    let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
    guard size <= limit else { throw Problem.tooLarge(bytes: size, limit: limit) }
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw Problem.unreadable("permission denied or unreadable")
    }
    defer { try? handle.close() }
    do {
      return try handle.readToEnd() ?? Data()
    } catch {
      throw Problem.unreadable("reading failed")
    }
  }
}
