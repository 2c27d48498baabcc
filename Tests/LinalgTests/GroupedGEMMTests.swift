import Testing
import _TestSupport

@testable import Linalg

@Suite struct GroupedGEMMTests {
  /// Token blocks of uneven sizes, one of them empty, as MoE dispatch produces.
  static let blocks = [0..<5, 5..<5, 5..<6, 6..<19, 19..<23]

  func check<Scalar: BLASScalar>(
    _: Scalar.Type, strategy: GroupedGEMMStrategy, transposeWeights: Bool, threads: Int
  ) {
    let (k, n) = (7, 9)
    let a = Reference.randomMatrix(Scalar.self, rows: 25, columns: k, seed: 1)
    let weights = Self.blocks.indices.map { g in
      transposeWeights
        ? Reference.randomMatrix(Scalar.self, rows: n, columns: k, seed: 10 + UInt64(g))
        : Reference.randomMatrix(Scalar.self, rows: k, columns: n, seed: 10 + UInt64(g))
    }
    var c = Reference.randomMatrix(Scalar.self, rows: 25, columns: n, seed: 2)
    let before = c
    BLAS.withThreadCount(threads) {
      groupedGEMM(
        a, rowRanges: Self.blocks, weights: weights, transposeWeights: transposeWeights,
        alpha: 2, beta: 0.5, into: &c, strategy: strategy)
    }
    for (rows, w) in zip(Self.blocks, weights) where !rows.isEmpty {
      let expected = Reference.gemm(
        a[rows: rows], transposeA: false, w, transposeB: transposeWeights, alpha: 2, beta: 0.5,
        c: before[rows: rows])
      let misses = Reference.misses(c[rows: rows], expected.value, bound: expected.bound)
      #expect(misses.isEmpty, "\(Scalar.self) \(strategy) rows \(rows): \(misses.prefix(3))")
    }
    // Rows 23..<25 belong to no group and stay as they were.
    #expect(c[rows: 23..<25] == before[rows: 23..<25])
  }

  @Test(arguments: GroupedGEMMStrategy.allCases, [false, true])
  func everyStrategyMatchesPerGroupReference(strategy: GroupedGEMMStrategy, transposeWeights: Bool) {
    for threads in [1, 2] {
      check(Float.self, strategy: strategy, transposeWeights: transposeWeights, threads: threads)
      check(Double.self, strategy: strategy, transposeWeights: transposeWeights, threads: threads)
    }
  }

  @Test func strategiesAgreeBitForBit() {
    let a = Reference.randomMatrix(Float.self, rows: 64, columns: 32, seed: 3)
    let weights = (0..<4).map {
      Reference.randomMatrix(Float.self, rows: 48, columns: 32, seed: 20 + UInt64($0))
    }
    let ranges = [0..<10, 10..<40, 40..<41, 41..<64]
    let results = GroupedGEMMStrategy.allCases.map { strategy in
      var c = Matrix<Float>(rows: 64, columns: 48)
      BLAS.withThreadCount(2) {
        groupedGEMM(
          a, rowRanges: ranges, weights: weights, transposeWeights: true, into: &c, strategy: strategy)
      }
      return c
    }
    #expect(results.allSatisfy { $0 == results[0] })
  }

  @Test func scheduleIsLongestJobFirstToTheLeastLoadedWorker() {
    // Loads go 5 | 4, then 5 | 7, then 8 | 7, then 8 | 10.
    #expect(_GroupSchedule(work: [5, 4, 3, 3, 3], workers: 2).assignments == [[0, 3], [1, 2, 4]])
    #expect(_GroupSchedule(work: [1], workers: 4).assignments == [[0]])
  }

  @Test func automaticRunsConcurrentlyOnlyGroupsBLASWouldNotThread() {
    let threshold = GroupedGEMMStrategy.blasThreadingThreshold
    #expect(
      GroupedGEMMStrategy.resolvingAutomatic(rowCounts: [4, 4, 0], inputs: 256, outputs: 128, threads: 2)
        == .concurrent)
    #expect(
      GroupedGEMMStrategy.resolvingAutomatic(rowCounts: [4, 4], inputs: 256, outputs: 128, threads: 1)
        == .sequential)
    #expect(
      GroupedGEMMStrategy.resolvingAutomatic(rowCounts: [4, 0], inputs: 256, outputs: 128, threads: 2)
        == .sequential)
    #expect(
      GroupedGEMMStrategy.resolvingAutomatic(
        rowCounts: [1, threshold + 1], inputs: 1, outputs: 1, threads: 2) == .sequential)
  }

  @Test func misuseTraps() async {
    await #expect(processExitsWith: .failure) {
      var c = Matrix<Float>(rows: 4, columns: 2)
      let w = Matrix<Float>(rows: 3, columns: 2)
      groupedGEMM(Matrix<Float>(rows: 4, columns: 3), rowRanges: [0..<3, 2..<4], weights: [w, w], into: &c)
    }
    await #expect(processExitsWith: .failure) {
      var c = Matrix<Float>(rows: 4, columns: 2)
      groupedGEMM(
        Matrix<Float>(rows: 4, columns: 3), rowRanges: [0..<4], weights: [Matrix(rows: 2, columns: 2)],
        into: &c)
    }
  }
}
