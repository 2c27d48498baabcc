import Linalg

/// Memory a collective reads or writes while it is in flight; freed with the last
/// reference, so a matrix over a received buffer keeps it alive.
final class MessageBuffer: @unchecked Sendable {
  /// The first byte.
  let base: UnsafeMutableRawPointer

  /// `byteCount` bytes aligned for any element (at least one byte, so `base` is never null).
  init(byteCount: Int) {
    base = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(1, byteCount), alignment: 64)
  }

  /// A buffer holding a copy of `elements`.
  convenience init<T>(copying elements: UnsafeBufferPointer<T>) {
    self.init(byteCount: elements.count * MemoryLayout<T>.stride)
    if let source = elements.baseAddress {
      base.copyMemory(from: source, byteCount: elements.count * MemoryLayout<T>.stride)
    }
  }

  /// MPI's 32-bit counts from `counts`, `Int32` each, followed by their running sums (the
  /// displacements): `2·P` values.
  convenience init(countsAndDisplacements counts: [Int]) {
    self.init(byteCount: 2 * counts.count * MemoryLayout<Int32>.stride)
    let values = base.bindMemory(to: Int32.self, capacity: 2 * counts.count)
    var offset = 0
    for (i, count) in counts.enumerated() {
      values[i] = Int32(count)
      values[counts.count + i] = Int32(offset)
      offset += count
    }
  }

  deinit { base.deallocate() }
}
