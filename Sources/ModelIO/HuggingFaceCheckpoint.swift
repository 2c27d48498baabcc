import CostModel
import Foundation
import Linalg
import MoE

/// A Hugging Face checkpoint — `config.json` plus safetensors weights — from which MoEKit
/// builds any layer's feed-forward block with the forward semantics of `transformers`:
///
/// - **Mixtral** (`mixtral`): `model.layers.{i}.block_sparse_moe.gate.weight`,
///   `….experts.{j}.w1/w3/w2.weight` (gate/up/down); softmax over all experts → top-k →
///   renormalise (`TopKSoftmaxRouter`).
/// - **Qwen2-MoE / Qwen3-MoE** (`qwen2_moe`, `qwen3_moe`): `model.layers.{i}.mlp.gate.weight`,
///   `….mlp.experts.{j}.gate_proj/up_proj/down_proj.weight`; softmax → top-k → renormalise
///   only when `norm_topk_prob` (default false); Qwen2-MoE adds `mlp.shared_expert.*`
///   scaled by `sigmoid(mlp.shared_expert_gate(x))`; `decoder_sparse_step` and
///   `mlp_only_layers` pick the MoE layers, the others are dense `mlp.*_proj`.
/// - **DeepSeek-V3** (`deepseek_v3`): `mlp.gate.weight` and `mlp.gate.e_score_correction_bias`;
///   sigmoid scores, the bias for selection only, groups scored by their two best biased
///   scores with the other groups' experts excluded (`transformers` 5 masks them with −∞),
///   top-k, weights divided by their sum + 1e-20 when `norm_topk_prob` (default true),
///   times `routed_scaling_factor` (default 2.5); `mlp.shared_experts.*` added unscaled;
///   layers before `first_k_dense_replace` (and off `moe_layer_freq`) dense. **GLM-4.5**
///   (`glm4_moe`) routes the same way (scaling default 1).
/// - **DeepSeek-V2** (`deepseek_v2`): softmax scores, `topk_method` `greedy` or
///   `group_limited_greedy` (groups scored by their best expert, the others' experts set
///   to 0 as `transformers` does), never renormalised, times `routed_scaling_factor`
///   (default 1); shared experts as in V3.
///
/// Everything is computed in the matrices' scalar type (`Float` matches `transformers`'
/// float32 router arithmetic; bf16 and f16 weights are widened on load). Ties in top-k go to
/// the lower expert index; PyTorch leaves their order unspecified. Missing tensors, shapes
/// that contradict the config, and unusable config fields are typed `CheckpointError`s.
public struct HuggingFaceCheckpoint: Sendable {
  /// The model types whose blocks load.
  public static let supportedModelTypes = [
    "llama", "mistral", "mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "deepseek_v2", "deepseek_v3",
    "glm4_moe",
  ]

  /// The configuration's fields.
  public let config: ConfigFields
  /// `model_type`.
  public let modelType: String
  /// The weights.
  public let weights: any TensorSource
  /// `num_hidden_layers`.
  public let layerCount: Int
  /// `hidden_size`.
  public let width: Int
  /// The sizes and layer kinds `CostModel` reads from the same `config.json`.
  public let architecture: Architecture
  /// The names of the tensors read so far (for the check that nothing was left over).
  let ledger = TensorLedger()
  /// How the weights of products (projections, experts, the head) are held once loaded.
  public var weightFormat: LoadedWeightFormat = .stored

  /// How product weights are held in memory after loading (norms, embeddings, routers and
  /// biases are always `Float`).
  public enum LoadedWeightFormat: String, Sendable, CaseIterable {
    /// As stored: bf16 tensors stay bf16 where they lie in the mapped file, q8/q4 ones
    /// (MoEKit's quantized checkpoints) stay quantized, float32 ones are used in place,
    /// f16 ones widen to `Float`.
    case stored
    /// Everything widened to `Float`.
    case float32
    /// Everything rounded to bf16.
    case bf16
    /// Everything quantized at load to 8-bit blocks (`WeightMatrix.Format.q8`).
    case q8
    /// Everything quantized at load to 4-bit blocks (`WeightMatrix.Format.q4`).
    case q4

    /// The compact format a product weight stored in `stored` (`nil`: float32 or f16) is
    /// held in, or `nil` for `Float`.
    func heldFormat(stored: WeightMatrix.Format?) -> WeightMatrix.Format? {
      self == .stored ? stored : WeightMatrix.Format(rawValue: rawValue)
    }
  }

  /// The memory the weights will take once loaded as `weightFormat` says, estimated from the
  /// tensors' names, types and shapes before anything is converted: product weights (2-D
  /// tensors other than embeddings, routers and MLA's `kv_b_proj`) in their held format (0
  /// when bf16 or float32 stays in place in the mapped file), MoEKit's quantized parts as
  /// stored, everything else as `Float`. Loading then needs this much anonymous memory, give or take a few rows.
  public func estimatedHeldBytes() throws -> Int {
    var total = 0
    let storedQuantization = try quantizationFormat()
    for name in weights.names {
      let (type, shape) = (try weights.dataType(of: name), try weights.shape(of: name))
      let elements = shape.reduce(1, *)
      if name.hasSuffix(".qweight") || name.hasSuffix(".scales") {
        // MoEKit's quantized parts: kept as stored, or converted as a whole matrix (whose
        // size the .qweight part accounts for).
        let stored = storedQuantization
        let held = weightFormat.heldFormat(stored: stored)
        if held == stored {
          total += elements * type.size
        } else if name.hasSuffix(".qweight") {
          let columns = elements / shape[0] * (stored == .q4 ? 2 : 1)
          total +=
            held.map { WeightMatrix.byteCount($0, rows: shape[0], columns: columns) } ?? 4 * shape[0]
            * columns
        }
        continue
      }
      // MLA's kv_b_proj stays Float: the absorbed decode reads its rows directly.
      let isProduct =
        shape.count == 2 && !name.contains("embed_tokens") && !name.hasSuffix(".gate.weight")
        && !name.contains("router") && !name.contains("kv_b_proj")
      guard isProduct else {
        total += 4 * elements
        continue
      }
      let stored: WeightMatrix.Format? = type == .bf16 ? .bf16 : nil
      switch weightFormat.heldFormat(stored: stored) {
      case nil: total += type == .f32 ? 0 : 4 * elements  // float32 is used in place
      case .bf16? where stored == .bf16: break  // read in place
      case let format?: total += WeightMatrix.byteCount(format, rows: shape[0], columns: shape[1])
      }
    }
    return total
  }

  /// A checkpoint from a `config.json`'s bytes and its weights.
  ///
  /// - Throws: `CheckpointError.config`, `.unsupportedModelType`, or `.unsupportedField` for
  ///   a `quantization_config` other than MoEKit's (GPTQ, AWQ, FP8, …), named before any
  ///   tensor is looked for.
  public init(config json: Data, weights: any TensorSource) throws {
    do {
      config = try ConfigFields(json: json)
      // A remote-code model_type (Kimi-K2's kimi_k2) loads as the family its architectures name.
      do {
        modelType = try HuggingFaceConfig.modelType(of: config, supported: Self.supportedModelTypes)
      } catch ConfigError.unsupportedModelType(let type, let architectures, _) {
        throw CheckpointError.unsupportedModelType(
          type, architectures: architectures, supported: Self.supportedModelTypes)
      }
      layerCount = try config.int("num_hidden_layers")
      width = try config.int("hidden_size")
      architecture = try HuggingFaceConfig.architecture(json: json)
    } catch let error as ConfigError {
      throw CheckpointError.config(error)
    }
    self.weights = weights
    _ = try quantizationFormat()
  }

  /// A checkpoint from a `config.json` file and a `.safetensors` file or a
  /// `model.safetensors.index.json`, mapped or read into memory as `access` says.
  public init(configFile: String, weightsFile: String, access: FileAccess = .mapped) throws {
    let json: Data
    do {
      json = try InputFile.contents(of: configFile)
    } catch {
      throw CheckpointError.config(.unreadableFile(path: configFile, reason: "\(error)"))
    }
    let weights: any TensorSource =
      weightsFile.hasSuffix(".json")
      ? try ShardedCheckpoint(indexFile: weightsFile, access: access)
      : try SafeTensorsFile(contentsOfFile: weightsFile, access: access)
    try self.init(config: json, weights: weights)
  }

  /// Whether layer `i`'s feed-forward is a MoE block (as `CostModel` reads the config).
  public func isMoE(layer i: Int) throws -> Bool {
    guard i >= 0 && i < layerCount else {
      throw CheckpointError.layerOutOfRange(layer: i, layers: layerCount)
    }
    return architecture.isMoELayer[i]
  }

  /// Layer `i`'s feed-forward block, dense or MoE, as `transformers` computes it.
  public func feedForward<Scalar: BLASScalar>(layer i: Int, as: Scalar.Type = Scalar.self) throws
    -> FeedForwardSublayer<Scalar>
  {
    guard i >= 0 && i < layerCount else {
      throw CheckpointError.layerOutOfRange(layer: i, layers: layerCount)
    }
    let activation = try self.activation()
    if try !isMoE(layer: i) {
      let hidden = try checked { try config.int("intermediate_size") }
      return .dense(try network("model.layers.\(i).mlp", hidden: hidden, activation: activation, Scalar.self))
    }
    return .moe(try moe(layer: i, activation: activation, Scalar.self))
  }

  func moe<Scalar: BLASScalar>(layer i: Int, activation: ElementwiseFunction, _: Scalar.Type) throws
    -> MoELayer<Scalar>
  {
    let mixtral = modelType == "mixtral"
    let prefix = "model.layers.\(i)." + (mixtral ? "block_sparse_moe" : "mlp")
    let shape = architecture.moe!  // a MoE layer exists, so the architecture has a MoE shape
    let (experts, k, hidden) = (shape.routedExperts, shape.topK, shape.expert.hidden)
    let gate = Linear<Scalar>(weight: try tensor("\(prefix).gate.weight", [experts, width], Scalar.self))
    let names = mixtral ? ("w1", "w3", "w2") : ("gate_proj", "up_proj", "down_proj")
    let routed = try (0..<experts).map { j in
      try network("\(prefix).experts.\(j)", hidden: hidden, activation: activation, names: names, Scalar.self)
    }
    let router: any Router<Scalar>
    var shared: SharedExpert<Scalar>?
    switch modelType {
    case "mixtral":
      router = TopKSoftmaxRouter(gate: gate, k: k, normalizeTopK: true)
    case "olmoe":
      router = TopKSoftmaxRouter(
        gate: gate, k: k, normalizeTopK: try checked { try config.bool("norm_topk_prob", fallback: false) })
    case "deepseek_v2", "deepseek_v3", "glm4_moe":
      let v3 = modelType != "deepseek_v2"  // GLM-4.5 routes as DeepSeek-V3 does
      let (method, normalize, scaling, sharedCount) = try checked {
        (
          v3 ? "group_limited" : try config.string("topk_method") ?? "greedy",
          // transformers' DeepSeek-V2 router never renormalises, whatever norm_topk_prob says.
          v3 ? try config.bool("norm_topk_prob", fallback: true) : false,
          try config.double("routed_scaling_factor", fallback: modelType == "deepseek_v3" ? 2.5 : 1),
          try config.int("n_shared_experts", minimum: 0, fallback: 0)
        )
      }
      guard ["greedy", "group_limited_greedy", "group_limited"].contains(method) else {
        throw CheckpointError.unsupportedField(
          field: "topk_method", value: method, supported: "greedy, group_limited_greedy")
      }
      let (groups, keptGroups) =
        method == "greedy"
        ? (1, 1)
        : try checked { (try config.int("n_group", fallback: 1), try config.int("topk_group", fallback: 1)) }
      guard experts % groups == 0, keptGroups <= groups, k <= experts / groups * keptGroups else {
        throw CheckpointError.config(
          .inconsistent(
            fields: ["n_routed_experts", "n_group", "topk_group", "num_experts_per_tok"],
            reason: "\(k) of \(experts) experts from \(keptGroups) of \(groups) groups"))
      }
      let bias = v3 ? try tensor("\(prefix).gate.e_score_correction_bias", [experts], Scalar.self) : nil
      var groupLimited = GroupLimitedRouter(
        gate: gate, k: k, scoring: v3 ? .sigmoid : .softmax, selectionBias: bias, groupCount: groups,
        topKGroup: keptGroups, groupScore: v3 ? .sumOfTopTwo : .best, normalizeTopK: normalize,
        routedScalingFactor: Scalar(scaling))
      // transformers 5 masks the dropped groups with -inf for V3 and GLM, with 0 for V2.
      if !v3 { groupLimited.ineligibleScore = 0 }
      router = groupLimited
      if sharedCount > 0 {
        shared = SharedExpert(
          network: try network(
            "\(prefix).shared_experts", hidden: hidden * sharedCount, activation: activation, Scalar.self))
      }
    default:
      let normalize = try checked { try config.bool("norm_topk_prob", fallback: false) }
      router = TopKSoftmaxRouter(gate: gate, k: k, normalizeTopK: normalize)
      let sharedHidden = try checked {
        try config.int("shared_expert_intermediate_size", minimum: 0, fallback: 0)
      }
      if modelType == "qwen2_moe" && sharedHidden > 0 {
        shared = SharedExpert(
          network: try network(
            "\(prefix).shared_expert", hidden: sharedHidden, activation: activation, Scalar.self),
          gate: Linear(weight: try tensor("\(prefix).shared_expert_gate.weight", [1, width], Scalar.self)))
      }
    }
    return MoELayer(router: router, experts: routed, sharedExpert: shared)
  }

  /// A gated network `prefix.{gate,up,down}` of width `hidden`.
  func network<Scalar: BLASScalar>(
    _ prefix: String, hidden: Int, activation: ElementwiseFunction,
    names: (gate: String, up: String, down: String) = ("gate_proj", "up_proj", "down_proj"), _: Scalar.Type
  ) throws -> FeedForward<Scalar> {
    FeedForward(
      gate: try linear("\(prefix).\(names.gate).weight", [hidden, width], Scalar.self),
      up: try linear("\(prefix).\(names.up).weight", [hidden, width], Scalar.self),
      down: try linear("\(prefix).\(names.down).weight", [width, hidden], Scalar.self),
      activation: activation)
  }

  /// A product's layer from the named `[rows, columns]` weight (rows reordered by
  /// `rowOrder` when given) and `bias`, its weight held as `weightFormat` says (compact
  /// formats for `Float` layers only).
  func linear<Scalar: BLASScalar>(
    _ name: String, _ shape: [Int], _: Scalar.Type, bias: Matrix<Scalar>? = nil, rowOrder: [Int]? = nil
  ) throws -> Linear<Scalar> {
    let quantized = try quantizedTensor(name, shape)
    let storedType = weights.contains(name) ? try weights.dataType(of: name) : nil
    let storedFormat: WeightMatrix.Format? = quantized?.format ?? (storedType == .bf16 ? .bf16 : nil)
    let held = Scalar.self == Float.self ? weightFormat.heldFormat(stored: storedFormat) : nil
    let floatBias = bias.map { unsafeBitCast($0, to: Matrix<Float>.self) }
    func compact(_ matrix: WeightMatrix) -> Linear<Scalar> {
      ledger.record(name, heldAs: matrix)
      return unsafeBitCast(Linear<Float>(compactWeight: matrix, bias: floatBias), to: Linear<Scalar>.self)
    }
    // Held as stored: bf16 in place in the mapped file, q8/q4 as read.
    if held != nil && held == storedFormat && rowOrder == nil {
      if let quantized { return compact(quantized) }
      try checkTensor(name, shape)
      if let matrix = try weights.compactMatrix(name) { return compact(matrix) }
    }
    // Converted at load: a plain tensor goes to its held format a few rows at a time, so no
    // whole Float copy of it (or of the model) ever exists.
    if let held, quantized == nil, rowOrder == nil {
      try checkTensor(name, shape)
      let (type, raw) = (try weights.dataType(of: name), try weights.rawBytes(name))
      guard type.isFloatingPoint else {
        throw SafeTensorsError.notFloatingPoint(name: name, dtype: type.rawValue)
      }
      let rowBytes = shape[1] * type.size
      return compact(
        WeightMatrix(format: held, rows: shape[0], columns: shape[1]) { range in
          let part = UnsafeRawBufferPointer(
            rebasing: raw[range.lowerBound * rowBytes..<range.upperBound * rowBytes])
          return Matrix(
            rows: range.count, columns: shape[1],
            elements: ElementDecoding.floats(part, type).map { Float($0) })
        })
    }
    var weight: Matrix<Scalar>
    if let quantized {
      let values = quantized.dequantized()
      weight =
        Scalar.self == Float.self
        ? unsafeBitCast(values, to: Matrix<Scalar>.self)
        : Matrix(rows: values.rows, columns: values.columns, elements: values.elements.map { Scalar($0) })
    } else {
      weight = try tensor(name, shape, Scalar.self)
    }
    if let rowOrder { weight = weight.gatheringRows(rowOrder) }
    guard let held else { return Linear(weight: weight, bias: bias) }
    return compact(WeightMatrix(unsafeBitCast(weight, to: Matrix<Float>.self), format: held))
  }

  /// The named weight as MoEKit's quantized checkpoints store it (`name.qweight` and
  /// `name.scales`, see `TensorSource.storedQuantization`), both parts checked against the
  /// shape the config implies and recorded as read, or `nil` when the checkpoint holds
  /// `name` itself. A file that names a quantization other than MoEKit's is refused (see
  /// `quantizationFormat`).
  func quantizedTensor(_ name: String, _ shape: [Int]) throws -> WeightMatrix? {
    let (quantsName, scalesName) = (name + ".qweight", name + ".scales")
    guard !weights.contains(name), weights.contains(quantsName) || weights.contains(scalesName) else {
      return nil
    }
    guard let format = try quantizationFormat() else {
      throw CheckpointError.unsupportedField(
        field: "quantization_config", value: "absent",
        supported: "MoEKit's {\"quant_method\": \"moekit\"} for \(quantsName)")
    }
    let matrix = try weights.quantizedMatrix(name, rows: shape[0], columns: shape[1], declared: format)
    ledger.record(quantsName)
    ledger.record(scalesName)
    return matrix
  }

  /// The format of MoEKit's own quantized checkpoints (`quantization_config`:
  /// `{"quant_method": "moekit", "format": "q8" | "q4", "block_size": 32}`), `nil` when the
  /// config has none; any other quantization (GPTQ, AWQ, FP8, …) is refused by name rather
  /// than misread.
  func quantizationFormat() throws -> WeightMatrix.Format? {
    guard let value = config.fields["quantization_config"], value != .null else { return nil }
    guard case .object(let fields) = value else {
      throw CheckpointError.config(.wrongType(field: "quantization_config", expected: "an object"))
    }
    let quantization = ConfigFields(fields: fields)
    let method = try checked { try quantization.string("quant_method") } ?? "unnamed"
    guard method == "moekit" else {
      throw CheckpointError.unsupportedField(
        field: "quantization_config.quant_method", value: method, supported: "moekit (MoEKit's q8 and q4)")
    }
    let name = try checked { try quantization.string("format") } ?? ""
    guard let format = WeightMatrix.Format(rawValue: name), format != .bf16 else {
      throw CheckpointError.unsupportedField(
        field: "quantization_config.format", value: name, supported: "q8 or q4")
    }
    let blockSize = try checked { try quantization.int("block_size", fallback: 32) }
    guard blockSize == 32 else {
      throw CheckpointError.unsupportedField(
        field: "quantization_config.block_size", value: "\(blockSize)", supported: "32")
    }
    return format
  }

  /// Checks that the named tensor exists with `shape`, and records it as read.
  func checkTensor(_ name: String, _ shape: [Int]) throws {
    guard weights.contains(name) else { throw CheckpointError.missingTensor(name) }
    ledger.record(name)
    let found = try weights.shape(of: name)
    guard found == shape else {
      throw CheckpointError.shapeMismatch(name: name, expected: shape, found: found)
    }
  }

  /// The named tensor, checked against the shape the config implies (a vector for a
  /// one-element `shape`, read as `1 × n`).
  func tensor<Scalar: BLASScalar>(_ name: String, _ shape: [Int], _: Scalar.Type) throws -> Matrix<Scalar> {
    try checkTensor(name, shape)
    return try weights.matrix(name, as: Scalar.self)
  }

  /// `hidden_act` as an `ElementwiseFunction`.
  func activation() throws -> ElementwiseFunction {
    let name = try checked { try config.string("hidden_act") } ?? "silu"
    switch name {
    case "silu", "swish": return .silu
    case "gelu": return .gelu
    case "gelu_pytorch_tanh", "gelu_new": return .geluTanh
    case "relu": return .relu
    default: throw CheckpointError.unsupportedActivation(name)
    }
  }

  /// Runs `body`, turning its `ConfigError`s into `CheckpointError.config`.
  func checked<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as ConfigError {
      throw CheckpointError.config(error)
    }
  }
}
