import Linalg
import Testing

@Suite(.serialized) struct BLASTests {
  @Test func threadCountIsRestoredAfterAPinnedRegion() {
    let before = BLAS.threadCount
    let inside = BLAS.withThreadCount(1) { BLAS.threadCount }
    #expect(inside == 1)
    #expect(BLAS.threadCount == before)
    #expect(BLAS.processorCount >= 1)
    #expect(BLAS.configuration.contains("OpenBLAS"))
  }
}
