import Linalg
import Testing

@Suite(.serialized) struct BLASTests {
  /// A core type is suggested exactly when OpenBLAS fell back to Prescott on a processor
  /// with vector units it did not use, and it names what the processor has; a thread
  /// count beyond `Int32` clamps instead of trapping.
  @Test func genericOpenBLASKernelsAreNamed() {
    let generic = BLAS.configuration.contains("Prescott") && Kernels.best != .portable
    #expect((BLAS.suggestedCoreType != nil) == generic)
    #expect((BLAS.coreTypeWarning != nil) == generic)
    if generic { #expect(BLAS.suggestedCoreType == (Kernels.best >= .avx512 ? "SkylakeX" : "Haswell")) }
    BLAS.withThreadCount(10_000_000_000) { #expect(BLAS.threadCount >= 1) }
  }

  @Test func threadCountIsRestoredAfterAPinnedRegion() {
    let before = BLAS.threadCount
    let inside = BLAS.withThreadCount(1) { BLAS.threadCount }
    #expect(inside == 1)
    #expect(BLAS.threadCount == before)
    #expect(BLAS.processorCount >= 1)
    #expect(BLAS.configuration.contains("OpenBLAS"))
  }
}
