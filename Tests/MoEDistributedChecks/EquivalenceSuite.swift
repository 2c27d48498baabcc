import Foundation
import Linalg
import MoE
import MoEDistributed
import Report

/// MoEDistributed's checks: the collectives against hand-computed results, then every
/// `EquivalenceCase`'s training step against the single-process step. Rank 0 prints one
/// line per check; any failure makes every rank exit with status 1.
struct EquivalenceSuite {
  var world: Communicator
  var fault: String?

  /// The relative difference a case may show (Float sums in a different order).
  static let tolerance = 1e-5

  func run() throws {
    var failures = 0
    func report(_ name: String, _ passed: Bool, _ detail: String) {
      if !passed { failures += 1 }
      if world.rank == 0 { print("\(passed ? "ok  " : "FAIL") \(name): \(detail)") }
    }
    let p = world.size
    let r = world.rank
    if world.rank == 0 { print("moe-distributed-checks on \(p) ranks") }

    let sum = try world.allReduce([Double(r + 1), 1])
    report("all-reduce", sum == [Double(p * (p + 1) / 2), Double(p)], "\(sum)")
    let gathered = try world.allGather((0...r).map { $0 * 10 + r })
    let expected = (0..<p).map { q in (0...q).map { $0 * 10 + q } }
    report("all-gather (uneven counts)", gathered == expected, "\(gathered.map(\.count)) elements per rank")
    // Rank r sends (r + q + 1) values r·100 + q to rank q.
    let sendCounts = (0..<p).map { r + $0 + 1 }
    let values = (0..<p).flatMap { q in repeatElement(Float(r * 100 + q), count: r + q + 1) }
    let receiveCounts = try world.allToAll(sendCounts)
    let received = try world.allToAllV(values, sendCounts: sendCounts, receiveCounts: receiveCounts)
    let wanted = (0..<p).flatMap { q in repeatElement(Float(q * 100 + r), count: q + r + 1) }
    report(
      "all-to-all-v", try world.allReduce([received == wanted ? 0 : 1])[0] == 0,
      "counts \(receiveCounts) on rank \(r)")
    let pending = try world.startAllToAllV(values, sendCounts: sendCounts, receiveCounts: receiveCounts)
    try world.barrier()
    report(
      "non-blocking all-to-all-v", try world.allReduce([try pending.wait() == wanted ? 0 : 1])[0] == 0,
      "waited after a barrier")

    for (i, testCase) in EquivalenceCase.all.enumerated() {
      var seed: UInt64 = 5
      if fault == "mismatch" && r == 1 { seed = 6 }
      if fault == "exit" && r == 1 && i == 0 {
        FileHandle.standardError.write(
          Data("moe-distributed-checks: rank 1 exits on purpose (--fault exit)\n".utf8))
        exit(4)
      }
      if fault == "stall" && r == 1 && i == 0 {
        FileHandle.standardError.write(
          Data("moe-distributed-checks: rank 1 stops taking part (--fault stall)\n".utf8))
        Thread.sleep(forTimeInterval: 3 * Double(world.timeout.components.seconds))
      }
      let (difference, worst, dropped) = try testCase.run(on: world, seed: seed)
      // A capacity case that drops nothing would not test the ranks' shared admission.
      let dropsAsMeant = (testCase.capacityFactor == nil) == (dropped == 0)
      report(
        testCase.name, difference <= Self.tolerance && dropsAsMeant,
        "\(dropped) assignments dropped; largest relative difference \(String(format: "%.2e", difference)) over outputs, ∂x, gradients and parameters after an Adam step (in \(worst))"
      )
    }
    if failures > 0 {
      if world.rank == 0 { print("\(failures) check(s) failed") }
      try Communicator.finalize()
      exit(1)
    }
    if world.rank == 0 { print("all checks passed on \(p) ranks") }
  }
}
