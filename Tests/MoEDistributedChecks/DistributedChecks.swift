import Foundation
import MoEDistributed

/// MoEDistributed's checks, run by its test suite under `mpirun -np P`: the collectives
/// against hand-computed results, then every `EquivalenceCase`'s training step against the
/// single-process step. Rank 0 prints one line per check.
///
/// Arguments: `--timeout SECONDS` (each collective's wait, default 60) and, to test fault
/// handling, `--fault mismatch` (rank 1 starts with another seed), `--fault exit` (rank 1
/// exits before the first exchange) or `--fault stall` (rank 1 sleeps through three
/// timeouts). Exit status: 0 when every check passes, 1 when one fails, 2 for a configuration
/// that differs between ranks (every rank reports it), 3 when a rank aborts the run, 64 for
/// bad arguments.
@main
enum DistributedChecks {
  static func main() throws {
    var arguments = CommandLine.arguments.dropFirst()
    var (timeout, fault) = (60.0, String?.none)
    while let flag = arguments.popFirst() {
      switch (flag, arguments.popFirst()) {
      case ("--timeout", let value?) where Double(value).map({ $0 >= 1 && $0 <= 3600 }) ?? false:
        timeout = Double(value)!
      case ("--fault", let value?) where ["mismatch", "exit", "stall"].contains(value):
        fault = value
      default:
        FileHandle.standardError.write(
          Data(
            "moe-distributed-checks: takes --timeout 1...3600 and --fault mismatch|exit|stall, not \(flag)\n"
              .utf8))
        exit(64)
      }
    }
    let world = try Communicator.world(timeout: .seconds(timeout))
    do {
      try EquivalenceSuite(world: world, fault: fault).run()
      try Communicator.finalize()
    } catch let error as DistributedError {
      FileHandle.standardError.write(
        Data("moe-distributed-checks: rank \(world.rank): error: \(error)\n".utf8))
      if case .mismatchedConfiguration = error {
        // Every rank found it; they can all stop in order.
        try? Communicator.finalize()
        exit(2)
      }
      // The others may be waiting for this rank: end them all rather than let them wait.
      world.abort(code: 3)
    }
  }
}
