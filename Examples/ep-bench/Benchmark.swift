import ArgumentParser
import CostModel
import Foundation
import Linalg
import MoE
import MoEDistributed
import Report

/// `ep-bench`'s timed run: the split layer is checked against the single-process layer,
/// then both are timed in the same run and the exchanges are put beside the α–β model.
struct Benchmark {
  var world: Communicator
  var scenario: Scenario
  var tokens: Int
  var repetitions: Int
  var chunks: [Int]
  var linkBandwidth: Double
  var format: EPBench.OutputFormat
  /// The compute rate per node for the projection, or `nil` for this machine's measured one.
  var nodeGFLOPS: Double?

  /// The relative difference the verification allows before refusing to time.
  static let tolerance = 1e-4

  func run() throws {
    let p = world.size
    guard tokens >= p else {
      throw ValidationError("--tokens \(tokens) gives some of the \(p) ranks no tokens")
    }
    let cores = BLAS.processorCount
    let threadsPerRank = max(1, cores / p)
    let s = scenario
    var g = Xoshiro256StarStar(seed: 1)
    var layer = MoELayer<Float>(
      dimensions: s.dimensions, hiddenDimensions: s.hidden,
      router: TopKSoftmaxRouter(dimensions: s.dimensions, expertCount: s.experts, k: s.topK, using: &g),
      sharedHiddenDimensions: s.sharedHidden, using: &g)
    let x = Matrix<Float>.normal(rows: tokens, columns: s.dimensions, using: &g)
    let dy = Matrix<Float>.normal(rows: tokens, columns: s.dimensions, using: &g)
    let bounds = (0...p).map { $0 * tokens / p }
    let mine = bounds[world.rank]..<bounds[world.rank + 1]
    let xp = x[rows: mine]
    let dyp = dy[rows: mine]
    var parallel = try ExpertParallelMoELayer(partitioning: layer, communicator: world)
    BLAS.threadCount = threadsPerRank

    // 1. The same computation, or nothing is timed.
    var context = RoutingContext()
    let result = try parallel.forward(xp, context: &context)
    let outputs = try world.allGather(result.output.elements)
    var difference = 0.0
    if world.rank == 0 {
      let expected = BLAS.withThreadCount(cores) { layer(x) }
      let gatheredOutput = Matrix(rows: tokens, columns: s.dimensions, elements: outputs.joined())
      difference = gatheredOutput.largestDifference(relativeTo: expected)
    }
    difference = try world.allReduce([difference], .max)[0]
    guard difference <= Self.tolerance else {
      throw ValidationError(
        "the split layer's output differs from the single-process layer's by \(difference) (relative); not timing it"
      )
    }

    // 2. The single-process layer on rank 0 with every core, the others waiting.
    var single = (forward: 0.0, step: 0.0)
    if world.rank == 0 {
      BLAS.withThreadCount(cores) {
        var workspace = MoEWorkspace<Float>()
        single.forward = Stopwatch.median(repetitions: repetitions) {
          _ = layer.forward(x, context: &context, workspace: &workspace)
        }
        single.step = Stopwatch.median(repetitions: repetitions) {
          let (_, cache) = layer.forwardForTraining(x, context: &context)
          layer.zeroGradients()
          _ = layer.backward(dy, cache: cache)
        }
      }
    }
    let singleTimes = try world.allReduce([single.forward, single.step], .max)

    // 3. The split layer: every rank's time is the slowest rank's.
    var forwardTimes: [(chunks: Int, seconds: Double)] = []
    for count in chunks {
      forwardTimes.append(
        (count, try timed { _ = try parallel.forward(xp, chunks: count, context: &context) }))
    }
    let step = try timed {
      let (_, cache) = try parallel.forwardForTraining(xp, context: &context)
      parallel.zeroGradients()
      _ = try parallel.backward(dyp, cache: cache)
      try parallel.synchronizeGradients()
    }

    // 4. Bytes: rows to experts on other ranks travel there and back.
    let remote = result.decision.assignments.count { parallel.placement.owners[$0.expert] != world.rank }
    let bytesPerForward = try world.allReduce([Double(2 * remote * s.dimensions * 4)])[0] / Double(p)
    let formula = 2 * Double(tokens / p * s.topK * s.dimensions * 4) * (1 - 1 / Double(p))

    // 5. Bare exchanges of the layer's size and of one row per rank, for bandwidth and α–β.
    // Every rank must send what its peers expect: the same count on all of them, from the
    // average share (a rank's own share differs by one token when p does not divide T).
    let rowsPerRank = max(1, tokens / p * s.topK / p)
    let exchange = try exchangeTime(rowsPerPeer: rowsPerRank)
    let tiny = try exchangeTime(rowsPerPeer: 1)
    let check = try exchangeTime(rowsPerPeer: 4 * rowsPerRank)
    let exchangeBytes = Double(rowsPerRank * p * s.dimensions * 4)
    let bandwidth = exchangeBytes * Double(p - 1) / Double(p) / exchange

    guard world.rank == 0 else { return }
    let bound =
      p > 1 && cores == 1
      ? " (one core visible: if mpirun bound each rank to a core, pass --bind-to none so that the single process can use every core)"
      : ""
    let flops = 2.0 * Double(tokens * s.topK) * Double(3 * s.dimensions * s.hidden)
    print(
      "\(s.name): T = \(tokens) over \(p) ranks (\(bounds[1] - bounds[0]) each), d = \(s.dimensions), \(s.experts) experts of \(s.hidden), top-\(s.topK)\(s.sharedHidden.map { ", shared expert \($0)" } ?? ""); \(threadsPerRank) BLAS thread(s) per rank, the single process \(cores)\(bound); verified: outputs differ by \(String(format: "%.1e", difference)) (relative)\n"
    )
    var table = Table(
      header: ["pass", "ms", "single process ms", "split ÷ single"],
      alignments: [.left, .right, .right, .right])
    for (count, seconds) in forwardTimes {
      table.append([
        count == 1 ? "forward" : "forward, \(count) overlapped chunks", Format.fixed(seconds * 1000, 2),
        Format.fixed(singleTimes[0] * 1000, 2), Format.fixed(seconds / singleTimes[0], 2),
      ])
    }
    table.append([
      "training step (forward, backward, gradient all-reduce)", Format.fixed(step * 1000, 2),
      Format.fixed(singleTimes[1] * 1000, 2), Format.fixed(step / singleTimes[1], 2),
    ])
    emit(table)
    print(
      "bytes sent per rank per forward pass: \(Format.fixed(bytesPerForward / 1e6, 3)) MB measured, \(Format.fixed(formula / 1e6, 3)) MB by 2·T·k·d·4·(1 − 1/P); all-to-all-v of the layer's size: \(Format.fixed(exchange * 1e3, 3)) ms, \(Format.fixed(bandwidth / 1e9, 2)) GB/s per rank; one row per rank: \(Format.fixed(tiny * 1e6, 1)) µs"
    )
    print("single-process forward: \(Format.fixed(flops / singleTimes[0] / 1e9, 1)) GFLOP/s")
    if let model = AllToAllCost.fitted(
      ranks: p, small: (Double(p * s.dimensions * 4), tiny), large: (exchangeBytes, exchange),
      linkBandwidth: linkBandwidth)
    {
      let predicted = model.seconds(bytesPerRank: 4 * exchangeBytes, nodes: 1, ranksPerNode: p)
      print(
        "α–β fit on this machine (from the two exchanges above): α = \(Format.fixed(model.latency * 1e6, 2)) µs, β_local = \(Format.fixed(model.localBandwidth / 1e9, 2)) GB/s; it predicts \(Format.fixed(predicted * 1e3, 3)) ms for an exchange 4× the layer's, measured \(Format.fixed(check * 1e3, 3)) ms (\(Format.fixed(check / predicted, 2))×)"
      )
      projection(model: model, gflops: nodeGFLOPS ?? flops / singleTimes[0] / 1e9)
    } else {
      // A busy machine can make the one-row exchange as slow as the layer-sized one.
      print(
        "α–β fit on this machine: not possible in this run — the layer-sized exchange (\(Format.fixed(exchange * 1e3, 3)) ms) was not slower than the one-row exchange (\(Format.fixed(tiny * 1e3, 3)) ms), so the machine was busy; no projection"
      )
    }
  }

  /// The median over the repetitions of the slowest rank's time for `body`, after a barrier.
  func timed(_ body: () throws -> Void) throws -> Double {
    try body()
    var samples: [Double] = []
    for _ in 0..<repetitions {
      try world.barrier()
      let start = ContinuousClock.now
      try body()
      let seconds = Stopwatch.seconds(in: ContinuousClock.now - start)
      samples.append(try world.allReduce([seconds], .max)[0])
    }
    return samples.sorted()[samples.count / 2]
  }

  /// The time of one all-to-all-v of `rowsPerPeer` rows of the layer's width to every rank.
  func exchangeTime(rowsPerPeer: Int) throws -> Double {
    let counts = [Int](repeating: rowsPerPeer, count: world.size)
    let rows = Matrix<Float>(rows: rowsPerPeer * world.size, columns: scenario.dimensions, repeating: 1)
    return try timed { _ = try world.allToAllV(rows: rows, sendRows: counts, receiveRows: counts) }
  }

  /// The Mixtral-8x22B layer (d 6144, 8 experts of 16384, top-2, BF16 activations) over
  /// 2–8 nodes of one rank each, 4096 tokens per node: exchange time by the α–β model with
  /// this machine's fitted α and `--link-gbps`, compute at this machine's measured rate.
  func projection(model: AllToAllCost, gflops: Double) {
    print(
      "\nProjection (α as fitted) for one Mixtral-8x22B MoE layer's forward pass (d 6144, 8 experts of 16384, top-2, BF16 rows, 4096 tokens per node, link \(Format.fixed(model.linkBandwidth * 8 / 1e9, 1)) Gbit/s, experts computed at \(Format.fixed(gflops, 1)) GFLOP/s per node):\n"
    )
    var table = Table(
      header: [
        "nodes", "bytes per node per exchange", "two all-to-alls ms", "experts ms", "communication share",
      ],
      alignments: [.right, .right, .right, .right, .right])
    let (tokens, d, h, k) = (4096, 6144, 16384, 2)
    for nodes in [2, 4, 8] {
      let bytes = AllToAllCost.exchangeBytes(tokensPerRank: tokens, k: k, dimensions: d, bytesPerElement: 2)
      let communication = 2 * model.seconds(bytesPerRank: bytes, nodes: nodes, ranksPerNode: 1)
      let compute = 2.0 * Double(tokens * k) * Double(3 * d * h) / (gflops * 1e9)
      table.append([
        "\(nodes)", "\(Format.fixed(bytes / 1e6, 1)) MB", Format.fixed(communication * 1e3, 1),
        Format.fixed(compute * 1e3, 1),
        "\(Format.fixed(100 * communication / (communication + compute), 1)) %",
      ])
    }
    emit(table)
  }

  func emit(_ table: Table) {
    print(format == .json ? table.jsonRecords() : table.markdown)
  }
}
