import ArgumentParser
import CostModel
import Foundation
import Linalg
import MoE
import MoEDistributed
import Report

/// Expert parallelism under `mpirun -np P`: proves the split layer computes what one
/// process computes, then times it against the single-process layer in the same run.
@main
struct EPBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ep-bench",
    abstract: "An MoE layer's experts split over MPI ranks, checked against and timed beside one process.",
    discussion: """
      Run it under mpirun, for example

        mpirun -np 2 --bind-to none ep-bench --config C1

      (as root add --allow-run-as-root; for more ranks than cores, --oversubscribe). Every
      rank builds the same layer from the same seed and keeps its block of experts. Before
      anything is timed, rank 0 compares the split layer's output with the single-process
      layer's on the concatenated batch and refuses to time when they differ. The table then
      gives forward and training-step times beside the single-process layer's (which runs on
      rank 0 alone with every core), bytes sent per step beside the formula
      2·T·k·d·4·(1 − 1/P), the all-to-all bandwidth, and an α–β projection for the
      Mixtral-8x22B layer over several nodes. (The proof that training steps over P ranks
      equal the single-process step is MoEDistributed's test suite: scripts/test.sh runs it.)
      """)

  @Option(help: "C1 (8 experts, top-2) or C2 (32 experts, top-8, shared expert).")
  var config = "C1"

  @Option(help: "Tokens of the whole batch over all ranks (P...65536; default 2048, 256 with --quick).")
  var tokens: Int?

  @Option(help: "Timed repetitions (1...100); medians are reported.")
  var repetitions = 5

  @Option(help: "Chunk counts for the overlapped forward pass, comma-separated (each 1...16).")
  var chunks = "1,2,4"

  @Option(help: "Link speed between nodes for the projection, Gbit/s (0.1...10000).")
  var linkGbps = 100.0

  @Option(
    name: .customLong("node-gflops"),
    help:
      "Expert compute rate per node for the projection, GFLOP/s (1...10000000; default: this machine's measured rate)."
  )
  var nodeGFLOPS: Double?

  @Option(help: "Seconds a collective may wait for the other ranks before giving up (1...3600).")
  var timeout = 60.0

  @Flag(help: "Width and hidden sizes divided by 4 and 256 tokens (sizes given explicitly are honoured).")
  var quick = false

  @Option(help: "Output format: text (Markdown tables) or json (rank 0 prints one record per row).")
  var format: OutputFormat = .text

  enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

  func validate() throws {
    guard Scenario.named(config) != nil else {
      throw ValidationError("--config must be C1 or C2, not '\(config)'")
    }
    try OptionLimits.check("--repetitions", repetitions, in: 1...100)
    try OptionLimits.check("--link-gbps", linkGbps, in: 0.1...10000)
    try OptionLimits.check("--timeout", timeout, in: 1...3600)
    if let nodeGFLOPS { try OptionLimits.check("--node-gflops", nodeGFLOPS, in: 1...10_000_000) }
    if let tokens { try OptionLimits.check("--tokens", tokens, in: 1...65536) }
    guard let counts = chunkCounts, counts.allSatisfy({ (1...16).contains($0) }) else {
      throw ValidationError("--chunks must be comma-separated counts in 1...16, not '\(chunks)'")
    }
    let scenario = Scenario.named(config)!.scaled(quick: quick)
    let t = Double(tokens ?? (quick ? 256 : 2048))
    let (d, h, e, k) = (
      Double(scenario.dimensions), Double(scenario.hidden), Double(scenario.experts), Double(scenario.topK)
    )
    // Rank 0 holds the whole layer and the single-process reference's activations.
    try OptionLimits.checkMemory(
      4 * (2 * 3 * d * h * e + 2 * t * k * (3 * h + 2 * d) + 6 * t * d),
      for: "--tokens \(Int(t)) with \(config)")
  }

  /// The `--chunks` list, or `nil` when it does not parse.
  var chunkCounts: [Int]? {
    let parts = chunks.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    return parts.isEmpty || parts.contains(nil) ? nil : parts.map { $0! }
  }

  func run() throws {
    let world: Communicator
    do {
      world = try Communicator.world(timeout: .seconds(timeout))
    } catch {
      throw ValidationError("could not start MPI: \(error)")
    }
    do {
      try Benchmark(
        world: world, scenario: Scenario.named(config)!.scaled(quick: quick),
        tokens: tokens ?? (quick ? 256 : 2048), repetitions: repetitions, chunks: chunkCounts!,
        linkBandwidth: linkGbps * 1e9 / 8, format: format, nodeGFLOPS: nodeGFLOPS
      ).run()
      try Communicator.finalize()
    } catch let error as DistributedError {
      FileHandle.standardError.write(Data("ep-bench: rank \(world.rank): error: \(error)\n".utf8))
      if case .mismatchedConfiguration = error {
        // Every rank found it; they can all stop in order.
        try? Communicator.finalize()
        throw ExitCode(2)
      }
      // The others may be waiting for this rank: end them all rather than let them wait.
      world.abort(code: 3)
    }
  }
}
