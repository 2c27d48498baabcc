import Linalg
import MoE
import Report

/// What was measured for one configuration, batch size and thread count.
struct Measurement {
  var scenario: Scenario
  var tokens: Int
  var threads: Int
  /// Median seconds of one inference forward pass of the MoE layer.
  var moe: Double
  /// Median seconds of the dense SwiGLU of equal active FLOPs (the prefill ideal).
  var denseEqualActive: Double
  /// Median seconds of the dense SwiGLU of equal total parameters.
  var denseEqualTotal: Double
  /// Experts the batch reached.
  var distinctExperts: Int
  /// `sgemm` 1024³ GFLOP/s with this many threads, measured in the same run.
  var sgemmPeak: Double
  /// `sgemv` GB/s on one expert's `h × d` weight with this many threads (decode only).
  var sgemvBandwidth: Double?
  /// The MoE workspace's bytes after the pass.
  var workingMemory: Int
  /// Median seconds of the training backward pass (when the scenario asks for it).
  var backward: Double?
  /// Peak resident bytes while this configuration was built and measured.
  var peakResident: Int?

  /// Bytes of the layer's input and output activations (`2·T·d` floats).
  var activationBytes: Int { 2 * tokens * scenario.dimensions * 4 }
  /// The time the touched weights need at the measured `sgemv` bandwidth.
  var bandwidthIdeal: Double? {
    sgemvBandwidth.map { Double(scenario.touchedWeightBytes(distinctExperts: distinctExperts)) / ($0 * 1e9) }
  }
  /// MoE time over its ideal: the dense equal-active time (prefill) or the bandwidth
  /// ideal (decode).
  var ratioToIdeal: Double { moe / (scenario.isDecode ? bandwidthIdeal ?? .nan : denseEqualActive) }
  var tokensPerSecond: Double { Double(tokens) / moe }
  var activeGFLOPs: Double { 2 * Double(tokens * scenario.activeMultiplyAddsPerToken) / moe / 1e9 }
  var percentOfPeak: Double { 100 * activeGFLOPs / sgemmPeak }
  /// How much faster the MoE runs than the dense network of equal total size.
  var speedUpOverEqualTotal: Double { denseEqualTotal / moe }
  /// The speed-up as a fraction of what the FLOPs promise.
  var speedUpOverFLOPRatio: Double { speedUpOverEqualTotal / scenario.flopRatio }

  /// The fields of `--format json`, numbers unquoted (`null` when absent).
  var jsonObject: String {
    func number(_ value: Double?, _ digits: Int = 3) -> String {
      guard let value, value.isFinite else { return "null" }
      return Format.fixed(value, digits)
    }
    let fields: [(String, String)] = [
      ("config", JSON.quoted(scenario.name)), ("tokens", "\(tokens)"), ("threads", "\(threads)"),
      ("dimensions", "\(scenario.dimensions)"), ("expert_hidden", "\(scenario.hidden)"),
      ("experts", "\(scenario.experts)"), ("top_k", "\(scenario.topK)"),
      ("shared_hidden", scenario.sharedHidden.map { "\($0)" } ?? "null"),
      ("moe_ms", number(moe * 1e3)), ("dense_equal_active_ms", number(denseEqualActive * 1e3)),
      ("dense_equal_total_ms", number(denseEqualTotal * 1e3)),
      ("bandwidth_ideal_ms", number(bandwidthIdeal.map { $0 * 1e3 })),
      ("ratio_to_ideal", number(ratioToIdeal)), ("tokens_per_s", number(tokensPerSecond, 1)),
      ("active_gflops", number(activeGFLOPs, 1)), ("sgemm_peak_gflops", number(sgemmPeak, 1)),
      ("percent_of_sgemm_peak", number(percentOfPeak, 1)), ("sgemv_gb_per_s", number(sgemvBandwidth, 1)),
      ("distinct_experts", "\(distinctExperts)"),
      ("speed_up_over_equal_total", number(speedUpOverEqualTotal)),
      ("flop_ratio", number(scenario.flopRatio)), ("speed_up_over_flop_ratio", number(speedUpOverFLOPRatio)),
      ("backward_ms", number(backward.map { $0 * 1e3 })),
      ("backward_over_forward", number(backward.map { $0 / moe })),
      ("working_memory_bytes", "\(workingMemory)"), ("activation_bytes", "\(activationBytes)"),
      ("peak_resident_bytes", peakResident.map { "\($0)" } ?? "null"),
    ]
    return "{" + fields.map { JSON.quoted($0.0) + ": " + $0.1 }.joined(separator: ", ") + "}"
  }

  /// Builds `scenario`'s MoE layer and both dense networks, then for every batch size and
  /// thread count times them (and, at decode, `sgemv` on one expert's weight) in
  /// alternating rounds, so that each ratio compares times taken at the same moments.
  /// All three networks are resident at once: about 13 GB for C3.
  static func run(_ scenario: Scenario, threads: [Int], repetitions: Int, seed: UInt64) -> [Measurement] {
    PeakMemory.reset()
    let previousThreads = BLAS.threadCount
    defer { BLAS.threadCount = previousThreads }
    var generator = Xoshiro256StarStar(seed: seed)
    let d = scenario.dimensions
    let inputs = scenario.tokenCounts.map { Matrix<Float>.normal(rows: $0, columns: d, using: &generator) }
    var layer = MoELayer<Float>(
      dimensions: d, hiddenDimensions: scenario.hidden,
      router: TopKSoftmaxRouter(
        dimensions: d, expertCount: scenario.experts, k: scenario.topK, using: &generator),
      sharedHiddenDimensions: scenario.sharedHidden, using: &generator)
    let equalActive = FeedForward<Float>(
      dimensions: d, hiddenDimensions: scenario.equalActiveHidden, using: &generator)
    let equalTotal = FeedForward<Float>(
      dimensions: d, hiddenDimensions: scenario.equalTotalHidden, using: &generator)
    let expertWeight = layer.experts[0].up.weight.value
    let vector = Matrix<Float>(rows: expertWeight.columns, columns: 1, repeating: 0.5)
    var product = Matrix<Float>(rows: expertWeight.rows, columns: 1)

    var measurements: [Measurement] = []
    for (x, count) in inputs.flatMap({ x in threads.map { (x, $0) } }) {
      BLAS.threadCount = count
      let peak = sgemmGFLOPs()
      var context = RoutingContext()
      var workspace = MoEWorkspace<Float>()
      var bodies: [() -> Void] = [
        { _ = layer.forward(x, context: &context, workspace: &workspace) },
        { _ = equalActive(x) },
        { _ = equalTotal(x) },
      ]
      if scenario.isDecode { bodies.append { gemv(expertWeight, vector, into: &product) } }
      let times = Stopwatch.interleavedMedians(repetitions: repetitions, bodies)
      let stats = layer.forward(x, context: &context, workspace: &workspace).stats
      var backward: Double?
      if scenario.measuresBackward {
        let dy = Matrix<Float>.normal(rows: x.rows, columns: d, using: &generator)
        let (_, cache) = layer.forwardForTraining(x, context: &context)
        backward = Stopwatch.median(repetitions: repetitions) {
          layer.zeroGradients()
          _ = layer.backward(dy, cache: cache)
        }
      }
      measurements.append(
        Measurement(
          scenario: scenario, tokens: x.rows, threads: count, moe: times[0], denseEqualActive: times[1],
          denseEqualTotal: times[2], distinctExperts: stats.tokensPerExpert.count { $0 > 0 }, sgemmPeak: peak,
          sgemvBandwidth: scenario.isDecode ? Double(expertWeight.count * 4) / times[3] / 1e9 : nil,
          workingMemory: workspace.byteCount, backward: backward, peakResident: nil))
    }
    let peakResident = PeakMemory.bytes
    return measurements.map {
      var m = $0
      m.peakResident = peakResident
      return m
    }
  }

  /// `sgemm` GFLOP/s on 1024³ with the current thread count (median of 5).
  static func sgemmGFLOPs() -> Double {
    var generator = Xoshiro256StarStar(seed: 99)
    let a = Matrix<Float>.uniform(rows: 1024, columns: 1024, low: -1, high: 1, using: &generator)
    var c = Matrix<Float>(rows: 1024, columns: 1024)
    let seconds = Stopwatch.median(repetitions: 5) { gemm(a, a, into: &c) }
    return 2 * 1024 * 1024 * 1024 / seconds / 1e9
  }
}
