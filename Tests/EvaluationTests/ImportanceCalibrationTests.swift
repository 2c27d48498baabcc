import Evaluation
import Foundation
import Linalg
import MoE
import Testing

/// Calibration statistics against sums over the routed rows written out in `Double`, the
/// unrouted sample against each expert's activations computed in `Double` from its weights,
/// and the importance formula for routed, rarely routed and never routed experts.
@Suite struct ImportanceCalibrationTests {
  /// 8 experts, top-1, 6 tokens: at least two experts are routed nothing.
  static func layer(seed: UInt64) -> (MoELayer<Float>, Matrix<Float>, [ObjectIdentifier: String]) {
    var g = Xoshiro256StarStar(seed: seed)
    var layer = MoELayer<Float>(
      dimensions: 32, hiddenDimensions: 16,
      router: TopKSoftmaxRouter(dimensions: 32, expertCount: 8, k: 1, using: &g), using: &g)
    layer.experts = layer.experts.map { $0.converted(to: .bf16) }
    var names: [ObjectIdentifier: String] = [:]
    for (e, expert) in layer.experts.enumerated() {
      names[expert.gate!.compactWeight!.storageIdentifier] = "layers.0.experts.\(e).gate"
      names[expert.up.compactWeight!.storageIdentifier] = "layers.0.experts.\(e).up"
      names[expert.down.compactWeight!.storageIdentifier] = "layers.0.experts.\(e).down"
    }
    return (layer, Matrix<Float>.normal(rows: 6, columns: 32, using: &g), names)
  }

  static func squares(_ rows: [[Double]]) -> [Double] {
    rows.reduce(into: [Double](repeating: 0, count: rows.first?.count ?? 0)) { sums, row in
      for j in row.indices { sums[j] += row[j] * row[j] }
    }
  }

  /// The expert's activations `silu(x·W_gᵀ) ⊙ (x·W_uᵀ)` in `Double`.
  static func hidden(_ expert: FeedForward<Float>, _ x: [Double]) -> [Double] {
    let (g, u) = (expert.gate!.compactWeight!.dequantized(), expert.up.compactWeight!.dequantized())
    return (0..<g.rows).map { i in
      let a = (0..<g.columns).reduce(0.0) { $0 + Double(g[i, $1]) * x[$1] }
      let b = (0..<u.columns).reduce(0.0) { $0 + Double(u[i, $1]) * x[$1] }
      return a / (1 + exp(-a)) * b
    }
  }

  /// One forward pass of `layer` over `x` observed by `calibration`: the routing it took.
  static func observedPass(_ layer: MoELayer<Float>, _ x: Matrix<Float>, _ calibration: ImportanceCalibration)
    -> RoutingDecision<Float>
  {
    var context = RoutingContext()
    var workspace = MoEWorkspace<Float>()
    return calibration.observing { layer.forward(x, context: &context, workspace: &workspace) }.decision
  }

  @Test func expertsMeetOnlyTheirRoutedTokensAndAreSampledOnAll() throws {
    let (layer, x, names) = Self.layer(seed: 7)
    let calibration = ImportanceCalibration(names: names, priorTokens: 4)
    let decision = Self.observedPass(layer, x, calibration)
    let rows = (0..<x.rows).map { t in (0..<x.columns).map { Double(x[t, $0]) } }
    let statistics = calibration.statistics
    let importance = calibration.importance
    var unrouted = 0
    for (e, expert) in layer.experts.enumerated() {
      let routed = decision.assignments.filter { $0.expert == e }.map(\.token)
      let gate = try #require(statistics["layers.0.experts.\(e).gate"])
      let down = try #require(statistics["layers.0.experts.\(e).down"])
      #expect(gate.tokens == routed.count && down.tokens == routed.count && gate.isExpert)
      #expect(gate.sampledTokens == 6 && down.sampledTokens == 6)
      let zeros = [Double](repeating: 0, count: 32)
      let expectedInput = routed.isEmpty ? zeros : Self.squares(routed.map { rows[$0] })
      let expectedHidden = routed.isEmpty ? zeros : Self.squares(routed.map { Self.hidden(expert, rows[$0]) })
      let sampledInput = Self.squares(rows)
      let sampledHidden = Self.squares(rows.map { Self.hidden(expert, $0) })
      for j in 0..<32 {
        #expect(abs(gate.sumOfSquares[j] - expectedInput[j]) <= 1e-5 * (1 + expectedInput[j]))
        #expect(abs(gate.sampledSumOfSquares[j] - sampledInput[j]) <= 1e-5 * (1 + sampledInput[j]))
      }
      for j in 0..<16 {
        let (s, m) = (expectedHidden[j], sampledHidden[j])
        #expect(abs(down.sumOfSquares[j] - s) <= 1e-4 * (1 + s), "expert \(e) column \(j)")
        #expect(abs(down.sampledSumOfSquares[j] - m) <= 1e-4 * (1 + m), "expert \(e) column \(j)")
        // I = (S + k·m/6) / (n + 4)
        let expected = (s + 4 * m / 6) / Double(routed.count + 4)
        let found = Double(try #require(importance["layers.0.experts.\(e).down"])[j])
        #expect(abs(found - expected) <= 1e-4 * (1e-3 + expected), "expert \(e) column \(j)")
      }
      if routed.isEmpty { unrouted += 1 }
    }
    #expect(unrouted >= 2)
    #expect(calibration.tokensPerExpert[0]?.values.reduce(0, +) == 6)
  }

  /// With no prior (llama.cpp's rule) an expert routed nothing has no importance, and a
  /// routed one has the mean square of its own rows.
  @Test func withoutAPriorUnroutedExpertsHaveNoImportance() throws {
    let (layer, x, names) = Self.layer(seed: 7)
    let calibration = ImportanceCalibration(names: names, priorTokens: 0)
    let decision = Self.observedPass(layer, x, calibration)
    let importance = calibration.importance
    for e in 0..<8 {
      let routed = decision.assignments.filter { $0.expert == e }.map(\.token)
      let found = importance["layers.0.experts.\(e).up"]
      guard !routed.isEmpty else {
        #expect(found == nil)
        continue
      }
      let expected = Self.squares(routed.map { t in (0..<32).map { Double(x[t, $0]) } })
      for j in 0..<32 {
        let mean = expected[j] / Double(routed.count)
        #expect(abs(Double(try #require(found)[j]) - mean) <= 1e-5 * (1 + mean))
      }
    }
  }

  /// Nothing is observed outside `observing`, and products the names do not list are ignored.
  @Test func observesOnlyWhileInstalledAndOnlyNamedProducts() {
    let (layer, x, names) = Self.layer(seed: 3)
    let calibration = ImportanceCalibration(names: names.filter { $0.value.hasSuffix(".up") })
    var context = RoutingContext()
    var workspace = MoEWorkspace<Float>()
    _ = layer.forward(x, context: &context, workspace: &workspace)
    #expect(calibration.statistics.isEmpty)
    _ = calibration.observing { layer.forward(x, context: &context, workspace: &workspace) }
    #expect(Set(calibration.statistics.keys) == Set((0..<8).map { "layers.0.experts.\($0).up" }))
  }
}
