import CostModel
import Foundation
import Linalg
import MoE

/// A Hugging Face checkpoint — `config.json` plus safetensors weights — from which MoEKit
/// builds any layer's feed-forward block, or the whole model, with the forward semantics of
/// `transformers`.
///
/// The sizes and layer kinds come from the `Architecture` that `CostModel` reads from the same
/// `config.json`; what loading needs beyond them — tensor names, routers, shared experts,
/// attention quirks — from the checkpoint's `ModelFamily` (`ModelFamilyRegistry` lists them).
///
/// Everything is computed in the matrices' scalar type (`Float` matches `transformers`'
/// float32 router arithmetic; bf16 and f16 weights are widened on load). Ties in top-k go to
/// the lower expert index; PyTorch leaves their order unspecified. Missing tensors, shapes
/// that contradict the config, and unusable config fields are typed `CheckpointError`s.
public struct HuggingFaceCheckpoint: Sendable {
  /// The configuration's fields.
  public let config: ConfigFields
  /// The family that loads it (found by `model_type`, or through `architectures` for a
  /// remote-code `model_type`).
  public let family: any ModelFamily
  /// The family's `model_type`.
  public var modelType: String { family.modelType }
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
  /// Each product's input-column importance by tensor name (`name#e` for expert `e` of a
  /// fused tensor), weighting the quantization error of the ggml block formats as
  /// `WeightMatrix.init(_:format:importance:)` does; products without an entry are fitted
  /// without. `Evaluation.ImportanceCalibration` measures it on a text.
  public var importance: [String: [Float]] = [:]

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
    /// Everything quantized at load to ggml's Q4_K (`WeightMatrix.Format.q4K`); rows that
    /// are not whole super-blocks of 256 to q8, as for the formats below.
    case q4K = "q4_K"
    /// Everything quantized at load to ggml's Q5_K.
    case q5K = "q5_K"
    /// Everything quantized at load to ggml's Q6_K.
    case q6K = "q6_K"
    /// Everything quantized at load to MXFP4 (rows that are not whole blocks of 32 to q8).
    case mxfp4
    /// llama.cpp's Q4_K_M recipe, chosen by tensor name and layer (`q4KMFormat`): Q4_K with
    /// value and down projections and the head at more bits.
    case q4KM = "q4_K_M"

    /// Whether products are quantized at load in formats whose fits
    /// `HuggingFaceCheckpoint.importance` weights (q4 and the ggml block formats; the others
    /// round and ignore it).
    public var weighsImportance: Bool { [.q4, .q4K, .q5K, .q6K, .mxfp4, .q4KM].contains(self) }

    /// The compact format a product weight stored in `stored` (`nil`: float32 or f16) is
    /// held in, or `nil` for `Float`.
    func heldFormat(stored: WeightMatrix.Format?) -> WeightMatrix.Format? {
      self == .stored ? stored : WeightMatrix.Format(rawValue: rawValue)
    }

    /// The format the product weight `name` with rows of `columns`, stored in `stored`, is held
    /// in, in a model of `layers` layers and `experts` routed experts: `heldFormat(stored:)`, or
    /// the recipe's choice for `name` (`q4KMFormat`); ggml block formats that do not divide the
    /// rows fall back to q8.
    func heldFormat(
      stored: WeightMatrix.Format?, columns: Int, name: String, layers: Int, experts: Int
    ) -> WeightMatrix.Format? {
      let format =
        self == .q4KM ? Self.q4KMFormat(name, layers: layers, experts: experts) : heldFormat(stored: stored)
      return format?.fitting(columns: columns)
    }

    /// llama.cpp's Q4_K_M choice for the product `name` (a Hugging Face tensor name, its layer
    /// read from `layers.L.`): the head in Q6_K; value projections and down projections (the
    /// experts' and shared experts' too) in Q6_K in the layers llama.cpp gives more bits — the
    /// first and last eighth and every third between — else Q4_K; in models of exactly 8 experts
    /// key and value projections in Q8_0 and output projections in Q5_K; everything else Q4_K.
    static func q4KMFormat(_ name: String, layers: Int, experts: Int) -> WeightMatrix.Format {
      if name.contains("lm_head") { return .q6K }
      let layer =
        name.range(of: "layers.").flatMap { Int(name[$0.upperBound...].prefix { $0.isNumber }) } ?? 0
      let moreBits = layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2
      if name.contains("v_proj") { return experts == 8 ? .q8 : moreBits ? .q6K : .q4K }
      if name.contains("k_proj") && experts == 8 { return .q8 }
      if name.contains("o_proj") && experts == 8 { return .q5K }
      if name.contains("down_proj") || name.contains(".w2.") || name.contains(".w2#") {
        return moreBits ? .q6K : .q4K
      }
      return .q4K
    }
  }

  /// The memory the weights will take once loaded as `weightFormat` says, estimated from the
  /// tensors' names, types and shapes before anything is converted: product weights (2-D
  /// tensors other than embeddings, routers, fused expert biases, Mamba's `A_log` and MLA's
  /// `kv_b_proj`) in their held format (0 when bf16 or float32 stays in place in the mapped
  /// file), fused 3-D expert tensors in their held format, MoEKit's quantized parts as stored, everything else
  /// as `Float`. Loading then needs this much anonymous memory, give or take a few rows.
  public func estimatedHeldBytes() throws -> Int {
    var total = 0
    let storedQuantization = try quantizationFormat()
    let routers = Set(
      (0..<layerCount).map { family.routerGateName(prefix: family.feedForwardPrefix(layer: $0)) })
    for name in weights.names {
      let (type, shape) = (try weights.dataType(of: name), try weights.shape(of: name))
      let elements = shape.reduce(1, *)
      if name.hasSuffix(".qweight") || name.hasSuffix(".scales") {
        // MoEKit's quantized parts: kept as stored, or converted as a whole matrix (whose
        // size the .qweight part accounts for).
        let stored = storedQuantization
        if weightFormat.heldFormat(stored: stored) == stored {
          total += elements * type.size
        } else if name.hasSuffix(".qweight") {
          let columns = elements / shape[0] * (stored == .q4 ? 2 : 1)
          let held = heldFormat(
            stored: stored, columns: columns, name: String(name.dropLast(".qweight".count)))
          total +=
            held.map { WeightMatrix.byteCount($0, rows: shape[0], columns: columns) } ?? 4 * shape[0]
            * columns
        }
        continue
      }
      if shape.count == 3 && !name.hasSuffix("conv1d.weight") {
        // Experts stored fused (`[E, in, out]`): laid out anew at load, each `out × in`.
        let held = heldFormat(stored: try weights.compactFormat(of: name), columns: shape[1], name: name)
        total +=
          held.map { shape[0] * WeightMatrix.byteCount($0, rows: shape[2], columns: shape[1]) } ?? 4
          * elements
        continue
      }
      // MLA's kv_b_proj stays Float: the absorbed decode reads its rows directly.
      let isProduct =
        shape.count == 2 && !name.contains("embed_tokens") && !routers.contains(name)
        && !name.contains("kv_b_proj") && !name.hasSuffix("_bias") && !name.hasSuffix(".A_log")
      guard isProduct else {
        total += 4 * elements
        continue
      }
      let stored = try weights.compactFormat(of: name)
      switch heldFormat(stored: stored, columns: shape[1], name: name) {
      case nil: total += type == .f32 ? 0 : 4 * elements  // float32 is used in place
      case let format? where format == stored && format != .q8 && format != .q4: break  // read in place
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
      let supported = ModelFamilyRegistry.modelTypes
      do {
        family = ModelFamilyRegistry.family(
          try HuggingFaceConfig.modelType(of: config, supported: supported))!
      } catch ConfigError.unsupportedModelType(let type, let architectures, _) {
        throw CheckpointError.unsupportedModelType(type, architectures: architectures, supported: supported)
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
      return .dense(
        try network(
          family.feedForwardPrefix(layer: i), hidden: architecture.denseFeedForward.hidden,
          bias: try family.feedForwardBias(self), activation: activation, Scalar.self))
    }
    return .moe(try moe(layer: i, activation: activation, Scalar.self))
  }

  /// Layer `i`'s MoE block: the family's router over its gate, routed experts and shared
  /// expert.
  func moe<Scalar: BLASScalar>(layer i: Int, activation: ElementwiseFunction, _: Scalar.Type) throws
    -> MoELayer<Scalar>
  {
    let prefix = family.feedForwardPrefix(layer: i)
    let shape = architecture.moe!  // a MoE layer exists, so the architecture has a MoE shape
    let gate = Linear<Scalar>(
      weight: try tensor(family.routerGateName(prefix: prefix), [shape.routedExperts, width], Scalar.self))
    var layer = MoELayer(
      router: try family.router(self, prefix: prefix, gate: gate),
      experts: try family.experts(self, prefix: prefix, activation: activation, as: Scalar.self),
      sharedExpert: try family.sharedExpert(self, prefix: prefix, as: Scalar.self))
    try family.finish(&layer, self, layer: i)
    return layer
  }

  /// The experts of a MoE block stored fused: `gateUp` `[E, d, 2I]` (`inputMajor`: in × out) or
  /// `[E, 2I, d]` (out × in), the gate and up features interleaved when `interleaved`, else
  /// the gate's first; `down` `[E, I, d]` or `[E, d, I]` likewise; `name_bias` tensors `[E, 2I]`
  /// and `[E, d]` beside them when `biased`. Each expert is laid out `out × in` and held as
  /// `weightFormat` says.
  func fusedExperts<Scalar: BLASScalar>(
    gateUp gateUpName: String, down downName: String, inputMajor: Bool, interleaved: Bool, biased: Bool,
    activation: ElementwiseFunction, _: Scalar.Type
  ) throws -> [FeedForward<Scalar>] {
    let shape = architecture.moe!
    let (count, hidden) = (shape.routedExperts, shape.expert.hidden)
    let gateUp = try stackedTensor(
      gateUpName, inputMajor ? [count, width, 2 * hidden] : [count, 2 * hidden, width], Scalar.self)
    let down = try stackedTensor(
      downName, inputMajor ? [count, hidden, width] : [count, width, hidden], Scalar.self)
    let gateUpBias = biased ? try tensor(gateUpName + "_bias", [count, 2 * hidden], Scalar.self) : nil
    let downBias = biased ? try tensor(downName + "_bias", [count, width], Scalar.self) : nil
    let (gates, ups) =
      interleaved
      ? (Array(stride(from: 0, to: 2 * hidden, by: 2)), Array(stride(from: 1, to: 2 * hidden, by: 2)))
      : (Array(0..<hidden), Array(hidden..<2 * hidden))
    return try (0..<count).map { e in
      let fused = inputMajor ? gateUp[e].transposed : gateUp[e]
      let bias = gateUpBias.map { $0[row: e] }
      return FeedForward(
        gate: try linear(
          laidOut: fused.gatheringRows(gates), from: gateUpName, expert: e,
          bias: bias.map { b in Matrix(row: gates.map { b[$0] }) }),
        up: try linear(
          laidOut: fused.gatheringRows(ups), from: gateUpName, expert: e,
          bias: bias.map { b in Matrix(row: ups.map { b[$0] }) }),
        down: try linear(
          laidOut: inputMajor ? down[e].transposed : down[e], from: downName, expert: e,
          bias: downBias?[rows: e..<e + 1]
        ),
        activation: activation)
    }
  }

  /// A gated network `prefix.{gate,up,down}` of width `hidden`, with `prefix.….bias` vectors
  /// when `bias`; `activation` defaults to `hidden_act`.
  func network<Scalar: BLASScalar>(
    _ prefix: String, hidden: Int, bias: Bool = false, activation: ElementwiseFunction? = nil,
    names: (gate: String, up: String, down: String) = ("gate_proj", "up_proj", "down_proj"), _: Scalar.Type
  ) throws -> FeedForward<Scalar> {
    func projection(_ name: String, _ rows: Int, _ columns: Int) throws -> Linear<Scalar> {
      try linear(
        "\(prefix).\(name).weight", [rows, columns], Scalar.self,
        bias: bias ? try tensor("\(prefix).\(name).bias", [rows], Scalar.self) : nil)
    }
    return FeedForward(
      gate: try projection(names.gate, hidden, width), up: try projection(names.up, hidden, width),
      down: try projection(names.down, width, hidden), activation: try activation ?? self.activation())
  }

  /// A product's layer from the named `[rows, columns]` weight (rows reordered by
  /// `rowOrder` when given) and `bias`, its weight held as `weightFormat` says (compact
  /// formats for `Float` layers only).
  func linear<Scalar: BLASScalar>(
    _ name: String, _ shape: [Int], _: Scalar.Type, bias: Matrix<Scalar>? = nil, rowOrder: [Int]? = nil
  ) throws -> Linear<Scalar> {
    let quantized = try quantizedTensor(name, shape)
    let storedType = weights.contains(name) ? try weights.dataType(of: name) : nil
    let storedFormat = try quantized?.format ?? (storedType == nil ? nil : weights.compactFormat(of: name))
    let held =
      Scalar.self == Float.self
      ? heldFormat(stored: storedFormat, columns: shape[1], name: name) : nil
    guard let held else {
      var weight: Matrix<Scalar>
      if let quantized {
        let values = quantized.dequantized()
        weight = Matrix(
          rows: values.rows, columns: values.columns, elements: values.elements.map { Scalar($0) })
      } else {
        weight = try tensor(name, shape, Scalar.self)
      }
      return Linear(weight: rowOrder.map { weight.gatheringRows($0) } ?? weight, bias: bias)
    }
    let matrix = try heldMatrix(name, shape, held: held, stored: storedFormat, quantized: quantized)
    // Recorded in the stored row order, so that a saved model is reordered again when loaded.
    ledger.record(name, heldAs: matrix)
    let product = rowOrder.map { matrix.gatheringRows($0) } ?? matrix
    ledger.name(product: product, name)
    let layer = Linear<Float>(
      compactWeight: product, bias: bias.map { unsafeBitCast($0, to: Matrix<Float>.self) })
    return unsafeBitCast(layer, to: Linear<Scalar>.self)
  }

  /// The named `[rows, columns]` weight in the compact format `held`, rows in stored order:
  /// as stored when that is `held` (bf16 or a GGUF file's blocks in place in the mapped file,
  /// q8/q4 as read), else converted at load a few rows at a time, so that no whole `Float` copy
  /// of it (or of the model) ever exists.
  func heldMatrix(
    _ name: String, _ shape: [Int], held: WeightMatrix.Format, stored: WeightMatrix.Format?,
    quantized: WeightMatrix?
  ) throws -> WeightMatrix {
    if quantized == nil { try checkTensor(name, shape) }
    // A compact source (MoEKit's quantized parts, a bf16 tensor, a GGUF file's blocks).
    let importance = try self.importance(of: name, columns: shape[1])
    if let compact = try quantized ?? (stored == nil ? nil : weights.compactMatrix(name)) {
      guard compact.format != held else { return compact }
      return WeightMatrix(format: held, rows: shape[0], columns: shape[1], importance: importance) {
        compact.dequantized(rows: $0)
      }
    }
    let (type, raw) = (try weights.dataType(of: name), try weights.rawBytes(name))
    guard type.isFloatingPoint else {
      throw SafeTensorsError.notFloatingPoint(name: name, dtype: type.rawValue)
    }
    let rowBytes = shape[1] * type.size
    return WeightMatrix(format: held, rows: shape[0], columns: shape[1], importance: importance) { range in
      let part = UnsafeRawBufferPointer(
        rebasing: raw[range.lowerBound * rowBytes..<range.upperBound * rowBytes])
      return Matrix(
        rows: range.count, columns: shape[1], elements: ElementDecoding.floats(part, type).map { Float($0) })
    }
  }

  /// The format `weightFormat` holds the product weight `name` (rows of `columns`, stored in
  /// `stored`) in, for this checkpoint's layers and experts.
  func heldFormat(stored: WeightMatrix.Format?, columns: Int, name: String) -> WeightMatrix.Format? {
    weightFormat.heldFormat(
      stored: stored, columns: columns, name: name, layers: layerCount,
      experts: architecture.moe?.routedExperts ?? 0)
  }

  /// `importance`'s entry for the product `key` (`nil` without one), checked to hold one
  /// finite non-negative number for each of its `columns`.
  func importance(of key: String, columns: Int) throws -> [Float]? {
    guard let values = importance[key] else { return nil }
    let nonFinite = values.contains { !($0.isFinite && $0 >= 0) }
    guard values.count == columns, !nonFinite else {
      throw CheckpointError.unusableImportance(
        name: key, columns: columns, found: values.count, nonFinite: nonFinite)
    }
    return values
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
    guard let format = WeightMatrix.Format(rawValue: name), format == .q8 || format == .q4 else {
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

  /// The `count` matrices of the named 3-D tensor `[count, rows, columns]` (experts stored
  /// fused), checked against that shape and recorded as read.
  func stackedTensor<Scalar: BLASScalar>(_ name: String, _ shape: [Int], _: Scalar.Type) throws -> [Matrix<
    Scalar
  >] {
    try checkTensor(name, shape)
    let type = try weights.dataType(of: name)
    guard type.isFloatingPoint else {
      throw SafeTensorsError.notFloatingPoint(name: name, dtype: type.rawValue)
    }
    let raw = try weights.rawBytes(name)
    let size = shape[1] * shape[2] * type.size
    return (0..<shape[0]).map { e in
      let part = UnsafeRawBufferPointer(rebasing: raw[e * size..<(e + 1) * size])
      return Matrix(
        rows: shape[1], columns: shape[2], elements: ElementDecoding.floats(part, type).map { Scalar($0) })
    }
  }

  /// A product's layer over `weight` (expert `expert`'s part of the stored tensor `name`,
  /// laid out anew), held as `weightFormat` says (compact formats for `Float` layers only) and
  /// named `name#expert` for `importance` and calibration.
  func linear<Scalar: BLASScalar>(
    laidOut weight: Matrix<Scalar>, from name: String, expert: Int, bias: Matrix<Scalar>?
  ) throws -> Linear<Scalar> {
    let (stored, key) = (try weights.compactFormat(of: name), "\(name)#\(expert)")
    guard Scalar.self == Float.self, let held = heldFormat(stored: stored, columns: weight.columns, name: key)
    else {
      return Linear(weight: weight, bias: bias)
    }
    let matrix = WeightMatrix(
      unsafeBitCast(weight, to: Matrix<Float>.self), format: held,
      importance: try importance(of: key, columns: weight.columns))
    ledger.name(product: matrix, key)
    let layer = Linear<Float>(
      compactWeight: matrix, bias: bias.map { unsafeBitCast($0, to: Matrix<Float>.self) })
    return unsafeBitCast(layer, to: Linear<Scalar>.self)
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
