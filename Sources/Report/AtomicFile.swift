import Foundation

/// Writes files so that readers never see half of one: the text goes to a temporary file
/// in the same folder, which is then renamed over the target.
public enum AtomicFile {
  /// Writes `text` as UTF-8 to `path`, creating the folder if needed.
  ///
  /// - Throws: `FileWriteError` naming `path` when the folder cannot be made or the file
  ///   written (flushed to disk before it takes the name); the target is then left as it was.
  public static func write(_ text: String, to path: String) throws {
    try write(Data(text.utf8), to: path)
  }

  /// Writes `data` to `path`, creating the folder if needed.
  ///
  /// - Throws: as `write(_:to:)` for text.
  public static func write(_ data: Data, to path: String) throws {
    try write(to: path) { handle in try handle.write(contentsOf: data) }
  }

  /// Creates `path` by streaming: `body` writes the contents to a handle on a temporary
  /// file beside it, which is flushed to disk and replaces `path` only once `body`
  /// returns; on any error the
  /// temporary file is removed and `path` is untouched.
  ///
  /// - Throws: what `body` throws, except that the file system's errors (its writes
  ///   included) become a `FileWriteError` naming `path`.
  public static func write(to path: String, streaming body: (FileHandle) throws -> Void) throws {
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent()
    do {
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    } catch {
      throw FileWriteError(path: path, error: error)
    }
    let temporary = folder.appendingPathComponent(
      ".\(url.lastPathComponent).\(UInt64.random(in: 0..<UInt64.max)).tmp")
    let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    guard descriptor >= 0 else { throw FileWriteError.fromErrno(path: path) }
    let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    do {
      do {
        try body(handle)
        try handle.synchronize()  // on disk before it takes the name
        try handle.close()
      } catch {
        try? handle.close()
        throw FileWriteError.isFileSystemError(error) ? FileWriteError(path: path, error: error) : error
      }
      if rename(temporary.path, url.path) != 0 { throw FileWriteError.fromErrno(path: path) }
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      throw error
    }
  }
}
