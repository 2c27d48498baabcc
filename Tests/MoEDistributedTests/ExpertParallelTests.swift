import Foundation
import Testing
import _TestSupport

/// The expert-parallel layer under `mpirun` on this machine (`moe-distributed-checks`, built
/// beside this bundle): the collectives give hand-computed results, a training step over 1, 2
/// and 4 ranks equals the single-process step for five router and capacity configurations,
/// and faults — ranks started differently, a rank that exits, a rank that stalls — end the
/// run with an error instead of a hang.
@Suite struct ExpertParallelTests {
  @Test(arguments: [1, 2, 4]) func trainingStepEqualsOneProcess(ranks: Int) throws {
    let result = try ProductRunner.runUnderMPI(ranks: ranks, "moe-distributed-checks", [])
    #expect(result.status == 0, "\(result.output)\(result.errors)")
    #expect(result.output.contains("all checks passed on \(ranks) ranks"))
    #expect(!result.output.contains("FAIL"))
    let passed = result.output.split(separator: "\n").filter { $0.hasPrefix("ok ") }
    #expect(passed.count == 9, "\(result.output)")
    #expect(
      result.output.contains("capacity 1.0: ") && !result.output.contains("capacity 1.0: 0 assignments"))
  }

  @Test func mismatchedConfigurationsAreAnErrorOnEveryRank() throws {
    let result = try ProductRunner.runUnderMPI(
      ranks: 2, "moe-distributed-checks", ["--fault", "mismatch"], limit: 120)
    #expect(result.status != 0 && !result.crashed)
    for rank in 0..<2 {
      #expect(
        result.errors.contains("rank \(rank): error: the configuration of rank(s) 1 differs from rank 0's"))
    }
  }

  @Test func aRankThatExitsEndsTheOthers() throws {
    let start = Date()
    let result = try ProductRunner.runUnderMPI(
      ranks: 3, "moe-distributed-checks", ["--fault", "exit", "--timeout", "20"], limit: 120)
    #expect(result.status != 0)
    #expect(Date().timeIntervalSince(start) < 100)
    #expect(!result.errors.contains("Fatal error"))
  }

  @Test func aStalledRankMakesTheOthersTimeOut() throws {
    let result = try ProductRunner.runUnderMPI(
      ranks: 3, "moe-distributed-checks", ["--fault", "stall", "--timeout", "2"], limit: 120)
    #expect(result.status != 0)
    #expect(result.errors.contains("did not complete within 2.0 s"))
    #expect(!result.errors.contains("Fatal error"))
  }
}
