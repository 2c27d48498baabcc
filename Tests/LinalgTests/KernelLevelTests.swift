import Linalg
import Testing
import _TestSupport

/// Every C kernel on every body this processor can run below its best — the portable C
/// one included; the default-level tests cover the best — against the same references.
/// The only suite that caps the kernel level (a process-wide setting), and serialized, so
/// each case runs at its level.
@Suite(.serialized) struct KernelLevelTests {
  @Test(arguments: Kernels.available.dropLast()) func everyKernelOnLevel(_ level: Kernels.Level) {
    Kernels.limited(to: level) {
      #expect(Kernels.level == level)
      WeightMatrixTests().productsMatchTheReference()
      for c in GEMMTests.fewRowsCases { GEMMTests().fewRowsProductsMatchNaiveReference(c) }
      ElementwiseTests().vectorisedFloatKernelsAreWithinFourULP(.silu)
      ElementwiseTests().vectorisedFloatKernelsAreWithinFourULP(.sigmoid)
      VectorisedSoftmaxTests().floatRowsMatchTheDoubleSoftmax()
    }
    #expect(Kernels.level == Kernels.available.last)
  }
}
