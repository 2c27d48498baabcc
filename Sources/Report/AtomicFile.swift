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
    do {
      try FileManager.default.createDirectory(
        at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
    } catch {
      throw FileWriteError(path: path, error: error)
    }
    let temporary = try writeTemporary(beside: path, body)
    guard rename(temporary, path) == 0 else {
      let error = FileWriteError.fromErrno(path: path)
      try? FileManager.default.removeItem(atPath: temporary)
      throw error
    }
  }

  /// Writes a new hidden file beside `path` (a unique name in its folder, so that a rename can
  /// put it in `path`'s place) through `body`, flushes it to disk and returns its path. On any
  /// error the file is removed; the file system's errors become a `FileWriteError` naming
  /// `path`, never the temporary name.
  static func writeTemporary(beside path: String, _ body: (FileHandle) throws -> Void) throws -> String {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent().appendingPathComponent(
      ".\(url.lastPathComponent).\(UInt64.random(in: 0..<UInt64.max)).tmp"
    ).path
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    guard descriptor >= 0 else { throw FileWriteError.fromErrno(path: path) }
    let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    defer { try? handle.close() }
    do {
      try body(handle)
      try handle.synchronize()  // on disk before it takes the name
    } catch {
      try? FileManager.default.removeItem(atPath: temporary)
      throw FileWriteError.isFileSystemError(error) ? FileWriteError(path: path, error: error) : error
    }
    return temporary
  }
}
