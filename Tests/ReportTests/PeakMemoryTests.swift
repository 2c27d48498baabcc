import Report
import Testing

@Suite struct PeakMemoryTests {
  /// Touching 64 MiB raises the peak by at least that much; after the memory is freed, a
  /// reset brings the peak back below it.
  @Test(.enabled(if: PeakMemory.bytes != nil, "the system reports no peak resident memory"))
  func peakFollowsATouchedAllocationAndResets() throws {
    #expect(PeakMemory.reset())
    let before = try #require(PeakMemory.bytes)
    let size = 64 << 20
    do {
      let block = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 4096)
      defer { block.deallocate() }
      for offset in stride(from: 0, to: size, by: 4096) { block[offset] = 1 }
      #expect(try #require(PeakMemory.bytes) >= before + size - (1 << 20))
    }
    #expect(PeakMemory.reset())
    #expect(try #require(PeakMemory.bytes) < before + size / 2)
  }
}
