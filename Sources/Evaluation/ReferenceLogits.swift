import Foundation

/// A reference model's next-token distributions on a text, kept compactly so that other
/// models (the same model quantized, say) can be scored against it later without loading it:
/// for every scored position the `top` most likely tokens with their log-probabilities, the
/// log-probability of all the others together (the rest), the target token's log-probability,
/// and optionally the experts each MoE layer chose for the position's token.
///
/// Against a model's distribution `Q`, the divergence of a position is then computed over
/// the `top + 1` outcomes "one of the top tokens, each on its own" and "any other token":
///
///     KL_top(P ‖ Q) = Σ_{i ∈ top} p_i·(log p_i − log q_i) + p_rest·(log p_rest − log q_rest)
///
/// which never exceeds the full `KL(P ‖ Q)` (merging outcomes cannot increase a divergence)
/// and equals it when `top` is the whole vocabulary. llama.cpp's `--kl-divergence-base`
/// keeps every logit at 16 bits instead; with `top` of a few dozen the two agree to a few
/// parts in a thousand on real models, where the rest's mass is small.
///
/// The file (little-endian): `MKRL`, version 1, then `UInt32`s vocabulary, top, context,
/// stride, token count, position count, routing layers; the tokens (`UInt32` each); then per
/// position: the target's index in the tokens (`UInt32`), its log-probability and the rest's
/// (`Float32`, the rest −∞ when the top covers the vocabulary), `top` token ids (`UInt32`) and
/// their log-probabilities (`Float32`, most likely first), and per routing layer a count
/// (`UInt8`) and that many expert ids (`UInt16`).
public struct ReferenceLogits: Sendable, Equatable {
  /// One scored position.
  public struct Position: Sendable, Equatable {
    /// The index in `tokens` of the token predicted here.
    public var target: Int
    /// `log P(tokens[target])`.
    public var targetLogProbability: Float
    /// The `top` most likely token ids, most likely first (ties: the lower id).
    public var ids: [Int]
    /// Their log-probabilities.
    public var logProbabilities: [Float]
    /// `log` of the probability of every other token together (−∞ when there is none).
    public var restLogProbability: Float
    /// Per MoE layer (`routingLayers` of them), the experts the predicting token chose
    /// (sorted; empty when not recorded).
    public var experts: [[Int]]
  }

  /// The text's tokens.
  public var tokens: [Int]
  /// The model's vocabulary.
  public var vocabulary: Int
  /// Tokens kept per position.
  public var top: Int
  /// The scoring windows' context and stride (`ScoringWindows`).
  public var context: Int, stride: Int
  /// MoE layers whose routing each position keeps (0 for none).
  public var routingLayers: Int
  /// The scored positions, by increasing `target`.
  public private(set) var positions: [Position] = []

  /// An empty reference for `tokens` scored in windows of `context` every `stride`, keeping
  /// the `top` most likely tokens of a vocabulary of `vocabulary` and `routingLayers` layers'
  /// routing.
  ///
  /// - Precondition: `1 ≤ top ≤ vocabulary`, `2 ≤ context`, `1 ≤ stride ≤ context`.
  public init(tokens: [Int], vocabulary: Int, top: Int, context: Int, stride: Int, routingLayers: Int = 0) {
    precondition(
      (1...vocabulary).contains(top) && context >= 2 && (1...context).contains(stride) && routingLayers >= 0,
      "ReferenceLogits: top \(top) of \(vocabulary), context \(context), stride \(stride)")
    (self.tokens, self.vocabulary, self.top, self.context, self.stride) = (
      tokens, vocabulary, top, context, stride
    )
    self.routingLayers = routingLayers
  }

  /// Adds the position predicting `tokens[target]` from `logits` (one row of `vocabulary`),
  /// with the predicting token's experts per MoE layer (`routingLayers` lists, or none).
  ///
  /// - Precondition: `target` follows the last position added; the shapes are as declared.
  public mutating func add<Row: Collection>(logits: Row, target: Int, experts: [[Int]] = [])
  where Row.Element == Float {
    precondition(
      logits.count == vocabulary && (1..<tokens.count).contains(target)
        && target > (positions.last?.target ?? 0) && (experts.isEmpty || experts.count == routingLayers)
        && experts.allSatisfy { $0.count < 256 && $0.allSatisfy { (0..<65536).contains($0) } },
      "ReferenceLogits: position \(target) with \(logits.count) logits, \(experts.count) routing layers")
    let logP = Perplexity.logSoftmax(Array(logits))
    let order = logP.indices.sorted { logP[$0] != logP[$1] ? logP[$0] > logP[$1] : $0 < $1 }
    let kept = Array(order.prefix(top))
    positions.append(
      Position(
        target: target, targetLogProbability: Float(logP[tokens[target]]), ids: kept,
        logProbabilities: kept.map { Float(logP[$0]) },
        restLogProbability: Float(Self.logSumExp(order.dropFirst(top).map { logP[$0] })),
        experts: experts.isEmpty ? Array(repeating: [], count: routingLayers) : experts))
  }

  /// `log Σ exp(x)` (−∞ for none).
  static func logSumExp(_ x: [Double]) -> Double {
    guard let m = x.max(), m > -.infinity else { return -.infinity }
    return m + log(x.reduce(0) { $0 + exp($1 - m) })
  }

  // MARK: The file

  static let magic = Array("MKRL".utf8)

  /// The file's bytes.
  public var data: Data {
    var out = Data(Self.magic)
    func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { out.append(contentsOf: $0) } }
    func f32(_ v: Float) { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
    for v in [1, vocabulary, top, context, stride, tokens.count, positions.count, routingLayers] { u32(v) }
    for t in tokens { u32(t) }
    for p in positions {
      u32(p.target)
      f32(p.targetLogProbability)
      f32(p.restLogProbability)
      for id in p.ids { u32(id) }
      for v in p.logProbabilities { f32(v) }
      for layer in p.experts {
        out.append(UInt8(layer.count))
        for e in layer { withUnsafeBytes(of: UInt16(e).littleEndian) { out.append(contentsOf: $0) } }
      }
    }
    return out
  }

  /// Writes the file at `path` atomically (a temporary file renamed over it).
  ///
  /// - Throws: `ReferenceLogitsError.unwritable`.
  public func write(to path: String) throws {
    do {
      try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
      throw ReferenceLogitsError.unwritable(path: path, reason: error.localizedDescription)
    }
  }

  /// Reads and validates the file at `path`: every count against the file's length and
  /// sensible ranges, every id against the vocabulary, every log-probability finite and at
  /// most 0, the positions increasing.
  ///
  /// - Throws: `ReferenceLogitsError`, naming the path and what is wrong.
  public init(contentsOfFile path: String) throws {
    let bytes: Data
    do {
      bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw ReferenceLogitsError.unreadable(path: path, reason: error.localizedDescription)
    }
    try self.init(data: bytes, path: path)
  }

  /// Reads and validates a file's bytes (`path` names it in errors).
  public init(data bytes: Data, path: String) throws {
    var reader = _Reader(bytes: [UInt8](bytes), path: path)
    guard Array(try reader.take(4)) == Self.magic else {
      throw ReferenceLogitsError.malformed(path: path, reason: "it does not start with MKRL")
    }
    let version = try reader.u32("version")
    guard version == 1 else {
      throw ReferenceLogitsError.malformed(path: path, reason: "version \(version), not 1")
    }
    let vocabulary = try reader.u32("vocabulary", in: 2...(1 << 24))
    let top = try reader.u32("top", in: 1...vocabulary)
    let context = try reader.u32("context", in: 2...(1 << 20))
    let stride = try reader.u32("stride", in: 1...context)
    let tokenCount = try reader.u32("token count", in: 2...(1 << 30))
    let positionCount = try reader.u32("position count", in: 0...(tokenCount - 1))
    let routingLayers = try reader.u32("routing layers", in: 0...4096)
    let tokens = try (0..<tokenCount).map { _ in try reader.u32("token", in: 0...(vocabulary - 1)) }
    self.init(
      tokens: tokens, vocabulary: vocabulary, top: top, context: context, stride: stride,
      routingLayers: routingLayers)
    var previous = 0
    for i in 0..<positionCount {
      let target = try reader.u32("target of position \(i)", in: (previous + 1)...(tokenCount - 1))
      previous = target
      let targetLogP = try reader.logProbability("target log-probability of position \(i)")
      let rest = try reader.f32()
      guard rest == -.infinity || (rest.isFinite && rest <= 0) else {
        throw ReferenceLogitsError.malformed(
          path: path, reason: "position \(i)'s rest log-probability is \(rest)")
      }
      let ids = try (0..<top).map { _ in try reader.u32("token id of position \(i)", in: 0...(vocabulary - 1))
      }
      guard Set(ids).count == top else {
        throw ReferenceLogitsError.malformed(path: path, reason: "position \(i) repeats a token id")
      }
      let logPs = try (0..<top).map { _ in try reader.logProbability("log-probability of position \(i)") }
      let experts = try (0..<routingLayers).map { _ in
        try (0..<Int(try reader.take(1).first!)).map { _ in Int(try reader.u16()) }
      }
      positions.append(
        Position(
          target: target, targetLogProbability: targetLogP, ids: ids, logProbabilities: logPs,
          restLogProbability: rest, experts: experts))
    }
    guard reader.offset == reader.bytes.count else {
      throw ReferenceLogitsError.malformed(
        path: path, reason: "\(reader.bytes.count - reader.offset) bytes follow the last position")
    }
  }

  /// A little-endian reader that names what it could not read.
  private struct _Reader {
    let bytes: [UInt8]
    let path: String
    var offset = 0

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
      guard bytes.count - offset >= n else {
        throw ReferenceLogitsError.malformed(
          path: path, reason: "it ends at byte \(bytes.count), inside a field at byte \(offset)")
      }
      defer { offset += n }
      return bytes[offset..<offset + n]
    }

    mutating func u32(_ what: String) throws -> Int {
      try take(4).reversed().reduce(0) { $0 << 8 | Int($1) }
    }

    mutating func u32(_ what: String, in range: ClosedRange<Int>) throws -> Int {
      let v = try u32(what)
      guard range.contains(v) else {
        throw ReferenceLogitsError.malformed(path: path, reason: "\(what) is \(v), outside \(range)")
      }
      return v
    }

    mutating func u16() throws -> UInt16 { try take(2).reversed().reduce(0) { $0 << 8 | UInt16($1) } }

    mutating func f32() throws -> Float { Float(bitPattern: UInt32(try u32("float"))) }

    mutating func logProbability(_ what: String) throws -> Float {
      let v = try f32()
      guard v.isFinite && v <= 0 else {
        throw ReferenceLogitsError.malformed(path: path, reason: "\(what) is \(v), not a finite number ≤ 0")
      }
      return v
    }
  }
}
