import Foundation
import Linalg
import MoE
import Testing

@Suite struct DiagnosticsTests {
  static func stats(_ loads: [Int], dropped: Int = 0) -> RoutingStats<Double> {
    RoutingStats(
      tokensPerExpert: loads, droppedAssignments: dropped, capacity: nil,
      meanProbability: loads.map { _ in 0 }, tokensWithoutExperts: 0, nonFiniteTokens: [])
  }

  @Test func balancedLoad() {
    let d = RoutingDiagnostics(Self.stats([5, 5, 5, 5]))
    #expect(d.coefficientOfVariation == 0 && d.maxViolation == 0)
    #expect(abs(d.loadEntropy - 1) < 1e-15 && d.deadExperts == 0)
  }

  @Test func skewedLoadByHand() {
    // Loads [6, 2, 0, 0]: mean 2, std √((16 + 0 + 4 + 4)/4) = √6; MaxVio 6/2 − 1 = 2;
    // f = [3/4, 1/4, 0, 0]; entropy −(¾ ln ¾ + ¼ ln ¼)/ln 4; two dead experts;
    // 2 dropped of 10 made.
    let d = RoutingDiagnostics(Self.stats([6, 2, 0, 0], dropped: 2))
    #expect(abs(d.coefficientOfVariation - 6.0.squareRoot() / 2) < 1e-15)
    #expect(d.maxViolation == 2)
    #expect(abs(d.loadEntropy - -(0.75 * log(0.75) + 0.25 * log(0.25)) / log(4)) < 1e-15)
    #expect(d.deadExperts == 2)
    #expect(d.droppedFraction == 0.2)
    let p = Matrix<Double>([[0.5, 0.5, 0, 0]])
    #expect(
      abs(RoutingDiagnostics(Self.stats([1, 1, 0, 0]), probabilities: p).meanTokenEntropy! - log(2)) < 1e-15)
  }

  @Test func collapseDetectorNeedsPatience() {
    var detector = CollapseDetector(shareThreshold: 0.75, patience: 3)
    #expect(CollapseDetector.topTwoShare([40, 40, 10, 10]) == 0.8)
    let early = [[40, 40, 10, 10], [40, 40, 10, 10], [30, 30, 20, 20]].map { detector.observe(loads: $0) }
    #expect(early == [false, false, false])  // the third step breaks the streak
    for _ in 0..<2 { detector.observe(loads: [50, 40, 5, 5]) }
    #expect(!detector.hasFired)
    let fired = detector.observe(loads: [50, 40, 5, 5])
    #expect(fired)
    #expect(detector.firedAt == 5)
  }
}
