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
    // stat follows symbolic links (a Hugging Face cache's snapshot files are relative links
    // into its blobs folder); only a link that resolves to nothing is refused as dangling.
    var status = stat()
    guard stat(path, &status) == 0 else {
      var link = stat()
      if lstat(path, &link) == 0 { throw Problem.notARegularFile(kind: "a dangling link") }
      throw errno == ENOENT || errno == ENOTDIR
        ? Problem.missing : .unreadable(String(cString: strerror(errno)))
    }
    guard (status.st_mode & S_IFMT) == S_IFREG else {
      let kinds: [mode_t: String] = [
        S_IFDIR: "a folder", S_IFCHR: "a device", S_IFBLK: "a device", S_IFSOCK: "a socket",
      ]
      throw Problem.notARegularFile(kind: kinds[status.st_mode & S_IFMT] ?? "a FIFO or special file")
    }
    let size = Int(status.st_size)
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
