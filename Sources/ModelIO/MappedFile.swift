import Glibc

/// A whole file mapped into memory, read-only and private: pages are read on demand, and
/// matrices over it copy before they write. The mapping lives as long as this object.
final class MappedFile: @unchecked Sendable {
  /// The mapped bytes.
  let bytes: UnsafeRawBufferPointer
  /// The file's path, for messages.
  let path: String

  /// Maps the file at `path`.
  ///
  /// - Throws: `SafeTensorsError.unreadableFile` when it cannot be opened, sized or mapped.
  init(path: String) throws {
    self.path = path
    // Non-blocking, so that a FIFO is refused as not a regular file instead of waiting for
    // a writer.
    let descriptor = open(path, O_RDONLY | O_NONBLOCK)
    guard descriptor >= 0 else { throw SafeTensorsError.unreadableFile(path: path, reason: Self.lastError()) }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else {
      throw SafeTensorsError.unreadableFile(path: path, reason: Self.lastError())
    }
    guard (status.st_mode & S_IFMT) == S_IFREG else {
      throw SafeTensorsError.unreadableFile(path: path, reason: "not a regular file")
    }
    let size = Int(status.st_size)
    guard size > 0 else {
      bytes = UnsafeRawBufferPointer(start: nil, count: 0)
      return
    }
    guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), base != MAP_FAILED
    else {
      throw SafeTensorsError.unreadableFile(path: path, reason: Self.lastError())
    }
    bytes = UnsafeRawBufferPointer(start: base, count: size)
  }

  deinit {
    if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
  }

  static func lastError() -> String { String(cString: strerror(errno)) }
}
