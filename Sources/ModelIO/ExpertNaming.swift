/// Where a tensor source keeps each routed expert's three matrices: the base names (the
/// tensor name without `.weight`) of expert `e`'s gate, up and down projections in layer `l`.
///
/// `expertFile` is the file `ExpertCache.write` makes; `family(_:)` a model family's own names,
/// which a per-expert Hugging Face checkpoint and a GGUF file read through `GGUFTensorSource`
/// both use (each expert of a stacked `ffn_*_exps` tensor a matrix of its own).
public struct ExpertNaming: Sendable {
  /// `layers.{l}.experts.{e}`, or a family's `{feed-forward prefix}.experts.{e}`.
  let expertPrefix: @Sendable (_ layer: Int, _ expert: Int) -> String
  /// The three projections' names within an expert.
  let projections: (gate: String, up: String, down: String)

  /// The base names of expert `expert`'s gate, up and down projections in layer `layer`.
  public func names(layer: Int, expert: Int) -> (gate: String, up: String, down: String) {
    let prefix = expertPrefix(layer, expert)
    return ("\(prefix).\(projections.gate)", "\(prefix).\(projections.up)", "\(prefix).\(projections.down)")
  }

  /// MoEKit's expert file: `layers.{l}.experts.{e}.gate`, `.up`, `.down`.
  public static let expertFile = ExpertNaming(
    expertPrefix: { "layers.\($0).experts.\($1)" }, projections: ("gate", "up", "down"))

  /// `family`'s names: `{family.feedForwardPrefix(layer: l)}.experts.{e}` with its
  /// `expertProjectionNames` (`model.layers.3.mlp.experts.5.gate_proj`, say).
  public static func family(_ family: any ModelFamily) -> ExpertNaming {
    ExpertNaming(
      expertPrefix: { "\(family.feedForwardPrefix(layer: $0)).experts.\($1)" },
      projections: family.expertProjectionNames)
  }
}
