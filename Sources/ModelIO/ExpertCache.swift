import Foundation
import Linalg
import MoE
import Report

/// The experts of MoE layers kept in a safetensors file, held in memory up to a byte
/// budget and loaded on demand — the serving pattern for models whose experts do not all
/// fit — with LRU or LFU eviction (`ExpertResidency`) and optional prefetching.
///
/// Expert `e` of layer `l` is the gated network whose three matrices `naming` names — in the
/// file `write` produces `layers.{l}.experts.{e}.gate.weight`, `.up.weight` and `.down.weight`
/// (`h × d`, `h × d`, `d × h`; `ExpertNaming.expertFile`), in a model's checkpoint or GGUF file
/// its family's names (`ExpertNaming.family`) — each a floating-point tensor, a block format
/// where it lies (GGUF), or quantized as MoEKit stores it (`….qweight` and `….scales`, see
/// `TensorSource.storedQuantization`). A load copies the three matrices out of the file's memory map into memory
/// of the cache's own, so a load costs what reading the bytes costs and the budget bounds
/// what is resident.
///
/// A `Float` cache can hold its experts compact (`weightFormat`): a budget then holds as
/// many more experts as the format is smaller — 2× for bf16, 3.8× for q8, 7.1× for q4.
public struct ExpertCache<Scalar: BLASScalar>: Sendable {
  /// What the cache did so far.
  public struct Statistics: Sendable, Equatable {
    /// Demand accesses that found the expert resident.
    public var hits = 0
    /// Demand accesses that had to load it.
    public var misses = 0
    /// Loads made by `prefetch`.
    public var prefetches = 0
    /// Bytes of experts loaded, as held.
    public var bytesLoaded = 0
    /// Seconds spent loading.
    public var secondsLoading = 0.0
    /// `hits / (hits + misses)` (1 with no accesses).
    public var hitRate: Double { hits + misses == 0 ? 1 : Double(hits) / Double(hits + misses) }
  }

  /// Where the experts are.
  public let source: any TensorSource
  /// What the experts' matrices are called in `source`.
  public let naming: ExpertNaming
  /// The experts' activation (`silu` for SwiGLU).
  public let activation: ElementwiseFunction
  /// How loaded experts are held: `nil` as `Scalar` matrices (a compact file is expanded),
  /// or a compact format, whatever the file stores (another format is converted at load).
  public let weightFormat: WeightMatrix.Format?
  /// One expert's bytes in memory (its three matrices as held).
  public let expertBytes: Int
  /// `[h, d]` of every expert (read from expert 0 of layer 0).
  private let expertShape: [Int]
  /// The bookkeeping: what is resident, what goes next.
  public private(set) var residency: ExpertResidency
  /// What the cache did so far.
  public private(set) var statistics = Statistics()
  private var held: [ExpertResidency.Key: FeedForward<Scalar>] = [:]

  /// A cache over `source` holding at most `budgetBytes` of experts named as `naming` says,
  /// held as `weightFormat` says (a stored block format that is `weightFormat` is copied as
  /// it is); the expert size is read from expert 0 of layer 0.
  ///
  /// - Throws: `CheckpointError.missingTensor` when layer 0 has no expert 0;
  ///   `CheckpointError.shapeMismatch` when its three matrices do not compose.
  /// - Precondition: the budget holds at least one expert; a compact `weightFormat` only
  ///   for `Float` caches.
  public init(
    source: any TensorSource, naming: ExpertNaming = .expertFile, budgetBytes: Int,
    policy: ExpertResidency.Policy, activation: ElementwiseFunction = .silu,
    weightFormat: WeightMatrix.Format? = nil
  ) throws {
    precondition(weightFormat == nil || Scalar.self == Float.self, "ExpertCache: compact experts need Float")
    let (h, d) = try Self.shape(in: source, naming: naming, layer: 0, expert: 0)
    self.source = source
    self.naming = naming
    self.activation = activation
    self.weightFormat = weightFormat
    expertShape = [h, d]
    expertBytes = Self.heldBytes(hidden: h, width: d, format: weightFormat)
    residency = ExpertResidency(budgetBytes: budgetBytes, expertBytes: expertBytes, policy: policy)
  }

  /// Bytes of experts resident now.
  public var residentBytes: Int { held.count * expertBytes }

  /// Expert `expert` of layer `layer`, loading it (and evicting by the policy) when it is
  /// not resident.
  ///
  /// - Throws: `CheckpointError` when the file lacks the expert or its shape differs.
  public mutating func expert(layer: Int, index expert: Int) throws -> FeedForward<Scalar> {
    let key = ExpertResidency.Key(layer: layer, expert: expert)
    if let network = held[key] {
      _ = residency.access(key)
      statistics.hits += 1
      return network
    }
    statistics.misses += 1
    return try load(key)
  }

  /// Makes these experts resident ahead of their use (`ExpertResidency.prefetch`: those
  /// not resident are loaded, all are marked as just used, none of the batch evicts
  /// another, and a prefetch does not count as a use for LFU).
  ///
  /// - Throws: `CheckpointError` as `expert` does, before the cache changes.
  public mutating func prefetch(layer: Int, experts: [Int]) throws {
    let batch = Set(experts.map { ExpertResidency.Key(layer: layer, expert: $0) })
    var networks: [ExpertResidency.Key: FeedForward<Scalar>] = [:]
    for key in batch where held[key] == nil { networks[key] = try read(key) }
    let (loaded, evicted) = residency.prefetch(batch)
    for victim in evicted { held[victim] = nil }
    for key in loaded { held[key] = networks[key] }
    statistics.prefetches += loaded.count
  }

  /// Copies a non-resident expert out of the file and makes room for it.
  private mutating func load(_ key: ExpertResidency.Key) throws -> FeedForward<Scalar> {
    let network = try read(key)
    if case .miss(let evicted) = residency.access(key) {
      for victim in evicted { held[victim] = nil }
    }
    held[key] = network
    return network
  }

  /// Copies an expert's three matrices out of the file's memory map, counting the bytes
  /// and the time.
  private mutating func read(_ key: ExpertResidency.Key) throws -> FeedForward<Scalar> {
    let started = ContinuousClock.now
    let names = naming.names(layer: key.layer, expert: key.expert)
    let (h, d) = try Self.shape(in: source, naming: naming, layer: key.layer, expert: key.expert)
    guard [h, d] == expertShape else {
      throw CheckpointError.shapeMismatch(name: names.up + ".weight", expected: expertShape, found: [h, d])
    }
    let network = FeedForward(
      gate: try layer(names.gate, rows: h, columns: d), up: try layer(names.up, rows: h, columns: d),
      down: try layer(names.down, rows: d, columns: h), activation: activation)
    statistics.bytesLoaded += expertBytes
    statistics.secondsLoading += Stopwatch.seconds(in: ContinuousClock.now - started)
    return network
  }

  /// The `rows × columns` matrix `base` out of the file as a layer, held as `weightFormat`
  /// says, in memory of its own.
  private func layer(_ base: String, rows: Int, columns: Int) throws -> Linear<Scalar> {
    let quantized = try source.quantizedMatrix(base, rows: rows, columns: columns)
    guard let weightFormat else {
      guard let quantized else {
        var m = try source.matrix(base + ".weight", as: Scalar.self)
        m.withUnsafeMutableBufferPointer { _ in }  // copies out of the memory map
        return Linear(weight: m)
      }
      let values = quantized.dequantized()
      return Linear(
        weight: Scalar.self == Float.self
          ? unsafeBitCast(values, to: Matrix<Scalar>.self)
          : Matrix(rows: rows, columns: columns, elements: values.elements.map { Scalar($0) }))
    }
    let held: WeightMatrix
    if let quantized {
      held =
        quantized.format == weightFormat
        ? quantized : WeightMatrix(quantized.dequantized(), format: weightFormat.fitting(columns: columns))
    } else if let stored = try source.compactMatrix(base + ".weight"),
      stored.format == weightFormat.fitting(columns: columns)
    {
      held = stored.owned()
    } else {
      let weight = try source.matrix(base + ".weight", as: Float.self)
      held = WeightMatrix(weight, format: weightFormat.fitting(columns: weight.columns))
    }
    return unsafeBitCast(Linear<Float>(compactWeight: held), to: Linear<Scalar>.self)
  }

  /// Bytes of one `h × d → d` gated expert held as `format` (`nil`: `Scalar`).
  static func heldBytes(hidden h: Int, width d: Int, format: WeightMatrix.Format?) -> Int {
    guard let format else { return 3 * h * d * MemoryLayout<Scalar>.stride }
    return 2 * WeightMatrix.byteCount(format.fitting(columns: d), rows: h, columns: d)
      + WeightMatrix.byteCount(format.fitting(columns: h), rows: d, columns: h)
  }

  /// `(h, d)` of the stored expert, checked for the gated form: `gate` and `up` `h × d`,
  /// `down` `d × h`, each a 2-D tensor or quantized parts that fit that shape.
  static func shape(in source: any TensorSource, naming: ExpertNaming, layer: Int, expert: Int) throws -> (
    Int, Int
  ) {
    let names = naming.names(layer: layer, expert: expert)
    let bases = [names.gate, names.up, names.down]
    var shapes: [[Int]?] = []  // nil: stored quantized
    var rows: [Int] = []
    for base in bases {
      if source.contains(base + ".weight") {
        let shape = try source.shape(of: base + ".weight")
        shapes.append(shape)
        rows.append(shape.first ?? 0)
      } else if source.contains(base + ".qweight") {
        shapes.append(nil)
        rows.append(try source.shape(of: base + ".qweight").first ?? 0)
      } else {
        throw CheckpointError.missingTensor(base + ".weight")
      }
    }
    let (h, d) = (rows[0], rows[2])
    for ((base, shape), expected) in zip(zip(bases, shapes), [[h, d], [h, d], [d, h]]) {
      if let shape {
        guard shape == expected else {
          throw CheckpointError.shapeMismatch(name: base + ".weight", expected: expected, found: shape)
        }
      } else {
        _ = try source.storedQuantization(of: base, rows: expected[0], columns: expected[1])
      }
    }
    return (h, d)
  }

  /// Writes the routed experts of `layers` (gated networks) to a safetensors file at
  /// `path`, atomically, as `dataType`.
  ///
  /// - Throws: what writing the file throws.
  public static func write(
    _ layers: [MoELayer<Scalar>], to path: String, as dataType: SafeTensorsDataType = .f32
  ) throws {
    try write(layers, to: path) { base, weight in [base + ".weight": Tensor(weight, as: dataType)] }
  }

  /// Writes the routed experts of `layers` (gated networks) to a safetensors file at
  /// `path`, atomically, in a compact format: bf16 tensors, or q8/q4 as `….qweight` (U8)
  /// and `….scales` (F16) in `WeightMatrix`'s layout, which a cache reads back exactly.
  ///
  /// - Precondition: `format` is bf16, q8 or q4.
  /// - Throws: what writing the file throws.
  public static func write(_ layers: [MoELayer<Float>], to path: String, format: WeightMatrix.Format) throws
  where Scalar == Float {
    precondition(
      [.bf16, .q8, .q4].contains(format), "ExpertCache.write: \(format.rawValue) is not bf16, q8 or q4")
    try write(layers, to: path) { base, weight in
      let matrix = WeightMatrix(weight, format: format)
      if let bytes = matrix.bf16Bytes {
        return [
          base + ".weight": Tensor(
            dataType: .bf16, shape: [matrix.rows, matrix.columns], bytes: Array(bytes))
        ]
      }
      let (quants, scales) = matrix.quantizedParts!
      return [
        base + ".qweight": Tensor(
          dataType: .u8, shape: [matrix.rows, quants.count / matrix.rows], bytes: Array(quants)),
        base + ".scales": Tensor(
          dataType: .f16, shape: [matrix.rows, scales.count / 2 / matrix.rows], bytes: Array(scales)),
      ]
    }
  }

  /// Writes every routed expert's three matrices, each as the tensors `encode` makes of
  /// it under its base name (`layers.{l}.experts.{e}.gate` …).
  private static func write(
    _ layers: [MoELayer<Scalar>], to path: String, encode: (String, Matrix<Scalar>) -> [String: Tensor]
  ) throws {
    var tensors: [String: Tensor] = [:]
    for (l, layer) in layers.enumerated() {
      for (e, expert) in layer.experts.enumerated() {
        precondition(expert.isGated, "ExpertCache.write: layer \(l) expert \(e) is not gated")
        let names = ExpertNaming.expertFile.names(layer: l, expert: e)
        for (base, linear) in [(names.gate, expert.gate!), (names.up, expert.up), (names.down, expert.down)] {
          tensors.merge(encode(base, linear.expandedWeight)) { $1 }
        }
      }
    }
    try SafeTensorsWriter.write(tensors, to: path)
  }
}
