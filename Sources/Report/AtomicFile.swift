import Foundation

/// Writes files so that readers never see half of one: the text goes to a temporary file
/// in the same folder, which is then renamed over the target.
public enum AtomicFile {
  /// Writes `text` as UTF-8 to `path`, creating the folder if needed.
  ///
  /// - Throws: the file system's error when the folder cannot be made or the file
  ///   written; the target is then left as it was.
  public static func write(_ text: String, to path: String) throws {
    try write(Data(text.utf8), to: path)
  }

  /// Writes `data` to `path`, creating the folder if needed.
  ///
  /// - Throws: as `write(_:to:)` for text.
  public static func write(_ data: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent()
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let temporary = folder.appendingPathComponent(
      ".\(url.lastPathComponent).\(UInt64.random(in: 0..<UInt64.max)).tmp")
    do {
      try data.write(to: temporary)
      if rename(temporary.path, url.path) != 0 {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
      }
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      throw error
    }
  }

  /// Creates `path` by streaming: `body` writes the contents to a handle on a temporary
  /// file beside it, which is flushed to disk and replaces `path` only once `body`
  /// returns; on any error the
  /// temporary file is removed and `path` is untouched.
  ///
  /// - Throws: what `body` throws, or a file-system error naming the path.
  public static func write(to path: String, streaming body: (FileHandle) throws -> Void) throws {
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent()
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let temporary = folder.appendingPathComponent(
      ".\(url.lastPathComponent).\(UInt64.random(in: 0..<UInt64.max)).tmp")
    guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
      throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
    }
    do {
      let handle = try FileHandle(forWritingTo: temporary)
      do {
        try body(handle)
        try handle.synchronize()  // on disk before it takes the name
        try handle.close()
      } catch {
        try? handle.close()
        throw error
      }
      if rename(temporary.path, url.path) != 0 {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
      }
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      throw error
    }
  }
}
