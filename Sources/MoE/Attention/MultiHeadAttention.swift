import Foundation
import Linalg

/// Causal self-attention with rotary positions, multi-head or grouped-query, with Hugging
/// Face's weight names (`q_proj`, `k_proj`, `v_proj`, `o_proj`):
/// `y = concat_h(softmax(Q_h K_gᵀ/√D + M) V_g) · W_oᵀ`, `Q = RoPE(x·W_qᵀ)`,
/// `K = RoPE(x·W_kᵀ)`, `V = x·W_vᵀ` (see `ScaledDotProductAttention` for the mask, the
/// local window and the head groups).
///
/// Shapes: `x` and `y` are `T × d`; `W_q` is `H·D × d`, `W_k` and `W_v` are `Hkv·D × d`,
/// `W_o` is `d × H·D`. A batch of several sequences is a `SequenceLayout` over the rows;
/// one sequence can also be decoded token by token over a `KVCache`.
///
/// **Head-sparse attention.** Given `activeHeads`, only those query heads (and the
/// key/value heads they read) are projected, attended and output-projected: the others
/// cost nothing and contribute zero, as in ERNIE 4.5's task-adaptive head pruning
/// (`HeadGate` chooses heads per input).
public struct MultiHeadAttention<Scalar: BLASScalar>: Sendable, ParameterContainer {
  /// `W_q` (`q_proj`).
  public var query: Linear<Scalar>
  /// `W_k` (`k_proj`).
  public var key: Linear<Scalar>
  /// `W_v` (`v_proj`).
  public var value: Linear<Scalar>
  /// `W_o` (`o_proj`).
  public var output: Linear<Scalar>
  /// Heads, grouping, head width and window.
  public var pattern: ScaledDotProductAttention
  /// The rotation of queries and keys, or `nil` for none.
  public var rotary: RotaryEmbedding?
  /// RMSNorms on queries and keys (`q_norm`, `k_norm`), before RoPE or after it, or `nil`.
  public var queryKeyNorm: QueryKeyNorm?
  /// `c`: queries, keys and values are clamped to `[−c, c]` after the norms (OLMoE's
  /// `clip_qkv`), or `nil`.
  public var clip: Scalar?
  /// Llama 4's attention temperature tuning on its NoPE layers, or `nil`: the query at
  /// position `p` is scaled by `1 + s·log(1 + ⌊(p + 1)/f⌋)` (`s` = `attn_scale`, `f` =
  /// `floor_scale`), so that attention sharpens with distance (inference only).
  public var temperatureTuning: (scale: Double, floor: Int)?
  /// Qwen3-Next's output gate, `d → H·D`, or `nil`: the attention output is multiplied by
  /// `σ(gate(x))` before `o_proj` (inference only).
  public var outputGate: Linear<Scalar>?

  /// RMSNorms of queries and keys (inference only: `backward` traps on a layer that has
  /// them).
  public struct QueryKeyNorm: Sendable {
    /// `q_norm`: over one head's `D` features (`perHead`) or the whole `H·D` projection.
    public var query: RMSNorm<Scalar>
    /// `k_norm`: over `D` or the whole `Hkv·D`.
    public var key: RMSNorm<Scalar>
    /// Whether each head is normalised on its own (Qwen3, GLM-4.5) rather than the whole
    /// projection at once (OLMoE).
    public var perHead: Bool
    /// Whether the norms apply to the rotated queries and keys (Hunyuan-MoE, Llama 4) rather
    /// than before RoPE (Qwen3, OLMoE, GLM-4.5).
    public var afterRotary: Bool

    /// Norms from their parts.
    public init(query: RMSNorm<Scalar>, key: RMSNorm<Scalar>, perHead: Bool, afterRotary: Bool = false) {
      (self.query, self.key, self.perHead, self.afterRotary) = (query, key, perHead, afterRotary)
    }
  }

  /// Attention from its parts.
  ///
  /// - Precondition: the projections fit `pattern` (`H·D`, `Hkv·D`, `Hkv·D`, `d ← H·D`).
  public init(
    query: Linear<Scalar>, key: Linear<Scalar>, value: Linear<Scalar>, output: Linear<Scalar>,
    pattern: ScaledDotProductAttention, rotary: RotaryEmbedding?
  ) {
    let (h, g, dk, dv) = (pattern.heads, pattern.kvHeads, pattern.keyDimensions, pattern.valueDimensions)
    let d = query.inputDimensions
    precondition(
      query.outputDimensions == h * dk && key.outputDimensions == g * dk && value.outputDimensions == g * dv
        && key.inputDimensions == d && value.inputDimensions == d && output.inputDimensions == h * dv
        && output.outputDimensions == d,
      "MultiHeadAttention: projections q \(query.outputDimensions)×\(d), k \(key.outputDimensions)×\(key.inputDimensions), v \(value.outputDimensions)×\(value.inputDimensions), o \(output.outputDimensions)×\(output.inputDimensions) do not fit \(h) heads of \(dk) over \(g) key/value heads"
    )
    precondition(
      rotary == nil || rotary!.headDimensions == dk,
      "MultiHeadAttention: RoPE of \(rotary?.headDimensions ?? 0) features for heads of \(dk)")
    (self.query, self.key, self.value, self.output) = (query, key, value, output)
    self.pattern = pattern
    self.rotary = rotary
  }

  /// Randomly initialised attention of width `dimensions`: `heads` heads of
  /// `headDimensions` (default `d / heads`) over `kvHeads` key/value heads (default
  /// `heads`), RoPE with `ropeBase` (`nil` for none), an optional local `window`, and
  /// biases on `q`, `k`, `v` when `bias` (Qwen2).
  public init(
    dimensions: Int, heads: Int, kvHeads: Int? = nil, headDimensions: Int? = nil, window: Int? = nil,
    ropeBase: Double? = 10_000, bias: Bool = false, using generator: inout some RandomNumberGenerator
  ) {
    let d = headDimensions ?? dimensions / heads
    let g = kvHeads ?? heads
    self.init(
      query: Linear(inputDimensions: dimensions, outputDimensions: heads * d, bias: bias, using: &generator),
      key: Linear(inputDimensions: dimensions, outputDimensions: g * d, bias: bias, using: &generator),
      value: Linear(inputDimensions: dimensions, outputDimensions: g * d, bias: bias, using: &generator),
      output: Linear(
        inputDimensions: heads * d, outputDimensions: dimensions, bias: false, using: &generator),
      pattern: ScaledDotProductAttention(
        heads: heads, kvHeads: g, keyDimensions: d, valueDimensions: d, window: window),
      rotary: ropeBase.map { RotaryEmbedding(headDimensions: d, base: $0) })
  }

  /// `d`.
  public var dimensions: Int { query.inputDimensions }

  /// Key and value features one token adds to a `KVCache` (`2·Hkv·D`, split in two).
  public func makeCache(capacity: Int = 16) -> KVCache<Scalar> {
    KVCache(
      keyWidth: pattern.kvHeads * pattern.keyDimensions,
      valueWidth: pattern.kvHeads * pattern.valueDimensions,
      capacity: capacity)
  }

  /// Self-attention over every sequence of `layout` (`x` is `layout.tokens × d`), with
  /// only `activeHeads` (sorted, distinct) when given, each head's output scaled by
  /// `headWeights` (one per head that runs; `HeadGate.weights`) when given.
  public func callAsFunction(
    _ x: Matrix<Scalar>, layout: SequenceLayout, activeHeads: [Int]? = nil, headWeights: [Scalar]? = nil
  ) -> Matrix<Scalar> {
    forwardForTraining(x, layout: layout, activeHeads: activeHeads, headWeights: headWeights).output
  }

  /// Attends the tokens of `x` (`n × d`, the next `n` tokens of the cache's sequence) to
  /// every token so far, and appends their keys and values to `cache`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ x: Matrix<Scalar>, cache: inout KVCache<Scalar>) -> Matrix<Scalar> {
    precondition(
      cache.keyWidth == pattern.kvHeads * pattern.keyDimensions,
      "MultiHeadAttention: cache of key width \(cache.keyWidth) for \(pattern.kvHeads)×\(pattern.keyDimensions)"
    )
    let start = cache.count
    let (q, k, v) = projected(x, projections(nil), positions: Array(start..<start + x.rows))
    cache.append(keys: k, values: v)
    let context = OperationProfile.measure("attention") {
      gated(pattern(q, cache.keys, cache.values, queryStart: start), x)
    }
    return OperationProfile.measure("o projection", bytes: output.weightBytes) { output(context) }
  }

  // MARK: Training

  /// What `backward` needs from the forward pass.
  public struct Cache: Sendable {
    /// The input.
    public var input: Matrix<Scalar>
    /// The sequences.
    public var layout: SequenceLayout
    /// The heads that ran, or `nil` for all.
    public var activeHeads: [Int]?
    /// Queries and keys after RoPE, values (of the heads that ran).
    public var q: Matrix<Scalar>, k: Matrix<Scalar>, v: Matrix<Scalar>
    /// The attention output before the head weights and `o_proj`.
    public var context: Matrix<Scalar>
    /// The weights on the heads that ran, if any.
    public var headWeights: [Scalar]?
  }

  /// The forward pass over `layout`, keeping what `backward` needs.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forwardForTraining(
    _ x: Matrix<Scalar>, layout: SequenceLayout, activeHeads: [Int]? = nil, headWeights: [Scalar]? = nil
  ) -> (output: Matrix<Scalar>, cache: Cache) {
    precondition(
      x.columns == dimensions && x.rows == layout.tokens,
      "MultiHeadAttention: input \(x.rows)×\(x.columns) for \(layout.tokens) tokens of width \(dimensions)")
    let p = projections(activeHeads)
    let (q, k, v) = projected(x, p, positions: layout.positions)
    var context = Matrix<Scalar>(rows: x.rows, columns: p.output.inputDimensions)
    for rows in layout.ranges {
      context[rows: rows] = p.pattern(q[rows: rows], k[rows: rows], v[rows: rows], queryStart: 0)
    }
    let cache = Cache(
      input: x, layout: layout, activeHeads: activeHeads, q: q, k: k, v: v, context: context,
      headWeights: headWeights)
    return (p.output(weighted(gated(context, x), headWeights)), cache)
  }

  /// The backward pass: accumulates the gradients of the projections (only the rows and
  /// columns of the heads that ran) and returns `∂x`.
  public mutating func backward(_ dy: Matrix<Scalar>, cache: Cache) -> Matrix<Scalar> {
    backwardWithHeadWeights(dy, cache: cache).dx
  }

  /// `backward`, also returning `∂L/∂w` for the head weights of the forward pass (`nil`
  /// without them): `∂w_h = Σ ∂(w_h·O_h) ⊙ O_h` over head `h`'s columns.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func backwardWithHeadWeights(
    _ dy: Matrix<Scalar>, cache: Cache
  ) -> (dx: Matrix<Scalar>, dHeadWeights: [Scalar]?) {
    precondition(
      queryKeyNorm == nil && clip == nil && temperatureTuning == nil && outputGate == nil,
      "MultiHeadAttention: no backward pass through q/k norms, clipping, temperature tuning or an output gate"
    )
    var p = projections(cache.activeHeads)
    var dContext = p.output.backward(dy, input: weighted(cache.context, cache.headWeights))
    var dHeadWeights: [Scalar]?
    if let weights = cache.headWeights {
      let width = pattern.valueDimensions
      dHeadWeights = weights.indices.map { i in
        dot(dContext.columns(i * width..<(i + 1) * width), cache.context.columns(i * width..<(i + 1) * width))
      }
      dContext = weighted(dContext, weights)
    }
    var dq = Matrix<Scalar>(rows: cache.q.rows, columns: cache.q.columns)
    var dk = Matrix<Scalar>(rows: cache.k.rows, columns: cache.k.columns)
    var dv = Matrix<Scalar>(rows: cache.v.rows, columns: cache.v.columns)
    for rows in cache.layout.ranges {
      let g = p.pattern.backward(
        dContext[rows: rows], cache.q[rows: rows], cache.k[rows: rows], cache.v[rows: rows], queryStart: 0)
      (dq[rows: rows], dk[rows: rows], dv[rows: rows]) = (g.dq, g.dk, g.dv)
    }
    let positions = cache.layout.positions
    rotary?.apply(&dq, positions: positions, inverse: true)
    rotary?.apply(&dk, positions: positions, inverse: true)
    let x = cache.input
    let dx = p.query.backward(dq, input: x) + p.key.backward(dk, input: x) + p.value.backward(dv, input: x)
    absorb(p, cache.activeHeads)
    return (dx, dHeadWeights)
  }

  /// Queries, keys (normalised, clipped and rotated, or clipped, rotated and normalised) and
  /// values (clipped) of `x` through
  /// the projections `p`, at `positions`.
  func projected(_ x: Matrix<Scalar>, _ p: Projections, positions: [Int]) -> (
    q: Matrix<Scalar>, k: Matrix<Scalar>, v: Matrix<Scalar>
  ) {
    var (q, k, v) = OperationProfile.measure(
      "q/k/v projections", bytes: p.query.weightBytes + p.key.weightBytes + p.value.weightBytes
    ) { (p.query(x), p.key(x), p.value(x)) }
    return OperationProfile.measure("rope, q/k norms") { finish(&q, &k, &v, p, positions: positions) }
  }

  /// Queries and keys normalised, clipped and rotated (in the order the layer's options say),
  /// values clipped.
  func finish(
    _ q: inout Matrix<Scalar>, _ k: inout Matrix<Scalar>, _ v: inout Matrix<Scalar>, _ p: Projections,
    positions: [Int]
  ) -> (q: Matrix<Scalar>, k: Matrix<Scalar>, v: Matrix<Scalar>) {
    if let norm = queryKeyNorm {
      precondition(
        norm.perHead || p.pattern.heads == pattern.heads,
        "MultiHeadAttention: head selection needs per-head q/k norms")
    }
    if let norm = queryKeyNorm, !norm.afterRotary {
      q = Self.normalized(q, norm.query, perHead: norm.perHead)
      k = Self.normalized(k, norm.key, perHead: norm.perHead)
    }
    if let clip {
      Self.clamp(&q, to: clip)
      Self.clamp(&k, to: clip)
      Self.clamp(&v, to: clip)
    }
    rotary?.apply(&q, positions: positions)
    rotary?.apply(&k, positions: positions)
    if let norm = queryKeyNorm, norm.afterRotary {
      q = Self.normalized(q, norm.query, perHead: norm.perHead)
      k = Self.normalized(k, norm.key, perHead: norm.perHead)
    }
    if let (scale, floor) = temperatureTuning {
      q.scaleRows(by: positions.map { Scalar(1 + scale * Foundation.log1p(Double(($0 + 1) / floor))) })
    }
    return (q, k, v)
  }

  /// `context ⊙ σ(gate(x))` with an output gate, else `context`.
  func gated(_ context: Matrix<Scalar>, _ x: Matrix<Scalar>) -> Matrix<Scalar> {
    guard let outputGate else { return context }
    precondition(
      outputGate.outputDimensions == context.columns,
      "MultiHeadAttention: an output gate of \(outputGate.outputDimensions) for \(context.columns) features (heads may not be selected)"
    )
    return context.elementwiseProduct(outputGate(x).applying(.sigmoid))
  }

  /// Clamps every element of `x` to `[−c, c]`.
  static func clamp(_ x: inout Matrix<Scalar>, to c: Scalar) {
    x.withUnsafeMutableBufferPointer { p in
      for j in p.indices { p[j] = Swift.min(Swift.max(p[j], -c), c) }
    }
  }

  /// `x` through `norm`, over each head's features when `perHead` (the rows of `x` read
  /// as one row per head), else over whole rows.
  static func normalized(_ x: Matrix<Scalar>, _ norm: RMSNorm<Scalar>, perHead: Bool) -> Matrix<Scalar> {
    guard perHead else { return norm(x) }
    let width = norm.weight.value.columns
    return norm(x.reshaped(rows: x.count / width, columns: width)).reshaped(rows: x.rows, columns: x.columns)
  }

  /// `context` with the `i`-th head's columns scaled by `weights[i]` (unchanged for `nil`).
  func weighted(_ context: Matrix<Scalar>, _ weights: [Scalar]?) -> Matrix<Scalar> {
    guard let weights else { return context }
    let width = pattern.valueDimensions
    precondition(
      weights.count * width == context.columns,
      "MultiHeadAttention: \(weights.count) head weights for \(context.columns / width) heads that run")
    var result = context
    for (i, w) in weights.enumerated() {
      result.setColumns(i * width..<(i + 1) * width, to: context.columns(i * width..<(i + 1) * width) * w)
    }
    return result
  }

  /// Visits `q_proj`, `k_proj`, `v_proj`, `o_proj`.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    query.visitParameters(prefix: Self._join(prefix, "q_proj"), body)
    key.visitParameters(prefix: Self._join(prefix, "k_proj"), body)
    value.visitParameters(prefix: Self._join(prefix, "v_proj"), body)
    output.visitParameters(prefix: Self._join(prefix, "o_proj"), body)
  }

  // MARK: Head selection

  /// The projections and pattern that run: all of this layer's, or for `activeHeads` the
  /// rows of `W_q` of those heads, the rows of `W_k`, `W_v` of the key/value head each
  /// reads (repeated per active head, so the pattern becomes multi-head over the active
  /// heads) and the columns of `W_o` of those heads.
  struct Projections {
    var query: Linear<Scalar>, key: Linear<Scalar>, value: Linear<Scalar>, output: Linear<Scalar>
    var pattern: ScaledDotProductAttention
  }

  func projections(_ activeHeads: [Int]?) -> Projections {
    guard let heads = activeHeads else {
      return Projections(query: query, key: key, value: value, output: output, pattern: pattern)
    }
    precondition(
      !heads.isEmpty && zip(heads, heads.dropFirst()).allSatisfy { $0 < $1 }
        && heads.allSatisfy {
          (0..<pattern.heads).contains($0)
        }, "MultiHeadAttention: active heads \(heads) must be sorted, distinct and in 0..<\(pattern.heads)")
    let groups = heads.map(pattern.kvHead(of:))
    var selected = pattern
    selected.sinks = nil
    (selected.heads, selected.kvHeads) = (heads.count, heads.count)
    selected.sinks = pattern.sinks.map { sinks in heads.map { sinks[$0] } }
    return Projections(
      query: Self.rows(of: query, blocks: heads, width: pattern.keyDimensions),
      key: Self.rows(of: key, blocks: groups, width: pattern.keyDimensions),
      value: Self.rows(of: value, blocks: groups, width: pattern.valueDimensions),
      output: Self.columns(of: output, blocks: heads, width: pattern.valueDimensions), pattern: selected)
  }

  /// After a backward pass on `projections(activeHeads)`, moves their gradients into this
  /// layer's parameters.
  mutating func absorb(_ p: Projections, _ activeHeads: [Int]?) {
    guard let heads = activeHeads else {
      (query, key, value, output) = (p.query, p.key, p.value, p.output)
      return
    }
    let groups = heads.map(pattern.kvHead(of:))
    Self.addRowGradients(p.query, into: &query, blocks: heads, width: pattern.keyDimensions)
    Self.addRowGradients(p.key, into: &key, blocks: groups, width: pattern.keyDimensions)
    Self.addRowGradients(p.value, into: &value, blocks: groups, width: pattern.valueDimensions)
    if let gradient = p.output.bias?.gradient { output.bias!.accumulateGradient { $0.add(gradient) } }
    if let gradient = p.output.weight.gradient {
      output.weight.accumulateGradient { full in
        for (i, h) in heads.enumerated() {
          full.addColumns(
            h * pattern.valueDimensions..<(h + 1) * pattern.valueDimensions,
            gradient.columns(i * pattern.valueDimensions..<(i + 1) * pattern.valueDimensions))
        }
      }
    }
  }

  static func rowIndices(_ blocks: [Int], width: Int) -> [Int] {
    blocks.flatMap { $0 * width..<($0 + 1) * width }
  }

  static func rows(of layer: Linear<Scalar>, blocks: [Int], width: Int) -> Linear<Scalar> {
    let indices = rowIndices(blocks, width: width)
    var selected = Linear(
      weight: layer.weight.value.gatheringRows(indices),
      bias: layer.bias.map { bias in Matrix(row: indices.map { bias.value[0, $0] }) })
    selected.weight.isTrainable = layer.weight.isTrainable
    if layer.bias != nil { selected.bias!.isTrainable = layer.bias!.isTrainable }
    return selected
  }

  static func columns(of layer: Linear<Scalar>, blocks: [Int], width: Int) -> Linear<Scalar> {
    var weight = Matrix<Scalar>(rows: layer.outputDimensions, columns: blocks.count * width)
    for (i, h) in blocks.enumerated() {
      weight.setColumns(
        i * width..<(i + 1) * width, to: layer.weight.value.columns(h * width..<(h + 1) * width))
    }
    var selected = Linear(weight: weight, bias: layer.bias?.value)
    selected.weight.isTrainable = layer.weight.isTrainable
    if layer.bias != nil { selected.bias!.isTrainable = layer.bias!.isTrainable }
    return selected
  }

  static func addRowGradients(
    _ compact: Linear<Scalar>, into layer: inout Linear<Scalar>, blocks: [Int], width: Int
  ) {
    let indices = rowIndices(blocks, width: width)
    if let gradient = compact.weight.gradient {
      layer.weight.accumulateGradient { $0.scatterAddRows(gradient, to: indices) }
    }
    if let gradient = compact.bias?.gradient {
      layer.bias!.accumulateGradient { full in
        var row = full
        for (i, index) in indices.enumerated() { row[0, index] += gradient[0, i] }
        full = row
      }
    }
  }
}
