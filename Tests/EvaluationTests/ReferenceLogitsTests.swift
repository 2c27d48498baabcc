import Evaluation
import Foundation
import Linalg
import Testing

/// Saved references: their divergence equals the live one when they keep every token and
/// never exceeds it when they keep fewer; the file round-trips and refuses every truncation
/// and corrupted field by name. Routing shift and expert-load divergence against hand sums.
@Suite struct ReferenceLogitsTests {
  static func logits(_ rows: Int, _ vocabulary: Int, seed: UInt64, scale: Float = 3) -> Matrix<Float> {
    var g = Xoshiro256StarStar(seed: seed)
    var m = Matrix<Float>.normal(rows: rows, columns: vocabulary, using: &g)
    m.scale(by: scale)
    return m
  }

  static func reference(top: Int, seed: UInt64 = 1) -> ReferenceLogits {
    let (reference, vocabulary) = (logits(12, 40, seed: seed), 40)
    var saved = ReferenceLogits(
      tokens: (0..<13).map { ($0 * 7) % vocabulary }, vocabulary: vocabulary, top: top, context: 13,
      stride: 13,
      routingLayers: 2)
    for t in 1...12 { saved.add(logits: reference[row: t - 1], target: t, experts: [[t % 4, 5], [1]]) }
    return saved
  }

  @Test func aFullReferenceGivesTheLiveDivergenceAndATopOneNeverMore() {
    let (reference, model) = (Self.logits(12, 40, seed: 1), Self.logits(12, 40, seed: 2))
    var live = Divergence()
    for t in 0..<12 { live.add(reference: reference[row: t], model: model[row: t]) }
    for top in [40, 8, 1] {
      let saved = Self.reference(top: top)
      var fromFile = Divergence()
      for (t, position) in saved.positions.enumerated() {
        fromFile.add(reference: position, model: model[row: t])
      }
      for (a, b) in zip(fromFile.values, live.values) {
        if top == 40 { #expect(abs(a - b) <= 1e-6 * (1 + b)) } else { #expect(a <= b + 1e-9) }
      }
      #expect(fromFile.topOneAgreements == live.topOneAgreements)
    }
  }

  @Test func targetProbabilitiesAndTheRestSumToOne() {
    let saved = Self.reference(top: 5)
    let reference = Self.logits(12, 40, seed: 1)
    for (t, position) in saved.positions.enumerated() {
      let total =
        position.logProbabilities.reduce(0.0) { $0 + exp(Double($1)) }
        + exp(Double(position.restLogProbability))
      #expect(abs(total - 1) < 1e-5)
      var p = Perplexity()
      p.add(logits: reference[row: t], target: saved.tokens[t + 1])
      #expect(abs(-p.negativeLogLikelihood - Double(position.targetLogProbability)) < 1e-5)
      #expect(position.logProbabilities == position.logProbabilities.sorted(by: >))
    }
  }

  @Test func theFileRoundTripsAndEveryTruncationIsRefused() throws {
    let saved = Self.reference(top: 6)
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-ref-\(UInt64.random(in: 0..<1 << 40)).mkrl"
    ).path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try saved.write(to: path)
    #expect(try ReferenceLogits(contentsOfFile: path) == saved)
    let bytes = saved.data
    for length in stride(from: 0, to: bytes.count, by: 7) {
      #expect(throws: ReferenceLogitsError.self) {
        try ReferenceLogits(data: bytes.prefix(length), path: "cut")
      }
    }
    #expect(throws: ReferenceLogitsError.self) { try ReferenceLogits(data: bytes + [0], path: "longer") }
    #expect(throws: ReferenceLogitsError.self) { try ReferenceLogits(contentsOfFile: "/nonexistent.mkrl") }
  }

  /// Each header field and a position's fields, set out of range, are refused naming them.
  @Test(arguments: [
    (4, UInt32(2), "version"), (8, UInt32(1), "vocabulary"), (12, UInt32(41), "top"),
    (16, UInt32(1), "context"),
    (20, UInt32(14), "stride"), (28, UInt32(13), "position count"), (36, UInt32(40), "token"),
    (36 + 13 * 4, UInt32(0), "target"),
    (36 + 13 * 4 + 4, Float.nan.bitPattern, "target log-probability"),
    (36 + 13 * 4 + 8, Float(0.5).bitPattern, "rest log-probability"),
    (36 + 13 * 4 + 12, UInt32(40), "token id"),
  ])
  func corruptedFieldsAreRefusedByName(offset: Int, value: UInt32, named: String) {
    var bytes = [UInt8](Self.reference(top: 6).data)
    withUnsafeBytes(of: value.littleEndian) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
    #expect {
      try ReferenceLogits(data: Data(bytes), path: "bad")
    } throws: { error in
      "\(error)".contains(named) && "\(error)".contains("bad")
    }
  }

  @Test func routingShiftCountsTheReferenceChoicesTheModelChanged() {
    var shift = RoutingShift()
    shift.add(layer: 0, reference: [1, 2], model: [1, 2])
    shift.add(layer: 0, reference: [1, 2], model: [2, 3])
    shift.add(layer: 1, reference: [0, 4], model: [5, 6])
    #expect(shift.changedShare == [0.25, 1])
    #expect(shift.meanChangedShare == 0.625)
  }

  @Test func expertLoadDivergenceIsJensenShannonInBits() {
    var (a, b) = (ExpertLoad(), ExpertLoad())
    a.add([[[0], [0], [1], [1]]], rows: 0..<4, experts: 3)  // ½, ½, 0
    b.add([[[1], [2], [2], [2]]], rows: 0..<4, experts: 3)  // 0, ¼, ¾
    let (p, q) = ([0.5, 0.5, 0], [0, 0.25, 0.75])
    let m = zip(p, q).map { ($0 + $1) / 2 }
    func kl(_ x: [Double]) -> Double {
      zip(x, m).reduce(0) { $0 + ($1.0 > 0 ? $1.0 * log2($1.0 / $1.1) : 0) }
    }
    let divergence = ExpertLoad.divergence(a, b)
    #expect(divergence.count == 1 && abs(divergence[0] - (kl(p) + kl(q)) / 2) < 1e-12)
    #expect(ExpertLoad.divergence(a, a) == [0])
    var disjoint = ExpertLoad()
    disjoint.add([[[2], [2]]], rows: 0..<2, experts: 3)
    #expect(abs(ExpertLoad.divergence(a, disjoint)[0] - 1) < 1e-12)
  }
}
