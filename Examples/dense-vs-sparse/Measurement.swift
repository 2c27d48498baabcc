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

  /// Builds `scenario`'s networks one at a time (so that only one set of weights is
  /// resident), times each at every batch size and thread count, and returns one
  /// measurement per batch size and thread count.
  static func run(_ scenario: Scenario, threads: [Int], repetitions: Int, seed: UInt64) -> [Measurement] {
    PeakMemory.reset()
    let previousThreads = BLAS.threadCount
    defer { BLAS.threadCount = previousThreads }
    var generator = Xoshiro256StarStar(seed: seed)
    let d = scenario.dimensions
    let inputs = scenario.tokenCounts.map { Matrix<Float>.normal(rows: $0, columns: d, using: &generator) }
    let cases = scenario.tokenCounts.indices.flatMap { i in threads.map { (i, $0) } }
    func timeAll(_ body: (Matrix<Float>) -> Void) -> [Double] {
      cases.map { i, count in
        BLAS.threadCount = count
        return Stopwatch.median(repetitions: repetitions) { body(inputs[i]) }
      }
    }

    let peaks = threads.map { count in BLAS.withThreadCount(count) { sgemmGFLOPs() } }
    var moe: [Double] = []
    var distinct: [Int] = []
    var working: [Int] = []
    var backward: [Double?] = []
    var bandwidth: [Double?] = []
    do {
      var layer = MoELayer<Float>(
        dimensions: d, hiddenDimensions: scenario.hidden,
        router: TopKSoftmaxRouter(
          dimensions: d, expertCount: scenario.experts, k: scenario.topK, using: &generator),
        sharedHiddenDimensions: scenario.sharedHidden, using: &generator)
      for (i, count) in cases {
        BLAS.threadCount = count
        var context = RoutingContext()
        var workspace = MoEWorkspace<Float>()
        let seconds = Stopwatch.median(repetitions: repetitions) {
          _ = layer.forward(inputs[i], context: &context, workspace: &workspace)
        }
        let stats = layer.forward(inputs[i], context: &context, workspace: &workspace).stats
        moe.append(seconds)
        distinct.append(stats.tokensPerExpert.count { $0 > 0 })
        working.append(workspace.byteCount)
        bandwidth.append(scenario.isDecode ? sgemvGBPerSecond(layer.experts[0].up.weight.value) : nil)
        if scenario.measuresBackward {
          let dy = Matrix<Float>.normal(rows: inputs[i].rows, columns: d, using: &generator)
          let (_, cache) = layer.forwardForTraining(inputs[i], context: &context)
          backward.append(
            Stopwatch.median(repetitions: repetitions) {
              layer.zeroGradients()
              _ = layer.backward(dy, cache: cache)
            })
        } else {
          backward.append(nil)
        }
      }
    }
    let equalActive = {
      let network = FeedForward<Float>(
        dimensions: d, hiddenDimensions: scenario.equalActiveHidden, using: &generator)
      return timeAll { _ = network($0) }
    }()
    let equalTotal = {
      let network = FeedForward<Float>(
        dimensions: d, hiddenDimensions: scenario.equalTotalHidden, using: &generator)
      return timeAll { _ = network($0) }
    }()
    let peakResident = PeakMemory.bytes
    return cases.indices.map { c in
      let (i, count) = cases[c]
      return Measurement(
        scenario: scenario, tokens: scenario.tokenCounts[i], threads: count, moe: moe[c],
        denseEqualActive: equalActive[c], denseEqualTotal: equalTotal[c], distinctExperts: distinct[c],
        sgemmPeak: peaks[threads.firstIndex(of: count)!], sgemvBandwidth: bandwidth[c],
        workingMemory: working[c], backward: backward[c], peakResident: peakResident)
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

  /// `sgemv` GB/s reading `weight` (median of 5): the decode ceiling.
  static func sgemvGBPerSecond(_ weight: Matrix<Float>) -> Double {
    let x = Matrix<Float>(rows: weight.columns, columns: 1, repeating: 0.5)
    var y = Matrix<Float>(rows: weight.rows, columns: 1)
    let seconds = Stopwatch.median(repetitions: 5) { gemv(weight, x, into: &y) }
    return Double(weight.count * 4) / seconds / 1e9
  }
}
