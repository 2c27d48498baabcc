import Foundation
import Linalg
import MoE
import Report

/// The experts of MoE layers kept in a safetensors file, held in memory up to a byte
/// budget and loaded on demand — the serving pattern for models whose experts do not all
/// fit — with LRU or LFU eviction (`ExpertResidency`) and optional prefetching.
///
/// Expert `e` of layer `l` is the gated network stored as
/// `layers.{l}.experts.{e}.gate.weight`, `.up.weight` and `.down.weight` (`h × d`, `h × d`,
/// `d × h`; `write` produces such a file). A load copies the three matrices out of the
/// file's memory map into memory of the cache's own, so a load costs what reading the
/// bytes costs and the budget bounds what is resident.
public struct ExpertCache<Scalar: BLASScalar>: Sendable {
  /// What the cache did so far.
  public struct Statistics: Sendable, Equatable {
    /// Demand accesses that found the expert resident.
    public var hits = 0
    /// Demand accesses that had to load it.
    public var misses = 0
    /// Loads made by `prefetch`.
    public var prefetches = 0
    /// Bytes copied out of the file.
    public var bytesLoaded = 0
    /// Seconds spent loading.
    public var secondsLoading = 0.0
    /// `hits / (hits + misses)` (1 with no accesses).
    public var hitRate: Double { hits + misses == 0 ? 1 : Double(hits) / Double(hits + misses) }
  }

  /// Where the experts are.
  public let source: any TensorSource
  /// The experts' activation (`silu` for SwiGLU).
  public let activation: ElementwiseFunction
  /// One expert's bytes in memory (three matrices of `Scalar`).
  public let expertBytes: Int
  /// The bookkeeping: what is resident, what goes next.
  public private(set) var residency: ExpertResidency
  /// What the cache did so far.
  public private(set) var statistics = Statistics()
  private var held: [ExpertResidency.Key: FeedForward<Scalar>] = [:]

  /// A cache over `source` holding at most `budgetBytes` of experts; the expert size is
  /// read from expert 0 of layer 0.
  ///
  /// - Throws: `CheckpointError.missingTensor` when layer 0 has no expert 0;
  ///   `CheckpointError.shapeMismatch` when its three matrices do not compose.
  /// - Precondition: the budget holds at least one expert.
  public init(
    source: any TensorSource, budgetBytes: Int, policy: ExpertResidency.Policy,
    activation: ElementwiseFunction = .silu
  ) throws {
    let (h, d) = try Self.shape(in: source, layer: 0, expert: 0)
    self.source = source
    self.activation = activation
    expertBytes = 3 * h * d * MemoryLayout<Scalar>.stride
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
    let prefix = Self.prefix(layer: key.layer, expert: key.expert)
    let (h, d) = try Self.shape(in: source, layer: key.layer, expert: key.expert)
    guard 3 * h * d * MemoryLayout<Scalar>.stride == expertBytes else {
      throw CheckpointError.shapeMismatch(
        name: prefix + ".up.weight", expected: [expertBytes / (3 * d * MemoryLayout<Scalar>.stride), d],
        found: [h, d])
    }
    func owned(_ name: String) throws -> Matrix<Scalar> {
      var m = try source.matrix(prefix + "." + name + ".weight", as: Scalar.self)
      m.withUnsafeMutableBufferPointer { _ in }  // copies out of the memory map
      return m
    }
    let network = FeedForward(
      gate: Linear(weight: try owned("gate")), up: Linear(weight: try owned("up")),
      down: Linear(weight: try owned("down")), activation: activation)
    statistics.bytesLoaded += expertBytes
    statistics.secondsLoading += Stopwatch.seconds(in: ContinuousClock.now - started)
    return network
  }

  /// `layers.{layer}.experts.{expert}`.
  public static func prefix(layer: Int, expert: Int) -> String { "layers.\(layer).experts.\(expert)" }

  /// `(h, d)` of the stored expert, checked for the gated form.
  static func shape(in source: any TensorSource, layer: Int, expert: Int) throws -> (Int, Int) {
    let prefix = prefix(layer: layer, expert: expert)
    var shapes: [[Int]] = []
    for name in ["gate", "up", "down"] {
      let full = prefix + "." + name + ".weight"
      guard source.contains(full) else { throw CheckpointError.missingTensor(full) }
      shapes.append(try source.shape(of: full))
    }
    guard shapes[0].count == 2, shapes[0] == shapes[1], shapes[2] == [shapes[0][1], shapes[0][0]] else {
      throw CheckpointError.shapeMismatch(
        name: prefix + ".down.weight",
        expected: shapes[0].count == 2 ? [shapes[0][1], shapes[0][0]] : [0, 0],
        found: shapes[2])
    }
    return (shapes[0][0], shapes[0][1])
  }

  /// Writes the routed experts of `layers` (gated networks) to a safetensors file at
  /// `path`, atomically, as `dataType`.
  ///
  /// - Throws: what writing the file throws.
  public static func write(
    _ layers: [MoELayer<Scalar>], to path: String, as dataType: SafeTensorsDataType = .f32
  ) throws {
    var tensors: [String: Tensor] = [:]
    for (l, layer) in layers.enumerated() {
      for (e, expert) in layer.experts.enumerated() {
        precondition(expert.isGated, "ExpertCache.write: layer \(l) expert \(e) is not gated")
        let prefix = prefix(layer: l, expert: e)
        tensors[prefix + ".gate.weight"] = Tensor(expert.gate!.weight.value, as: dataType)
        tensors[prefix + ".up.weight"] = Tensor(expert.up.weight.value, as: dataType)
        tensors[prefix + ".down.weight"] = Tensor(expert.down.weight.value, as: dataType)
      }
    }
    try SafeTensorsWriter.write(tensors, to: path)
  }
}
