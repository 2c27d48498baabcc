import CostModel
import Report

/// Tables 1 and 2 of the article: as quoted, under its convention, under exact
/// accounting, and the claims around them.
struct ArticleSections {
  var settings: Settings

  func sections() -> [Section] {
    [table1Convention(), table1Exact(), claims(), table2()]
  }

  // MARK: Table 1, the article's convention

  func table1Convention() -> Section {
    var table = Table(
      header: [
        "architecture", "total (B)", "k/E", "active = total·k/E (B)", "quoted active", "cost = active/7B",
        "quoted cost", "check",
      ],
      alignments: [.left, .right, .right, .right, .right, .right, .right, .left])
    var notes: [String] = []
    for row in Article.table1UnderConvention() {
      let q = row.quoted
      let ratio = q.experts.map { "\(q.topK!)/\($0)" } ?? "dense"
      var check = row.activeMatches && row.costMatches ? "matches" : ""
      if !row.activeMatches {
        check = "active does not follow: \(Format.fixed(row.active, 2))B ≠ \(Format.fixed(q.active, 2))B"
        notes.append(
          "\(q.architecture): the article's text says 16 experts, top-2, which gives \(Format.fixed(row.active, 2))B active by its own formula; the quoted \(Format.fixed(q.active, 1))B is the published DeepSeek-MoE 16B figure (64 fine-grained experts, top-6, plus 2 shared). Its cost 0.4 follows from 2.8B / 7B."
        )
      }
      table.append([
        q.architecture, Format.fixed(q.total, 0), ratio, Format.fixed(row.active, 2),
        Format.fixed(q.active, 2),
        Format.fixed(row.relativeCost, 2) + "x", Format.fixed(q.relativeCost, 2) + "x", check,
      ])
    }
    notes.append(
      "MMLU scores and latencies are quoted, not derived by this convention; latency is checked in the next table."
    )
    return Section(
      key: "table1_convention", title: "Table 1 under the article's convention",
      formulas: ["active = total × k / E   (dense: active = total)", "relative cost = active / 7B"],
      table: table,
      numericColumns: ["total (B)", "active = total·k/E (B)", "quoted active"], notes: notes)
  }

  // MARK: Table 1, exact accounting

  func table1Exact() -> Section {
    let architectures = ReferenceArchitectures.table1
    let s = settings
    let baseFLOPs = architectures[0].forwardFLOPsPerToken(context: s.context)
    let baseLatency = DecodeProjection(
      architectures[0], on: s.hardware, batch: s.batch, context: s.context, dataType: s.dataType
    ).seconds
    var table = Table(
      header: [
        "architecture", "total (B)", "active (B)", "active w/o emb. (B)", "GFLOP/token", "weights (GB)",
        "KV cache/token (kB)", "decode ms/token", "cost vs Dense 7B", "quoted total/active/cost/ms", "flags",
      ],
      alignments: [.left, .right, .right, .right, .right, .right, .right, .right, .right, .left, .left])
    for (index, a) in architectures.enumerated() {
      let quoted = Article.table1[Swift.min(index, Article.table1.count - 1)]
      let flops = a.forwardFLOPsPerToken(context: s.context)
      let projection = DecodeProjection(
        a, on: s.hardware, batch: s.batch, context: s.context, dataType: s.dataType)
      let cost = flops / baseFLOPs
      var flags: [String] = []
      let total = Double(a.totalParameters) / 1e9
      let active = Double(a.activeParameters) / 1e9
      if abs(total - quoted.total) > 0.05 * quoted.total {
        flags.append("total \(Format.fixed(total, 2))B ≠ \(Format.fixed(quoted.total, 0))B")
      }
      if abs(active - quoted.active) > 0.05 * quoted.active {
        flags.append(
          "active \(Format.fixed(active, 2))B ≠ \(Format.fixed(quoted.active, 2))B: k/E shrinks only the experts; attention and embeddings are always active"
        )
      }
      if abs(cost - quoted.relativeCost) > 0.1 * quoted.relativeCost {
        flags.append("cost \(Format.fixed(cost, 2))x ≠ \(Format.fixed(quoted.relativeCost, 2))x")
      }
      let milliseconds = 1000 * projection.seconds
      if quoted.latencyMilliseconds < milliseconds {
        flags.append(
          "\(Format.fixed(quoted.latencyMilliseconds, 1)) ms is below the \(projection.isMemoryBound ? "bandwidth" : "compute") floor of \(Format.fixed(milliseconds, 1)) ms on \(s.hardware.name)"
        )
      }
      let latencyRatio = projection.seconds / baseLatency
      let quotedRatio = quoted.latencyMilliseconds / Article.table1[0].latencyMilliseconds
      if index > 0, abs(latencyRatio - quotedRatio) > 0.25 * quotedRatio {
        flags.append(
          "latency vs Dense 7B \(Format.fixed(latencyRatio, 2))x, quoted \(Format.fixed(quotedRatio, 2))x")
      }
      table.append([
        a.name, billions(a.totalParameters), billions(a.activeParameters),
        billions(a.activeParametersExcludingEmbeddings), Format.fixed(flops / 1e9, 2),
        Format.fixed(a.weightBytes(s.dataType) / 1e9, 1),
        Format.fixed(a.kvCacheBytesPerToken(s.dataType) / 1000, 0),
        Format.fixed(milliseconds, 2), Format.fixed(cost, 2) + "x",
        "\(Format.fixed(quoted.total, 0)) / \(Format.fixed(quoted.active, 2)) / \(Format.fixed(quoted.relativeCost, 2))x / \(Format.fixed(quoted.latencyMilliseconds, 1))",
        flags.isEmpty ? "supported" : flags.joined(separator: "; "),
      ])
    }
    let moe7 = ReferenceArchitectures.moe7B.moe!
    let moe70 = ReferenceArchitectures.moe70B.moe!
    let described = ReferenceArchitectures.deepSeekMoE16BAsDescribed.moe!
    return Section(
      key: "table1_exact", title: "Table 1 under exact accounting (\(s.description))",
      formulas: [
        "active = embeddings + head + Σ layers (attention + norms + router + k routed + shared experts)",
        "FLOP/token = 2 × (weights multiplied) + 2 × heads × (scores + values) × context",
        "decode time = max(batch × FLOP/token ÷ peak, bytes read per step ÷ bandwidth)",
      ],
      table: table,
      numericColumns: [
        "total (B)", "active (B)", "active w/o emb. (B)", "GFLOP/token", "weights (GB)",
        "KV cache/token (kB)", "decode ms/token",
      ],
      notes: [
        "Expert widths chosen to reach the stated totals: MoE 7B \(moe7.expert.hidden), MoE 70B \(moe70.expert.hidden), DeepSeek-MoE 16B as described \(described.expert.hidden) (SwiGLU, multiples of 64).",
        "Quoted latencies of a few milliseconds per token are only reachable at batch 1 if the weights stream faster than \(s.hardware.name)'s \(Format.fixed(s.hardware.memoryBandwidth / 1e12, 2)) TB/s; the article does not say which hardware or batch it measured.",
      ])
  }

  // MARK: Claims

  func claims() -> Section {
    let s = settings
    let dense70 = ReferenceArchitectures.llama2_70B
    let moe70 = ReferenceArchitectures.moe70B
    let moe = moe70.moe!
    var table = Table(
      header: ["claim", "recomputed", "formula", "verdict"], alignments: [.left, .left, .left, .left])

    let flopRatio =
      dense70.forwardFLOPsPerToken(context: s.context) / moe70.forwardFLOPsPerToken(context: s.context)
    let expertRatio = Double(moe.routedExperts) / Double(moe.topK)
    table.append([
      "top-2 of 16 experts cuts compute ≈ 8× against a dense model of equal total size",
      "experts: \(Format.fixed(expertRatio, 1))×; whole model (Dense 70B vs MoE 70B): \(Format.fixed(flopRatio, 2))×",
      "E/k; FLOP(dense)/FLOP(MoE) at context \(s.context)",
      abs(flopRatio - 8) <= 0.8
        ? "supported"
        : "not supported for the whole model: only the expert FFNs shrink \(Format.fixed(expertRatio, 0))×; dense attention and the head hold the cut at \(Format.fixed(flopRatio, 1))×",
    ])

    let activeShare = Double(moe70.activeParameters) / Double(dense70.activeParameters)
    let latency1 = ratio(moe70, dense70, batch: 1)
    let latency64 = ratio(moe70, dense70, batch: 64)
    table.append([
      "MoE 70B uses 12.5 % of the active parameters and 37 % of the latency of Dense 70B",
      "active \(percent(activeShare)); projected latency \(percent(latency1)) at batch 1, \(percent(latency64)) at batch 64",
      "active(MoE)/active(dense); decode roofline on \(s.hardware.name)",
      [
        verdict(
          activeShare, 0.125, tolerance: 0.02,
          otherwise: "12.5 % is k/E, but attention and embeddings are always active"),
        "latency "
          + verdict(
            latency1, 0.37,
            otherwise:
              "the roofline gives \(percent(latency1)) at batch 1; a batch of 64 touches \(Format.fixed(moe.expectedDistinctExperts(tokens: 64), 1)) of 16 experts"
          ),
      ].joined(separator: "; "),
    ])

    let v3 = ReferenceArchitectures.deepSeekV3
    let mla = Double(v3.attention.cachedValuesPerToken)
    let mhaSameHeads = Double(2 * 128 * 128)
    let gqa8 = Double(2 * 8 * 128)
    table.append([
      "multi-head latent attention cuts KV-cache bandwidth 4×",
      "MLA caches \(Int(mla)) scalars per layer per token: \(Format.fixed(mhaSameHeads / mla, 1))× less than 128-head MHA, \(Format.fixed(gqa8 / mla, 1))× less than 8-group GQA",
      "(2·heads·head_dim) / (kv_lora_rank + rope_dim), DeepSeek-V3 dimensions",
      abs(gqa8 / mla - 4) <= 0.6
        ? "4× matches the saving against 8-group GQA; against the MHA that MLA replaces it is \(Format.fixed(mhaSameHeads / mla, 0))×"
        : verdict(mhaSameHeads / mla / 4, 1, tolerance: 0.15, otherwise: "neither comparison gives 4×"),
    ])

    let allExperts = Double(moe.routedExperts * moe.expert.parameters(width: moe70.width))
    let activeExperts = Double(moe.topK * moe.expert.parameters(width: moe70.width))
    table.append([
      "a 16-expert model needs 16× the expert memory of its active path",
      "all experts / one expert = \(Format.fixed(Double(moe.routedExperts), 0))×; all experts / the k = 2 active = \(Format.fixed(allExperts / activeExperts, 0))×; whole model total / active weights = \(Format.fixed(Double(moe70.totalParameters) / Double(moe70.activeParameters), 1))×",
      "E; E/k; total/active",
      Double(moe.routedExperts) == 16 && allExperts / activeExperts != 16
        ? "16× holds against one expert; against the active path (\(moe.topK) experts) it is \(Format.fixed(allExperts / activeExperts, 0))×"
        : verdict(
          allExperts / activeExperts, 16, tolerance: 0.5,
          otherwise: "the ratio is \(Format.fixed(allExperts / activeExperts, 1))×"),
    ])
    return Section(key: "claims", title: "The article's claims, recomputed", table: table)
  }

  /// Projected decode time of `a` over `b` at `batch`.
  func ratio(_ a: Architecture, _ b: Architecture, batch: Int) -> Double {
    let s = settings
    return DecodeProjection(a, on: s.hardware, batch: batch, context: s.context, dataType: s.dataType).seconds
      / DecodeProjection(b, on: s.hardware, batch: batch, context: s.context, dataType: s.dataType).seconds
  }

  // MARK: Table 2

  func table2() -> Section {
    let s = settings
    var table = Table(
      header: ["model", "mechanism", "quoted reduction", "recomputed", "formula", "verdict"],
      alignments: [.left, .left, .right, .left, .left, .left])
    let rows = Article.table2

    // DeepSeek-MoE: the share of weights a token does not use.
    let published = ReferenceArchitectures.deepSeekMoE16B
    let quotedShare = 1 - rows[0].active / 16
    let exactShare = 1 - Double(published.activeParameters) / Double(published.totalParameters)
    let flopShare =
      1 - published.forwardFLOPsPerToken(context: s.context)
      / denseEquivalent(published).forwardFLOPsPerToken(context: s.context)
    table.append([
      rows[0].model, rows[0].approach, percent(rows[0].reductionPercent / 100),
      "\(percent(quotedShare)) (2.8B of 16B); published model \(percent(exactShare)); FLOPs vs a dense model of equal size \(percent(flopShare))",
      "1 − active/total; 1 − FLOP(MoE)/FLOP(dense of equal total)",
      verdict(
        quotedShare, rows[0].reductionPercent / 100,
        otherwise:
          "\(Format.fixed(rows[0].reductionPercent, 0)) % would need \(Format.fixed(16 * (1 - rows[0].reductionPercent / 100), 1))B active of 16B"
      ),
    ])

    // GLM-4: sparse attention in the layers after the 20th.
    let glm = Self.glm4Shape
    let dense = glm.forwardFLOPsPerToken(context: s.context)
    func reduction(positionFraction p: Double, context: Int) -> Double {
      var sparse = glm
      sparse.attentionSparsity = AttentionSparsity(
        headFractions: [.init(share: 1, fraction: 1)], positionFraction: p, firstSparseLayer: 20)
      return 1 - sparse.forwardFLOPsPerToken(context: context) / glm.forwardFLOPsPerToken(context: context)
    }
    let needed = contextNeeded(for: 0.40) { reduction(positionFraction: 0, context: $0) }
    table.append([
      rows[1].model, rows[1].approach, percent(rows[1].reductionPercent / 100),
      "at context \(s.context): \(percent(reduction(positionFraction: 0.25, context: s.context))) attending 25 % of positions, \(percent(reduction(positionFraction: 0, context: s.context))) at most (no attention in the sparse layers)",
      "Σ sparse layers attention-score FLOPs × (1 − p) / FLOP(dense), GLM-4-9B shape (\(Format.fixed(dense / 1e9, 1)) GFLOP/token)",
      verdict(
        reduction(positionFraction: 0, context: s.context), rows[1].reductionPercent / 100,
        otherwise: needed.map {
          "\(Format.fixed(rows[1].reductionPercent, 0)) % needs a context of \($0) tokens or more even with the sparse layers' attention removed"
        }
          ?? "attention scores are too small a share at any context up to 16M tokens"),
    ])

    // ERNIE 4.5: head pruning on a 65B-class dense model.
    var ernie = ReferenceArchitectures.llama2_70B
    ernie.attentionSparsity = AttentionSparsity(headFractions: [
      .init(share: 0.5, fraction: 0.85), .init(share: 0.5, fraction: 0.4),
    ])
    var qaOnly = ReferenceArchitectures.llama2_70B
    qaOnly.attentionSparsity = AttentionSparsity(headFractions: [.init(share: 1, fraction: 0.4)])
    let base = ReferenceArchitectures.llama2_70B.forwardFLOPsPerToken(context: s.context)
    let mixed = 1 - ernie.forwardFLOPsPerToken(context: s.context) / base
    let best = 1 - qaOnly.forwardFLOPsPerToken(context: s.context) / base
    table.append([
      rows[2].model, rows[2].approach, percent(rows[2].reductionPercent / 100),
      "\(percent(mixed)) for an even code/Q&A mix, \(percent(best)) if every input were Q&A (context \(s.context))",
      "(1 − kept heads) × (q/o projections + scores + values) / FLOP(dense), Llama-2-70B shape",
      verdict(
        mixed, rows[2].reductionPercent / 100,
        otherwise: "pruning heads saves no feed-forward work, which dominates at context \(s.context)"),
    ])

    // Qwen2.5-MoE: active parameters against the dense 72B it is compared with.
    let qwen = 1 - rows[3].active / 72
    table.append([
      rows[3].model, rows[3].approach, percent(rows[3].reductionPercent / 100),
      "\(percent(qwen)) (18B active against dense 72B)",
      "1 − active/72B",
      verdict(
        qwen, rows[3].reductionPercent / 100, tolerance: 0.02,
        otherwise:
          "\(Format.fixed(rows[3].reductionPercent, 0)) % would need \(Format.fixed(72 * (1 - rows[3].reductionPercent / 100), 1))B active"
      ),
    ])
    return Section(
      key: "table2", title: "Table 2 recomputed from each mechanism",
      formulas: ["cost reduction = 1 − cost(sparse) / cost(dense baseline)"], table: table,
      notes: [
        "The article gives no baseline, context or input mix for Table 2; the shapes used are stated in the formula column and the context is --context."
      ])
  }

  /// A dense model with `a`'s attention and embeddings whose FFN holds all of `a`'s
  /// feed-forward weights (a SwiGLU of the same total): the "dense model of equal total
  /// size".
  func denseEquivalent(_ a: Architecture) -> Architecture {
    let feedForward = (0..<a.layers).reduce(0) {
      $0 + a.totalParameters(layer: $1) - a.attentionAndNormParameters(layer: $1)
    }
    var dense = a
    dense.moe = nil
    dense.isMoELayer = Array(repeating: false, count: a.layers)
    dense.denseFeedForward = FeedForwardShape(hidden: feedForward / a.layers / (3 * a.width))
    return dense
  }

  /// "supported" when `recomputed` is within `tolerance` of `quoted` (both fractions),
  /// otherwise "not supported: " and the reason.
  func verdict(_ recomputed: Double, _ quoted: Double, tolerance: Double = 0.05, otherwise reason: String)
    -> String
  {
    abs(recomputed - quoted) <= tolerance ? "supported" : "not supported: " + reason
  }

  /// The smallest context (doubling from 1k up to 16M) at which `reduction` reaches
  /// `target`, or `nil`.
  func contextNeeded(for target: Double, _ reduction: (Int) -> Double) -> Int? {
    var context = 1024
    while context <= 1 << 24 {
      if reduction(context) >= target { return context }
      context *= 2
    }
    return nil
  }

  /// GLM-4-9B's shape (THUDM/glm-4-9b config: 40 layers, d = 4096, 32 heads sharing 2 KV
  /// groups of 128, SwiGLU 13696, vocabulary 151552), standing in for the GLM-4 family.
  static let glm4Shape = Architecture(
    name: "GLM-4-9B shape", vocabularySize: 151_552, width: 4096, layers: 40,
    attention: .gqa(heads: 32, kvHeads: 2, headDim: 128, qkvBias: true),
    denseFeedForward: FeedForwardShape(hidden: 13696))
}
