import Foundation
import Testing

/// `ep-bench` under `mpirun` on this machine: the expert-parallel layer's training step
/// equals the single-process step on 1, 2 and 4 ranks, and faults end the run with an error.
@Suite struct EPBenchTests {
  @Test(arguments: [1, 2, 4]) func trainingStepEqualsOneProcess(ranks: Int) throws {
    let result = try ExampleRunner.runUnderMPI(ranks: ranks, "ep-bench", ["--check"])
    #expect(result.status == 0, "\(result.output)\(result.errors)")
    #expect(result.output.contains("all checks passed on \(ranks) ranks"))
    #expect(!result.output.contains("FAIL"))
    let passed = result.output.split(separator: "\n").filter { $0.hasPrefix("ok ") }
    #expect(passed.count == 9, "\(result.output)")
    #expect(
      result.output.contains("capacity 1.0: ") && !result.output.contains("capacity 1.0: 0 assignments"))
  }

  @Test func mismatchedConfigurationsAreAnErrorOnEveryRank() throws {
    let result = try ExampleRunner.runUnderMPI(
      ranks: 2, "ep-bench", ["--check", "--fault", "mismatch"], limit: 120)
    #expect(result.status != 0 && !result.crashed)
    for rank in 0..<2 {
      #expect(
        result.errors.contains("rank \(rank): error: the configuration of rank(s) 1 differs from rank 0's"))
    }
  }

  @Test func aRankThatExitsEndsTheOthers() throws {
    let start = Date()
    let result = try ExampleRunner.runUnderMPI(
      ranks: 3, "ep-bench", ["--check", "--fault", "exit", "--timeout", "20"], limit: 120)
    #expect(result.status != 0)
    #expect(Date().timeIntervalSince(start) < 100)
    #expect(!result.errors.contains("Fatal error"))
  }

  @Test func aStalledRankMakesTheOthersTimeOut() throws {
    let result = try ExampleRunner.runUnderMPI(
      ranks: 3, "ep-bench", ["--check", "--fault", "stall", "--timeout", "2"], limit: 120)
    #expect(result.status != 0)
    #expect(result.errors.contains("did not complete within 2.0 s"))
    #expect(!result.errors.contains("Fatal error"))
  }

  @Test func quickBenchmarkVerifiesThenTimes() throws {
    let result = try ExampleRunner.runUnderMPI(
      ranks: 2, "ep-bench", ["--quick", "--repetitions", "1", "--chunks", "1,2"])
    #expect(result.status == 0, "\(result.errors)")
    for text in [
      "verified: outputs differ by", "split ÷ single", "2 overlapped chunks", "by 2·T·k·d·4·(1 − 1/P)",
      "α–β fit",
    ] {
      #expect(result.output.contains(text), "missing \(text)")
    }
  }

  @Test func badOptionsAreRefusedBeforeMPIStarts() throws {
    for (arguments, name) in [
      (["--chunks", "0"], "--chunks"), (["--config", "C9"], "--config"),
      (["--link-gbps", "0"], "--link-gbps"),
    ] {
      let result = try ExampleRunner.run("ep-bench", arguments)
      #expect(result.refused(naming: name), "\(arguments): \(result.errors)")
    }
  }

  /// Token counts the ranks do not divide evenly (3 over 2) run; fewer tokens than ranks
  /// (2 over 3) are refused naming --tokens on every rank, never an MPI truncation.
  @Test func unevenAndTooFewTokens() throws {
    let uneven = try ExampleRunner.runUnderMPI(
      ranks: 2, "ep-bench", ["--quick", "--repetitions", "1", "--tokens", "3"])
    #expect(uneven.status == 0, "\(uneven.errors)")
    #expect(uneven.output.contains("verified: outputs differ by"))
    let few = try ExampleRunner.runUnderMPI(ranks: 3, "ep-bench", ["--quick", "--tokens", "2"])
    #expect(few.status != 0 && few.errors.contains("--tokens 2"), "\(few.errors)")
    #expect(!few.errors.contains("MPI_ERR"), "\(few.errors)")
  }
}
