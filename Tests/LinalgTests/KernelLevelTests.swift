import Dispatch
import Foundation
import Testing
import _TestSupport

@testable import Linalg

/// Every C kernel on every body this processor can run below its best — the portable C
/// one included; the default-level tests cover the best — against the same references.
/// The cap is per thread, so the suites running beside this one keep the best kernels.
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

  /// A capped thread's workers run under its cap; a thread started beside it does not.
  @Test func theCapHoldsForTheCallerAndItsWorkersOnly() throws {
    let seen = Kernels.limited(to: .portable) {
      // Slots 0..<4 for the workers, 4 for the thread beside.
      nonisolated(unsafe) let levels = UnsafeMutableBufferPointer<Kernels.Level>.allocate(capacity: 5)
      defer { levels.deallocate() }
      Kernels.concurrentPerform(iterations: 4) { levels[$0] = Kernels.level }
      let done = DispatchSemaphore(value: 0)
      Thread {
        levels[4] = Kernels.level
        done.signal()
      }.start()
      done.wait()
      return Array(levels)
    }
    #expect(seen == Array(repeating: .portable, count: 4) + [Kernels.best])
    #expect(Kernels.level == Kernels.best)
  }
}
