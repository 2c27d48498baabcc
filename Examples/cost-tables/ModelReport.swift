import CostModel
import Report

/// Every figure `CostModel` gives for one model, as a two-column table or one JSON object.
struct ModelReport {
  var architecture: Architecture
  var settings: Settings

  /// What a figure measures, for printing it to people (JSON and CSV keep the raw number).
  enum Unit {
    case count, average, parameters, flops, bytes, milliseconds, tokensPerSecond
  }

  /// A figure: text, or a number and its unit.
  enum Value {
    case text(String)
    case number(Double, Unit)

    /// The exact value, for machines: whole numbers without a fraction.
    var raw: String {
      switch self {
      case .text(let text): text
      case .number(let x, _): x.rounded() == x && abs(x) < 1e18 ? "\(Int(x))" : "\(x)"
      }
    }

    /// The value for people: parameters and FLOPs in B/GFLOP, bytes in decimal units (as
    /// every MoEKit program prints them), times and rates with a few decimals.
    var human: String {
      switch self {
      case .text(let text): return text
      case .number(let x, let unit):
        switch unit {
        case .count: return raw
        case .average: return Format.fixed(x, 2)
        case .parameters where x == 0: return "0"
        case .parameters: return x >= 1e9 ? Format.fixed(x / 1e9, 2) + " B" : Format.fixed(x / 1e6, 2) + " M"
        case .flops: return Format.fixed(x / 1e9, 2) + " GFLOP"
        case .bytes: return Format.bytes(x)
        case .milliseconds: return Format.fixed(x, 2) + " ms"
        case .tokensPerSecond: return Format.fixed(x, 1) + " tokens/s"
        }
      }
    }
  }

  /// `(key, value)` in output order.
  var fields: [(String, Value)] {
    let a = architecture
    let s = settings
    let projection = DecodeProjection(
      a, on: s.hardware, batch: s.batch, context: s.context, dataType: s.dataType)
    let flops = a.forwardFLOPsPerToken(context: s.context)
    func n(_ x: some BinaryInteger, _ unit: Unit) -> Value { .number(Double(x), unit) }
    var fields: [(String, Value)] = [
      ("name", .text(a.name)),
      ("layers", n(a.layers, .count)),
      ("moe_layers", n(a.moeLayers, .count)),
      ("total_parameters", n(a.totalParameters, .parameters)),
      ("active_parameters", n(a.activeParameters, .parameters)),
      ("active_parameters_excluding_embeddings", n(a.activeParametersExcludingEmbeddings, .parameters)),
      ("total_parameters_excluding_embeddings", n(a.totalParametersExcludingEmbeddings, .parameters)),
      ("embedding_parameters", n(a.embeddingParameters, .parameters)),
      ("output_head_parameters", n(a.outputHeadParameters, .parameters)),
      ("multi_token_prediction_parameters", n(a.multiTokenPredictionParameters, .parameters)),
      ("vision_tower_parameters", n(a.visionTowerParameters, .parameters)),
      ("context", n(s.context, .count)),
      ("batch", n(s.batch, .count)),
      ("dtype", .text(s.dataType.rawValue)),
      ("forward_flops_per_token", .number(Double(flops), .flops)),
      ("training_flops_per_token", .number(Double(a.trainingFLOPs(tokens: 1, context: s.context)), .flops)),
      ("weight_bytes", .number(Double(a.weightBytes(s.dataType)), .bytes)),
      ("kv_cache_bytes_per_token", .number(Double(a.kvCacheBytesPerToken(s.dataType)), .bytes)),
      (
        "cache_bytes_at_context",
        .number(Double(a.cacheBytes(context: s.context, dataType: s.dataType)), .bytes)
      ),
      (
        "inference_memory_bytes",
        .number(
          Double(a.inferenceMemoryBytes(batch: s.batch, context: s.context, dataType: s.dataType)), .bytes)
      ),
      ("bytes_read_per_decode_step", .number(Double(projection.bytes), .bytes)),
      ("hardware", .text(s.hardware.name)),
      ("decode_latency_ms", .number(1000 * projection.seconds, .milliseconds)),
      ("decode_bound", .text(projection.isMemoryBound ? "memory" : "compute")),
      (
        "prefill_tokens_per_second",
        .number(
          Double(a.prefillTokensPerSecond(on: s.hardware, context: s.context, dataType: s.dataType)),
          .tokensPerSecond)
      ),
    ]
    if let moe = a.moe {
      fields.append(("routed_experts", n(moe.routedExperts, .count)))
      fields.append(("experts_per_token", n(moe.topK, .count)))
      fields.append(
        (
          "expected_distinct_experts_per_layer",
          .number(Double(moe.expectedDistinctExperts(tokens: s.batch)), .average)
        ))
    }
    return fields
  }

  func render(_ format: CostTables.OutputFormat) -> String {
    let fields = fields
    switch format {
    case .json:
      return "{\n"
        + fields.map { key, value in
          let text: String
          if case .text(let string) = value { text = JSON.quoted(string) } else { text = value.raw }
          return "  " + JSON.quoted(key) + ": " + text
        }.joined(separator: ",\n")
        + "\n}"
    case .csv:
      var table = Table(header: ["field", "value"], alignments: [.left, .right])
      for (key, value) in fields { table.append([key, value.raw]) }
      return table.csv
    case .markdown:
      var table = Table(header: ["field", "value"], alignments: [.left, .right])
      for (key, value) in fields { table.append([key, value.human]) }
      return "## \(architecture.name) (\(settings.description))\n\n" + table.markdown
    }
  }
}
