import CostModel
import Report

/// Every figure `CostModel` gives for one model, as a two-column table or one JSON object.
struct ModelReport {
  var architecture: Architecture
  var settings: Settings

  /// `(key, value, is the value a number)` in output order.
  var fields: [(String, String, Bool)] {
    let a = architecture
    let s = settings
    let projection = DecodeProjection(
      a, on: s.hardware, batch: s.batch, context: s.context, dataType: s.dataType)
    let flops = a.forwardFLOPsPerToken(context: s.context)
    var fields: [(String, String, Bool)] = [
      ("name", a.name, false),
      ("layers", "\(a.layers)", true),
      ("moe_layers", "\(a.moeLayers)", true),
      ("total_parameters", "\(a.totalParameters)", true),
      ("active_parameters", "\(a.activeParameters)", true),
      ("active_parameters_excluding_embeddings", "\(a.activeParametersExcludingEmbeddings)", true),
      ("total_parameters_excluding_embeddings", "\(a.totalParametersExcludingEmbeddings)", true),
      ("embedding_parameters", "\(a.embeddingParameters)", true),
      ("output_head_parameters", "\(a.outputHeadParameters)", true),
      ("multi_token_prediction_parameters", "\(a.multiTokenPredictionParameters)", true),
      ("vision_tower_parameters", "\(a.visionTowerParameters)", true),
      ("context", "\(s.context)", true),
      ("batch", "\(s.batch)", true),
      ("dtype", s.dataType.rawValue, false),
      ("forward_flops_per_token", "\(flops)", true),
      ("training_flops_per_token", "\(a.trainingFLOPs(tokens: 1, context: s.context))", true),
      ("weight_bytes", "\(a.weightBytes(s.dataType))", true),
      ("kv_cache_bytes_per_token", "\(a.kvCacheBytesPerToken(s.dataType))", true),
      ("cache_bytes_at_context", "\(a.cacheBytes(context: s.context, dataType: s.dataType))", true),
      (
        "inference_memory_bytes",
        "\(a.inferenceMemoryBytes(batch: s.batch, context: s.context, dataType: s.dataType))", true
      ),
      ("bytes_read_per_decode_step", "\(projection.bytes)", true),
      ("hardware", s.hardware.name, false),
      ("decode_latency_ms", "\(1000 * projection.seconds)", true),
      ("decode_bound", projection.isMemoryBound ? "memory" : "compute", false),
      (
        "prefill_tokens_per_second",
        "\(a.prefillTokensPerSecond(on: s.hardware, context: s.context, dataType: s.dataType))", true
      ),
    ]
    if let moe = a.moe {
      fields.append(("routed_experts", "\(moe.routedExperts)", true))
      fields.append(("experts_per_token", "\(moe.topK)", true))
      fields.append(
        ("expected_distinct_experts_per_layer", "\(moe.expectedDistinctExperts(tokens: s.batch))", true))
    }
    return fields
  }

  func render(_ format: CostTables.OutputFormat) -> String {
    let fields = fields
    switch format {
    case .json:
      return "{\n"
        + fields.map { "  " + JSON.quoted($0.0) + ": " + ($0.2 ? $0.1 : JSON.quoted($0.1)) }.joined(
          separator: ",\n")
        + "\n}"
    case .csv, .markdown:
      var table = Table(header: ["field", "value"], alignments: [.left, .right])
      for (key, value, _) in fields { table.append([key, value]) }
      return format == .csv
        ? table.csv : "## \(architecture.name) (\(settings.description))\n\n" + table.markdown
    }
  }
}
