import Glibc

/// A whole file's bytes, mapped or read into memory (`FileAccess`); they live as long as
/// this object.
final class FileBytes: @unchecked Sendable {
  /// The file's bytes.
  let bytes: UnsafeRawBufferPointer
  /// The file's path, for messages.
  let path: String
  /// How the bytes are held (and so how they are released).
  let access: FileAccess

  /// The bytes of the regular file at `path`.
  ///
  /// - Throws: `SafeTensorsError.unreadableFile` when it cannot be opened, sized, mapped or read.
  init(path: String, access: FileAccess = .mapped) throws {
    (self.path, self.access) = (path, access)
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
    switch access {
    case .mapped:
      guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), base != MAP_FAILED else {
        throw SafeTensorsError.unreadableFile(path: path, reason: Self.lastError())
      }
      bytes = UnsafeRawBufferPointer(start: base, count: size)
    case .read:
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
      var done = 0
      while done < size {
        let got = pread(descriptor, buffer.baseAddress! + done, size - done, off_t(done))
        if got < 0 && errno == EINTR { continue }
        guard got > 0 else {
          let reason = got == 0 ? "the file shrank to \(done) bytes while being read" : Self.lastError()
          buffer.deallocate()
          throw SafeTensorsError.unreadableFile(path: path, reason: reason)
        }
        done += got
      }
      bytes = UnsafeRawBufferPointer(buffer)
    }
  }

  /// A copy of `bytes`, held in memory (`access: .read`) under the name `path`.
  init(copying bytes: UnsafeRawBufferPointer, path: String) {
    (self.path, self.access) = (path, .read)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
    if let base = bytes.baseAddress { buffer.baseAddress!.copyMemory(from: base, byteCount: bytes.count) }
    self.bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<bytes.count])
  }

  deinit {
    guard let base = bytes.baseAddress else { return }
    switch access {
    case .mapped: munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
    case .read: UnsafeMutableRawPointer(mutating: base).deallocate()
    }
  }

  static func lastError() -> String { String(cString: strerror(errno)) }
}
