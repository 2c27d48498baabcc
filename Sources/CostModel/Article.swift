/// The figures the MoE analysis MoEKit reproduces ("Technical Deep Dive": sparse computation,
/// MoE routing and task-level fine-tuning; see docs/References.md) quotes, as data, and its own
/// convention for deriving them.
public enum Article {
  /// A row of Table 1 as quoted. MMLU is quoted only; MoEKit never reproduces it.
  public struct Table1Row: Sendable, Equatable {
    /// The row's label.
    public var architecture: String
    /// Total parameters, in billions.
    public var total: Double
    /// Active parameters per token, in billions.
    public var active: Double
    /// Inference cost relative to Dense 7B.
    public var relativeCost: Double
    /// MMLU score (quoted, never reproduced).
    public var mmlu: Double
    /// Latency in milliseconds per token.
    public var latencyMilliseconds: Double
    /// Routed experts, where the article gives them (the DeepSeek row's "16 experts,
    /// top-2" comes from its text, not the table).
    public var experts: Int?
    /// Experts per token, where the article gives them.
    public var topK: Int?
  }

  /// Table 1 as quoted.
  public static let table1: [Table1Row] = [
    Table1Row(
      architecture: "Dense 7B", total: 7, active: 7, relativeCost: 1.0, mmlu: 64.3, latencyMilliseconds: 2.1),
    Table1Row(
      architecture: "Dense 70B", total: 70, active: 70, relativeCost: 10.0, mmlu: 83.2,
      latencyMilliseconds: 8.5),
    Table1Row(
      architecture: "MoE 7B (8 experts, top-2)", total: 7, active: 1.75, relativeCost: 0.25, mmlu: 66.1,
      latencyMilliseconds: 1.8, experts: 8, topK: 2),
    Table1Row(
      architecture: "MoE 70B (16 experts, top-2)", total: 70, active: 8.75, relativeCost: 1.25, mmlu: 84.5,
      latencyMilliseconds: 3.2, experts: 16, topK: 2),
    Table1Row(
      architecture: "DeepSeek-MoE 16B", total: 16, active: 2.8, relativeCost: 0.4, mmlu: 78.9,
      latencyMilliseconds: 2.4, experts: 16, topK: 2),
  ]

  /// Table 1 recomputed under the article's own convention: active = total · k/E (total
  /// for dense rows), cost = active / 7B.
  public struct ConventionRow: Sendable, Equatable {
    /// The quoted row.
    public var quoted: Table1Row
    /// `total · k/E`, in billions.
    public var active: Double
    /// `active / 7`.
    public var relativeCost: Double
    /// The cost from the *quoted* active figure, `quoted.active / 7`.
    public var relativeCostFromQuotedActive: Double
    /// Whether the formula reproduces the quoted active figure (to 0.5 %).
    public var activeMatches: Bool { abs(active - quoted.active) <= 0.005 * quoted.active }
    /// Whether the quoted cost follows from the quoted active figure (to 0.5 %).
    public var costMatches: Bool {
      abs(relativeCostFromQuotedActive - quoted.relativeCost) <= 0.005 * quoted.relativeCost
    }
  }

  /// Table 1 under the article's convention.
  public static func table1UnderConvention() -> [ConventionRow] {
    table1.map { row in
      var active = row.total
      if let experts = row.experts, let k = row.topK { active = row.total * Double(k) / Double(experts) }
      return ConventionRow(
        quoted: row, active: active, relativeCost: active / 7, relativeCostFromQuotedActive: row.active / 7)
    }
  }

  /// A row of Table 2 as quoted.
  public struct Table2Row: Sendable, Equatable {
    /// Company.
    public var company: String
    /// Model.
    public var model: String
    /// The mechanism the article credits.
    public var approach: String
    /// Active parameters, in billions.
    public var active: Double
    /// Whether the article marks the active figure as an estimate.
    public var activeIsEstimate: Bool
    /// Inference cost reduction, in percent.
    public var reductionPercent: Double
  }

  /// Table 2 as quoted (its C-Eval column is not reproduced).
  public static let table2: [Table2Row] = [
    Table2Row(
      company: "DeepSeek", model: "DeepSeek-MoE", approach: "Full MoE (16 experts, top-2)", active: 2.8,
      activeIsEstimate: false, reductionPercent: 75),
    Table2Row(
      company: "Zhipu AI", model: "GLM-4",
      approach: "Dense-sparse hybrid (first 20 layers dense, rest sparse attention)",
      active: 52, activeIsEstimate: true, reductionPercent: 40),
    Table2Row(
      company: "Baidu", model: "ERNIE 4.5",
      approach: "Task-adaptive head pruning (85 % of heads for code, 40 % for Q&A)",
      active: 65, activeIsEstimate: true, reductionPercent: 35),
    Table2Row(
      company: "Alibaba", model: "Qwen2.5-MoE", approach: "Shared-expert MoE (90 % of dense 72B)", active: 18,
      activeIsEstimate: false, reductionPercent: 80),
  ]
}
