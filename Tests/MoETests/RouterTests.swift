import Foundation
import Linalg
import MoE
import Testing
import _TestSupport

/// Routers against small cases computed by hand from each paper's formula. The gates are
/// identities, so each token's row *is* its logits.
@Suite struct RouterTests {
  static func identityGate(_ n: Int) -> Linear<Double> { Linear(weight: Matrix.identity(n)) }

  /// Logits whose softmax is `p` exactly (up to rounding).
  static func logits(softmax p: [Double]) -> [Double] { p.map { log($0) } }
  /// Logits whose sigmoid is `s`.
  static func logits(sigmoid s: [Double]) -> [Double] { s.map { log($0 / (1 - $0)) } }

  func summary(_ d: RoutingDecision<Double>) -> [[Double]] {
    d.assignments.map { [Double($0.token), Double($0.expert), $0.weight] }
  }

  func expectClose(_ a: [[Double]], _ b: [[Double]], _ comment: Comment? = nil) {
    #expect(a.count == b.count, comment)
    for (x, y) in zip(a, b) {
      #expect(
        x.count == y.count && zip(x, y).allSatisfy { abs($0 - $1) < 1e-12 }, "\(x) vs \(y) \(comment ?? "")")
    }
  }

  static let topKTokens = Matrix<Double>([
    logits(softmax: [0.1, 0.2, 0.3, 0.4]),
    [0, 0, 0, 0],
    logits(softmax: [0.7, 0.1, 0.1, 0.1]),
  ])

  @Test func topKSoftmaxRenormalised() {
    let router = TopKSoftmaxRouter(gate: Self.identityGate(4), k: 2)
    let d = router.route(Self.topKTokens)
    expectClose(
      summary(d),
      [[0, 3, 4.0 / 7], [0, 2, 3.0 / 7], [1, 0, 0.5], [1, 1, 0.5], [2, 0, 0.875], [2, 1, 0.125]])
    #expect(d.assignments.map(\.choice) == [0, 1, 0, 1, 0, 1])
    #expect(abs(d.probabilities[0, 3] - 0.4) < 1e-12)
  }

  @Test func topKSoftmaxWithoutRenormalisationAndPerCallK() {
    let router = TopKSoftmaxRouter(gate: Self.identityGate(4), k: 2, normalizeTopK: false)
    let d = router.route(Self.topKTokens)
    expectClose(
      summary(d), [[0, 3, 0.4], [0, 2, 0.3], [1, 0, 0.25], [1, 1, 0.25], [2, 0, 0.7], [2, 1, 0.1]])
    var context = RoutingContext()
    let switchRouting = router.route(Self.topKTokens, k: 1, context: &context)
    expectClose(summary(switchRouting), [[0, 3, 0.4], [1, 0, 0.25], [2, 0, 0.7]])
  }

  @Test func noisyTopKAddsSeededSoftplusScaledNoiseOnlyInTraining() {
    let zero = Linear<Double>(weight: Matrix(rows: 4, columns: 4))
    let router = NoisyTopKRouter(gate: Self.identityGate(4), noise: zero, k: 2)
    // Inference: no noise, softmax over the kept two logits.
    let plain = router.route(Self.topKTokens)
    expectClose(
      summary(plain), summary(TopKSoftmaxRouter(gate: Self.identityGate(4), k: 2).route(Self.topKTokens)))
    // Training: H = logits + ε·softplus(0) = logits + ε·ln 2, with ε from the context's generator.
    var context = RoutingContext(isTraining: true, seed: 9)
    let noisy = router.route(Self.topKTokens, k: 2, context: &context)
    var replay = Xoshiro256StarStar(seed: 9)
    let epsilon = Matrix<Double>.normal(rows: 3, columns: 4, using: &replay)
    let h = Self.topKTokens + epsilon * log(2)
    var expected: [[Double]] = []
    for t in 0..<3 {
      let row = h[row: t]
      let order = row.indices.sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }.prefix(2)
      let z = order.map { exp(row[$0]) }.reduce(0, +)
      expected += order.map { [Double(t), Double($0), exp(row[$0]) / z] }
    }
    expectClose(summary(noisy), expected)
    #expect(noisy.logits == Self.topKTokens)
    var again = RoutingContext(isTraining: true, seed: 9)
    #expect(summary(router.route(Self.topKTokens, k: 2, context: &again)) == summary(noisy))
  }

  @Test func expertChoiceTakesEachExpertsTopCTokens() {
    let x = Matrix<Double>([[2, 0], [0, 2], [1, 1], [3, 0]])
    let p = { (l: Double) in 1 / (1 + exp(-l)) }  // softmax of two logits
    let full = ExpertChoiceRouter(gate: Self.identityGate(2), capacityFactor: 1).route(x)
    // C = ⌈4·1/2⌉ = 2. Expert 0 ranks tokens 3, 0, 2, 1; expert 1 ranks 1, 2, 0, 3.
    expectClose(summary(full), [[3, 0, p(3)], [0, 0, p(2)], [1, 1, p(2)], [2, 1, 0.5]])
    #expect(full.tokensWithoutExperts == 0)
    let half = ExpertChoiceRouter(gate: Self.identityGate(2), capacityFactor: 0.5).route(x)
    expectClose(summary(half), [[3, 0, p(3)], [1, 1, p(2)]])
    #expect(half.tokensWithoutExperts == 2)
    #expect(ExpertChoiceRouter(gate: Self.identityGate(2), capacityFactor: 8).capacity(tokens: 4) == 4)
  }

  static let deepSeekTokens = Matrix<Double>([
    logits(sigmoid: [0.9, 0.8, 0.3, 0.2]),
    logits(sigmoid: [0.5, 0.1, 0.4, 0.35]),
  ])

  @Test func deepSeekV3SigmoidBiasAndGroups() {
    let bias = Matrix<Double>([[0, 0, 0.5, 0]])
    let router = GroupLimitedRouter(
      gate: Self.identityGate(4), k: 2, scoring: .sigmoid, selectionBias: bias, groupCount: 2, topKGroup: 1,
      groupScore: .sumOfTopTwo, normalizeTopK: true, routedScalingFactor: 2.5)
    // Token 0: selection [.9, .8, .8, .2], groups 1.7 vs 1.0 → experts 0, 1 by the
    // unbiased scores .9 and .8, renormalised and scaled.
    // Token 1: selection [.5, .1, .9, .35], groups 0.6 vs 1.25 → experts 2, 3 (.4, .35).
    expectClose(
      summary(router.route(Self.deepSeekTokens)),
      [
        [0, 0, 2.5 * 0.9 / 1.7], [0, 1, 2.5 * 0.8 / 1.7], [1, 2, 2.5 * 0.4 / 0.75],
        [1, 3, 2.5 * 0.35 / 0.75],
      ])
    // Without groups token 1 takes experts 2 (.9 biased) and 0 (.5); weights stay unbiased.
    let ungrouped = GroupLimitedRouter(
      gate: Self.identityGate(4), k: 2, selectionBias: bias, normalizeTopK: false)
    expectClose(
      summary(ungrouped.route(Self.deepSeekTokens)), [[0, 0, 0.9], [0, 1, 0.8], [1, 2, 0.4], [1, 0, 0.5]])
  }

  @Test func deepSeekV2GreedyGroupsUseTheBestExpert() {
    let x = Matrix<Double>([Self.logits(softmax: [0.4, 0.05, 0.3, 0.25])])
    func route(_ score: GroupLimitedRouter<Double>.GroupScore) -> [[Double]] {
      summary(
        GroupLimitedRouter(
          gate: Self.identityGate(4), k: 2, scoring: .softmax, groupCount: 2, topKGroup: 1, groupScore: score,
          normalizeTopK: false
        ).route(x))
    }
    // Best expert per group: .4 vs .3 → group 0. Sum of the top two: .45 vs .55 → group 1.
    expectClose(route(.best), [[0, 0, 0.4], [0, 1, 0.05]])
    expectClose(route(.sumOfTopTwo), [[0, 2, 0.3], [0, 3, 0.25]])
  }

  @Test func sinkhornBalancesInTrainingOnly() {
    // Every token prefers expert 0; the strongest preferences should keep it.
    let x = Matrix<Double>([[2, 0], [1.5, 0], [1, 0], [0.5, 0]])
    let router = SinkhornRouter(gate: Self.identityGate(2), k: 1, iterations: 50)
    #expect(router.route(x).tokensPerExpert == [4, 0])
    var context = RoutingContext(isTraining: true)
    let balanced = router.route(x, k: 1, context: &context)
    #expect(balanced.tokensPerExpert == [2, 2])
    #expect(balanced.assignments.map(\.expert) == [0, 0, 1, 1])
    #expect(balanced.assignments.allSatisfy { $0.weight == 1 })  // k = 1, renormalised
  }

  @Test func hashRoutingIsAFixedMapOfIDs() {
    let router = HashRouter<Double>(expertCount: 8, vocabularySize: 100, k: 2, seed: 5)
    var context = RoutingContext(tokenIDs: [7, 42, 7])
    let d = router.route(Matrix(rows: 3, columns: 3), k: 2, context: &context)
    let e = router.table[7]
    #expect(d.assignments(ofToken: 0).map(\.expert) == [e, (e + 1) % 8])
    #expect(d.assignments(ofToken: 2).map(\.expert) == [e, (e + 1) % 8])
    #expect(d.assignments.allSatisfy { $0.weight == 0.5 })
    #expect(HashRouter<Double>(expertCount: 8, vocabularySize: 100, seed: 5).table == router.table)
  }

  @Test func hashRoutingWithoutIDsTraps() async {
    await #expect(processExitsWith: .failure) {
      _ = HashRouter<Double>(expertCount: 4, vocabularySize: 10, seed: 1).route(Matrix(rows: 2, columns: 2))
    }
  }

  @Test func syntheticZipfRouter() {
    let router = SyntheticRouter<Double>(expertCount: 3, k: 2, distribution: .zipf(exponent: 1))
    #expect(zip(router.distribution, [6.0 / 11, 3.0 / 11, 2.0 / 11]).allSatisfy { abs($0 - $1) < 1e-15 })
    var context = RoutingContext(seed: 3)
    let d = router.route(Matrix(rows: 20_000, columns: 1), k: 2, context: &context)
    for t in [0, 1, 19_999] {
      let a = d.assignments(ofToken: t)
      #expect(Set(a.map(\.expert)).count == 2)
      #expect(abs(a.map(\.weight).reduce(0, +) - 1) < 1e-12)
    }
    let firstChoices = d.assignments.filter { $0.choice == 0 }.map(\.expert)
    let share = Double(firstChoices.count { $0 == 0 }) / Double(firstChoices.count)
    #expect(abs(share - 6.0 / 11) < 0.015)
    let uniform = SyntheticRouter<Double>(expertCount: 4, k: 4)
    #expect(uniform.route(Matrix(rows: 1, columns: 1)).assignments.allSatisfy { $0.weight == 0.25 })
  }

  @Test func nonFiniteLogitsAreNotRoutedToExpertZero() {
    let x = Matrix<Double>([[0.1, 0.2, 0.3, 0.4], [.nan, 0, 0, 0], [0, .infinity, 0, 0]])
    for router in [
      TopKSoftmaxRouter(gate: Self.identityGate(4), k: 2) as any Router<Double>,
      ExpertChoiceRouter(gate: Self.identityGate(4), capacityFactor: 4),
      GroupLimitedRouter(gate: Self.identityGate(4), k: 2, groupCount: 2, topKGroup: 1),
    ] {
      let d = router.route(x)
      #expect(d.nonFiniteTokens == [1, 2], "\(type(of: router))")
      #expect(d.assignments.allSatisfy { $0.token == 0 }, "\(type(of: router))")
    }
  }

  @Test func kOutsideTheExpertsTraps() async {
    await #expect(processExitsWith: .failure) {
      _ = TopKSoftmaxRouter(gate: Linear<Double>(weight: Matrix.identity(4)), k: 5)
    }
  }
}
