import Foundation
import Testing
import _TestSupport

/// `ep-bench` under `mpirun` on this machine: it verifies the split layer before timing it,
/// takes token counts the ranks do not divide, and refuses bad options before MPI starts.
/// (The equality of training steps over ranks is MoEDistributedTests'.)
@Suite struct EPBenchTests {
  @Test func quickBenchmarkVerifiesThenTimes() throws {
    let result = try ProductRunner.runUnderMPI(
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
      let result = try ProductRunner.run("ep-bench", arguments)
      #expect(result.refused(naming: name), "\(arguments): \(result.errors)")
    }
  }

  /// Token counts the ranks do not divide evenly (3 over 2) run; fewer tokens than ranks
  /// (2 over 3) are refused naming --tokens on every rank, never an MPI truncation.
  @Test func unevenAndTooFewTokens() throws {
    let uneven = try ProductRunner.runUnderMPI(
      ranks: 2, "ep-bench", ["--quick", "--repetitions", "1", "--tokens", "3"])
    #expect(uneven.status == 0, "\(uneven.errors)")
    #expect(uneven.output.contains("verified: outputs differ by"))
    let few = try ProductRunner.runUnderMPI(ranks: 3, "ep-bench", ["--quick", "--tokens", "2"])
    #expect(few.status != 0 && few.errors.contains("--tokens 2"), "\(few.errors)")
    #expect(!few.errors.contains("MPI_ERR"), "\(few.errors)")
  }
}
