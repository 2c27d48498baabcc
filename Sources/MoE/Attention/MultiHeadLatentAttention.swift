import Linalg

/// Multi-head latent attention (MLA; DeepSeek-V2, arXiv 2405.04434), with Hugging Face's
/// weight names. Keys and values come from one compressed latent per token,
/// `c = RMSNorm(x·W_kvaᵀ[:r])` (`kv_a_proj_with_mqa`, `kv_a_layernorm`), plus a single
/// decoupled RoPE key `k_pe = RoPE(x·W_kvaᵀ[r:])` shared by every head:
/// `[k_nope_h | v_h] = c·W_kvb,hᵀ` (`kv_b_proj`), `K_h = [k_nope_h | k_pe]`. Queries come
/// from `q_proj`, or with `q_lora_rank` from `q_b_proj(RMSNorm(q_a_proj(x)))`, each head
/// split into `[q_nope_h (Dn) | q_pe_h (Dr)]` with RoPE on `q_pe`. Scores are scaled by
/// `1/√(Dn + Dr)`; `o_proj` maps the `H·Dv` head outputs back to `d`.
///
/// **The cache** holds only `c` and `k_pe`: `r + Dr` scalars per token and layer against
/// `2·H·D` for multi-head attention. **Decoding** works in the latent space with the
/// up-projections absorbed: `q_nope_h·k_nope_hᵀ = (q_nope_h·W_uk,h)·cᵀ` and
/// `P·v_h = (P·c)·W_uv,hᵀ`, so each step is multi-query attention of queries
/// `[q_nope_h·W_uk,h | q_pe_h]` over keys `[c | k_pe]` and values `c`, followed by each
/// head's `W_uv,h` — never materialising a key or value per head.
///
/// RoPE uses the rotate-half layout of `RotaryEmbedding`; DeepSeek's checkpoints store the
/// RoPE features interleaved (`transformers` permutes them before rotating), so loading
/// one would permute those rows of `q_b_proj` and `kv_a_proj_with_mqa` first.
public struct MultiHeadLatentAttention<Scalar: BLASScalar>: Sendable, ParameterContainer {
  /// `q_proj` (`H·(Dn + Dr) × d`), when there is no query compression.
  public var query: Linear<Scalar>?
  /// `q_a_proj` (`r_q × d`), when queries are compressed (`q_lora_rank`).
  public var queryDown: Linear<Scalar>?
  /// `q_a_layernorm` (over `r_q`), when queries are compressed.
  public var queryNorm: RMSNorm<Scalar>?
  /// `q_b_proj` (`H·(Dn + Dr) × r_q`), when queries are compressed.
  public var queryUp: Linear<Scalar>?
  /// `kv_a_proj_with_mqa` (`(r + Dr) × d`).
  public var keyValueDown: Linear<Scalar>
  /// `kv_a_layernorm` (over `r`).
  public var keyValueNorm: RMSNorm<Scalar>
  /// `kv_b_proj` (`H·(Dn + Dv) × r`).
  public var keyValueUp: Linear<Scalar>
  /// `o_proj` (`d × H·Dv`).
  public var output: Linear<Scalar>
  /// `H`.
  public let heads: Int
  /// `Dn` (`qk_nope_head_dim`), `Dr` (`qk_rope_head_dim`), `Dv` (`v_head_dim`), `r`
  /// (`kv_lora_rank`).
  public let nopeDimensions: Int, ropeDimensions: Int, valueDimensions: Int, latentRank: Int
  /// The rotation of `q_pe` and `k_pe`.
  public var rotary: RotaryEmbedding
  /// The factor on the scores: `1/√(Dn + Dr)`, times `mscale²` under DeepSeek's YaRN
  /// (`mscale_all_dim`).
  public var scale: Double

  /// MLA from its parts (`query` xor `queryDown` + `queryNorm` + `queryUp`).
  ///
  /// - Precondition: the projections' shapes fit the head counts and widths.
  public init(
    query: Linear<Scalar>?, queryDown: Linear<Scalar>?, queryNorm: RMSNorm<Scalar>?, queryUp: Linear<Scalar>?,
    keyValueDown: Linear<Scalar>, keyValueNorm: RMSNorm<Scalar>, keyValueUp: Linear<Scalar>,
    output: Linear<Scalar>,
    heads: Int, nopeDimensions: Int, valueDimensions: Int, rotary: RotaryEmbedding, scale: Double? = nil
  ) {
    let (r, dr) = (keyValueNorm.weight.value.columns, rotary.headDimensions)
    let queryWidth = heads * (nopeDimensions + dr)
    precondition(
      (query != nil) != (queryDown != nil && queryNorm != nil && queryUp != nil)
        && (query?.outputDimensions ?? queryUp!.outputDimensions) == queryWidth
        && keyValueDown.outputDimensions == r + dr
        && keyValueUp.inputDimensions == r
        && keyValueUp.outputDimensions == heads * (nopeDimensions + valueDimensions)
        && output.inputDimensions == heads * valueDimensions,
      "MultiHeadLatentAttention: projections do not fit \(heads) heads of \(nopeDimensions)+\(dr) (values \(valueDimensions)) over a latent of \(r)"
    )
    (self.query, self.queryDown, self.queryNorm, self.queryUp) = (query, queryDown, queryNorm, queryUp)
    (self.keyValueDown, self.keyValueNorm, self.keyValueUp, self.output) = (
      keyValueDown, keyValueNorm, keyValueUp, output
    )
    self.heads = heads
    (self.nopeDimensions, self.ropeDimensions) = (nopeDimensions, dr)
    (self.valueDimensions, self.latentRank) = (valueDimensions, r)
    self.rotary = rotary
    self.scale = scale ?? 1 / Double(nopeDimensions + dr).squareRoot()
  }

  /// Randomly initialised MLA of width `dimensions`.
  ///
  /// - Parameters:
  ///   - dimensions: the model width `d`.
  ///   - heads: query heads.
  ///   - queryRank: `q_lora_rank`, or `nil` for a plain `q_proj`.
  ///   - latentRank: `kv_lora_rank`, the cached latent's width.
  ///   - nopeDimensions: each head's query/key width without RoPE.
  ///   - ropeDimensions: the shared rotary key's width.
  ///   - valueDimensions: each head's value width.
  ///   - ropeBase: the RoPE base θ.
  ///   - generator: the random source of the initial weights.
  public init(
    dimensions: Int, heads: Int, queryRank: Int?, latentRank: Int, nopeDimensions: Int, ropeDimensions: Int,
    valueDimensions: Int, ropeBase: Double = 10_000, using generator: inout some RandomNumberGenerator
  ) {
    precondition(
      heads > 0 && latentRank > 0 && nopeDimensions >= 0 && ropeDimensions > 0 && valueDimensions > 0,
      "MultiHeadLatentAttention: heads \(heads), ranks and head widths must be positive")
    let queryWidth = heads * (nopeDimensions + ropeDimensions)
    if let queryRank {
      queryDown = Linear(
        inputDimensions: dimensions, outputDimensions: queryRank, bias: false, using: &generator)
      queryNorm = RMSNorm(dimensions: queryRank)
      queryUp = Linear(
        inputDimensions: queryRank, outputDimensions: queryWidth, bias: false, using: &generator)
    } else {
      query = Linear(
        inputDimensions: dimensions, outputDimensions: queryWidth, bias: false, using: &generator)
    }
    keyValueDown = Linear(
      inputDimensions: dimensions, outputDimensions: latentRank + ropeDimensions, bias: false,
      using: &generator)
    keyValueNorm = RMSNorm(dimensions: latentRank)
    keyValueUp = Linear(
      inputDimensions: latentRank, outputDimensions: heads * (nopeDimensions + valueDimensions), bias: false,
      using: &generator)
    output = Linear(
      inputDimensions: heads * valueDimensions, outputDimensions: dimensions, bias: false, using: &generator)
    self.heads = heads
    (self.nopeDimensions, self.ropeDimensions) = (nopeDimensions, ropeDimensions)
    (self.valueDimensions, self.latentRank) = (valueDimensions, latentRank)
    rotary = RotaryEmbedding(headDimensions: ropeDimensions, base: ropeBase)
    scale = 1 / Double(nopeDimensions + ropeDimensions).squareRoot()
  }

  /// `d`.
  public var dimensions: Int { keyValueDown.inputDimensions }
  /// `Dn + Dr`, the width of a query or key head.
  var keyDimensions: Int { nopeDimensions + ropeDimensions }

  /// An empty cache for one sequence: `r + Dr` scalars per token (`c`, then `k_pe`).
  public func makeCache(capacity: Int = 16) -> KVCache<Scalar> {
    KVCache(keyWidth: latentRank + ropeDimensions, valueWidth: 0, capacity: capacity)
  }

  /// Self-attention over every sequence of `layout` (the naive form: keys and values per
  /// head).
  public func callAsFunction(_ x: Matrix<Scalar>, layout: SequenceLayout) -> Matrix<Scalar> {
    forwardForTraining(x, layout: layout).output
  }

  /// Attends the next `x.rows` tokens of the cache's sequence to every token so far in the
  /// absorbed form, appending their latents and RoPE keys to `cache`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ x: Matrix<Scalar>, cache: inout KVCache<Scalar>) -> Matrix<Scalar> {
    precondition(
      cache.keyWidth == latentRank + ropeDimensions && cache.valueWidth == 0,
      "MultiHeadLatentAttention: cache widths \(cache.keyWidth), \(cache.valueWidth) for r + Dr = \(latentRank + ropeDimensions)"
    )
    let start = cache.count
    let positions = Array(start..<start + x.rows)
    let q = queries(x, positions: positions)
    let (latent, ropeKey) = latentAndRopeKey(x, positions: positions)
    var entry = Matrix<Scalar>(rows: x.rows, columns: latentRank + ropeDimensions)
    entry.setColumns(0..<latentRank, to: latent)
    entry.setColumns(latentRank..<latentRank + ropeDimensions, to: ropeKey)
    cache.append(keys: entry, values: Matrix(rows: x.rows, columns: 0))

    // Multi-query attention in latent space: query head h is [q_nope_h·W_uk,h | q_pe_h].
    let (dk, r) = (keyDimensions, latentRank)
    var absorbed = Matrix<Scalar>(rows: x.rows, columns: heads * (r + ropeDimensions))
    for h in 0..<heads {
      let upKey = keyValueUp.weight.value[
        rows: h * (nopeDimensions + valueDimensions)..<h * (nopeDimensions + valueDimensions) + nopeDimensions
      ]
      absorbed.setColumns(
        h * (r + ropeDimensions)..<h * (r + ropeDimensions) + r,
        to: matmul(q.columns(h * dk..<h * dk + nopeDimensions), upKey))
      absorbed.setColumns(
        h * (r + ropeDimensions) + r..<(h + 1) * (r + ropeDimensions),
        to: q.columns(h * dk + nopeDimensions..<(h + 1) * dk))
    }
    let pattern = ScaledDotProductAttention(
      heads: heads, kvHeads: 1, keyDimensions: r + ropeDimensions, valueDimensions: r, scale: scale)
    // The values are the latent, the cache's first r columns, read in place.
    let latentContext = pattern(absorbed, cache.keys, cache.keys, queryStart: start)
    var context = Matrix<Scalar>(rows: x.rows, columns: heads * valueDimensions)
    for h in 0..<heads {
      let first = h * (nopeDimensions + valueDimensions) + nopeDimensions
      let upValue = keyValueUp.weight.value[rows: first..<first + valueDimensions]
      context.setColumns(
        h * valueDimensions..<(h + 1) * valueDimensions,
        to: matmul(latentContext.columns(h * r..<(h + 1) * r), upValue, transposeB: true))
    }
    return output(context)
  }

  // MARK: Training (the naive form)

  /// What `backward` needs from the forward pass.
  public struct Cache: Sendable {
    /// The input.
    public var input: Matrix<Scalar>
    /// The sequences.
    public var layout: SequenceLayout
    /// `q_a_proj(x)` (query compression only).
    public var queryLatent: Matrix<Scalar>?
    /// `kv_a_proj_with_mqa(x)` before the norm and RoPE.
    public var keyValueLatent: Matrix<Scalar>
    /// `c`, the normalised latent.
    public var latent: Matrix<Scalar>
    /// Per-head queries, keys (`T × H·(Dn + Dr)`) and values (`T × H·Dv`).
    public var q: Matrix<Scalar>, k: Matrix<Scalar>, v: Matrix<Scalar>
    /// The attention output before `o_proj`.
    public var context: Matrix<Scalar>
  }

  /// The forward pass over `layout`, keeping what `backward` needs.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forwardForTraining(_ x: Matrix<Scalar>, layout: SequenceLayout) -> (
    output: Matrix<Scalar>, cache: Cache
  ) {
    precondition(
      x.columns == dimensions && x.rows == layout.tokens,
      "MultiHeadLatentAttention: input \(x.rows)×\(x.columns) for \(layout.tokens) tokens of width \(dimensions)"
    )
    let positions = layout.positions
    let queryLatent = queryDown?(x)
    let q = queries(x, positions: positions)
    let keyValueLatent = keyValueDown(x)
    let (latent, ropeKey) = latentAndRopeKey(x, positions: positions, projected: keyValueLatent)
    let up = keyValueUp(latent)
    let (dk, dnv) = (keyDimensions, nopeDimensions + valueDimensions)
    var k = Matrix<Scalar>(rows: x.rows, columns: heads * dk)
    var v = Matrix<Scalar>(rows: x.rows, columns: heads * valueDimensions)
    for h in 0..<heads {
      k.setColumns(h * dk..<h * dk + nopeDimensions, to: up.columns(h * dnv..<h * dnv + nopeDimensions))
      k.setColumns(h * dk + nopeDimensions..<(h + 1) * dk, to: ropeKey)
      v.setColumns(
        h * valueDimensions..<(h + 1) * valueDimensions,
        to: up.columns(h * dnv + nopeDimensions..<(h + 1) * dnv))
    }
    let pattern = naivePattern
    var context = Matrix<Scalar>(rows: x.rows, columns: heads * valueDimensions)
    for rows in layout.ranges {
      context[rows: rows] = pattern(q[rows: rows], k[rows: rows], v[rows: rows], queryStart: 0)
    }
    let cache = Cache(
      input: x, layout: layout, queryLatent: queryLatent, keyValueLatent: keyValueLatent, latent: latent,
      q: q,
      k: k, v: v, context: context)
    return (output(context), cache)
  }

  /// The backward pass of the naive form: accumulates every projection's and norm's
  /// gradients and returns `∂x`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func backward(_ dy: Matrix<Scalar>, cache: Cache) -> Matrix<Scalar> {
    let dContext = output.backward(dy, input: cache.context)
    var dq = Matrix<Scalar>(rows: cache.q.rows, columns: cache.q.columns)
    var dk = Matrix<Scalar>(rows: cache.k.rows, columns: cache.k.columns)
    var dv = Matrix<Scalar>(rows: cache.v.rows, columns: cache.v.columns)
    for rows in cache.layout.ranges {
      let g = naivePattern.backward(
        dContext[rows: rows], cache.q[rows: rows], cache.k[rows: rows], cache.v[rows: rows], queryStart: 0)
      (dq[rows: rows], dk[rows: rows], dv[rows: rows]) = (g.dq, g.dk, g.dv)
    }
    let positions = cache.layout.positions
    let (dk1, dnv, t) = (keyDimensions, nopeDimensions + valueDimensions, cache.input.rows)
    // Queries: undo RoPE on each head's q_pe, then the query path.
    var dqPe = Matrix<Scalar>(rows: t, columns: heads * ropeDimensions)
    for h in 0..<heads {
      dqPe.setColumns(
        h * ropeDimensions..<(h + 1) * ropeDimensions,
        to: dq.columns(h * dk1 + nopeDimensions..<(h + 1) * dk1))
    }
    rotary.apply(&dqPe, positions: positions, inverse: true)
    for h in 0..<heads {
      dq.setColumns(
        h * dk1 + nopeDimensions..<(h + 1) * dk1,
        to: dqPe.columns(h * ropeDimensions..<(h + 1) * ropeDimensions))
    }
    let x = cache.input
    var dx: Matrix<Scalar>
    if query != nil {
      dx = query!.backward(dq, input: x)
    } else {
      let dNormalized = queryUp!.backward(dq, input: queryNorm!(cache.queryLatent!))
      dx = queryDown!.backward(queryNorm!.backward(dNormalized, input: cache.queryLatent!), input: x)
    }
    // Keys and values: k_nope and v go back through kv_b_proj, the shared k_pe sums heads.
    var dUp = Matrix<Scalar>(rows: t, columns: heads * dnv)
    var dRopeKey = Matrix<Scalar>(rows: t, columns: ropeDimensions)
    for h in 0..<heads {
      dUp.setColumns(h * dnv..<h * dnv + nopeDimensions, to: dk.columns(h * dk1..<h * dk1 + nopeDimensions))
      dUp.setColumns(
        h * dnv + nopeDimensions..<(h + 1) * dnv,
        to: dv.columns(h * valueDimensions..<(h + 1) * valueDimensions))
      dRopeKey.add(dk.columns(h * dk1 + nopeDimensions..<(h + 1) * dk1))
    }
    rotary.apply(&dRopeKey, positions: positions, inverse: true)
    let dLatent = keyValueUp.backward(dUp, input: cache.latent)
    var dKeyValueLatent = Matrix<Scalar>(rows: t, columns: latentRank + ropeDimensions)
    dKeyValueLatent.setColumns(
      0..<latentRank, to: keyValueNorm.backward(dLatent, input: cache.keyValueLatent.columns(0..<latentRank)))
    dKeyValueLatent.setColumns(latentRank..<latentRank + ropeDimensions, to: dRopeKey)
    dx.add(keyValueDown.backward(dKeyValueLatent, input: x))
    return dx
  }

  /// Visits `q_proj` (or `q_a_proj`, `q_a_layernorm`, `q_b_proj`), `kv_a_proj_with_mqa`,
  /// `kv_a_layernorm`, `kv_b_proj`, `o_proj`.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    if query != nil { query!.visitParameters(prefix: Self._join(prefix, "q_proj"), body) }
    if queryDown != nil {
      queryDown!.visitParameters(prefix: Self._join(prefix, "q_a_proj"), body)
      queryNorm!.visitParameters(prefix: Self._join(prefix, "q_a_layernorm"), body)
      queryUp!.visitParameters(prefix: Self._join(prefix, "q_b_proj"), body)
    }
    keyValueDown.visitParameters(prefix: Self._join(prefix, "kv_a_proj_with_mqa"), body)
    keyValueNorm.visitParameters(prefix: Self._join(prefix, "kv_a_layernorm"), body)
    keyValueUp.visitParameters(prefix: Self._join(prefix, "kv_b_proj"), body)
    output.visitParameters(prefix: Self._join(prefix, "o_proj"), body)
  }

  // MARK: Pieces

  var naivePattern: ScaledDotProductAttention {
    ScaledDotProductAttention(
      heads: heads, kvHeads: heads, keyDimensions: keyDimensions, valueDimensions: valueDimensions,
      scale: scale)
  }

  /// Per-head queries `[q_nope_h | RoPE(q_pe_h)]` (`T × H·(Dn + Dr)`).
  func queries(_ x: Matrix<Scalar>, positions: [Int]) -> Matrix<Scalar> {
    var q = query?(x) ?? queryUp!(queryNorm!(queryDown!(x)))
    var pe = Matrix<Scalar>(rows: x.rows, columns: heads * ropeDimensions)
    let dk = keyDimensions
    for h in 0..<heads {
      pe.setColumns(
        h * ropeDimensions..<(h + 1) * ropeDimensions, to: q.columns(h * dk + nopeDimensions..<(h + 1) * dk))
    }
    rotary.apply(&pe, positions: positions)
    for h in 0..<heads {
      q.setColumns(
        h * dk + nopeDimensions..<(h + 1) * dk, to: pe.columns(h * ropeDimensions..<(h + 1) * ropeDimensions))
    }
    return q
  }

  /// `c = RMSNorm(x·W_kvaᵀ[:r])` and `k_pe = RoPE(x·W_kvaᵀ[r:])`.
  func latentAndRopeKey(
    _ x: Matrix<Scalar>, positions: [Int], projected: Matrix<Scalar>? = nil
  ) -> (latent: Matrix<Scalar>, ropeKey: Matrix<Scalar>) {
    let down = projected ?? keyValueDown(x)
    var ropeKey = down.columns(latentRank..<latentRank + ropeDimensions)
    rotary.apply(&ropeKey, positions: positions)
    return (keyValueNorm(down.columns(0..<latentRank)), ropeKey)
  }
}
