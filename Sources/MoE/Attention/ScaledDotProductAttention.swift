import Linalg

/// Causal scaled dot-product attention over several query heads that share key/value
/// heads (Vaswani et al. 2017; grouped-query attention, Ainslie et al. 2023, arXiv
/// 2305.13245), optionally limited to a local window, for one sequence:
/// `O_h = softmax(scale · Q_h K_gᵀ + M) V_g`, `g = h / (heads / kvHeads)`, where the mask
/// `M` is `−∞` unless the key's position `j` satisfies `j ≤ i` (causal) and, with a
/// window `w`, `j > i − w` (the `w` most recent positions, the query's own included), and,
/// with chunks of `c`, `⌊j/c⌋ = ⌊i/c⌋`.
///
/// Queries are `q` (`Tq × heads·Dk`) at positions `queryStart ..< queryStart + Tq` of the
/// sequence whose keys `k` (`S × kvHeads·Dk`) and values `v` (`S × kvHeads·Dv`) sit at
/// positions `0 ..< S` — prefill is `queryStart = 0, S = Tq`; a decode step over a cache is
/// `queryStart = S − Tq`. The result is `Tq × heads·Dv`. Columns of `v` beyond
/// `kvHeads·Dv` are ignored, so values can be read in place from a wider matrix (MLA's
/// cache, whose latent sits beside its RoPE key).
///
/// Scores and values are GEMMs on blocks of `queryBlock` queries against just the keys
/// they may see, so causal attention costs about half of the full `Tq × S` product and
/// windowed attention `Tq × w`; keys and values are read in place as column blocks (no
/// copy per head). `activeHeads` runs only those query heads (the others'
/// outputs are zero and cost nothing): head-sparse attention.
///
/// **Sinks** (gpt-oss): with `sinks`, head `h`'s softmax runs over its scores and one more
/// logit `s_h` that attends to nothing, `P_hij = exp(S_ij) / (exp(s_h) + Σ_j exp(S_ij))`, so a
/// head may put weight nowhere (Xiao et al. 2023, "Efficient Streaming Language Models with
/// Attention Sinks", arXiv 2309.17453; OpenAI 2025, gpt-oss model card). The sinks are fixed:
/// the backward pass gives the gradients of `q`, `k` and `v` through them, not their own.
public struct ScaledDotProductAttention: Sendable, Equatable {
  /// Query heads `H`.
  public var heads: Int
  /// Key/value heads; divides `heads` (equal: multi-head attention; 1: multi-query).
  public var kvHeads: Int
  /// `Dk`, the width of a query or key head.
  public var keyDimensions: Int
  /// `Dv`, the width of a value head.
  public var valueDimensions: Int
  /// The local window `w`, or `nil` for full causal attention.
  public var window: Int?
  /// The chunk length `c` of chunked attention (Llama 4), or `nil`: a query at position `i`
  /// then sees only keys of its own chunk, `⌊j/c⌋ = ⌊i/c⌋`.
  public var chunk: Int? {
    didSet {
      precondition((chunk ?? 1) >= 1, "ScaledDotProductAttention: chunk \(chunk ?? 0) must be at least 1")
    }
  }
  /// The factor on `Q Kᵀ` (`1/√Dk` unless given).
  public var scale: Double
  /// One sink logit per query head, or `nil` for none (see the type's documentation).
  public var sinks: [Double]? {
    didSet {
      precondition(
        sinks == nil || sinks!.count == heads,
        "ScaledDotProductAttention: \(sinks?.count ?? 0) sinks for \(heads) heads")
    }
  }

  /// Queries per score block.
  public static let queryBlock = 64

  /// The attention pattern of `heads` query heads over `kvHeads` key/value heads.
  ///
  /// - Precondition: `kvHeads` divides `heads`; widths positive; `window ≥ 1` if given.
  public init(
    heads: Int, kvHeads: Int, keyDimensions: Int, valueDimensions: Int, window: Int? = nil,
    scale: Double? = nil
  ) {
    precondition(
      heads > 0 && kvHeads > 0 && heads % kvHeads == 0,
      "ScaledDotProductAttention: \(kvHeads) key/value heads must divide \(heads) heads")
    precondition(
      keyDimensions > 0 && valueDimensions > 0,
      "ScaledDotProductAttention: head widths \(keyDimensions), \(valueDimensions) must be positive")
    precondition((window ?? 1) >= 1, "ScaledDotProductAttention: window \(window ?? 0) must be at least 1")
    self.heads = heads
    self.kvHeads = kvHeads
    self.keyDimensions = keyDimensions
    self.valueDimensions = valueDimensions
    self.window = window
    self.scale = scale ?? 1 / Double(keyDimensions).squareRoot()
  }

  /// The key/value head that query head `h` reads.
  public func kvHead(of h: Int) -> Int { h / (heads / kvHeads) }

  /// The keys query position `position` may see: `max(0, position − w + 1) ... position`,
  /// starting no earlier than the position's chunk.
  public func visibleKeys(at position: Int) -> ClosedRange<Int> {
    let windowStart = window.map { Swift.max(0, position - $0 + 1) } ?? 0
    return Swift.max(windowStart, chunk.map { position / $0 * $0 } ?? 0)...position
  }

  /// The attention output (`Tq × heads·Dv`); see the type's documentation.
  ///
  /// The query heads that share a key/value head run together: their queries are
  /// stacked (row `i·m + j` is query `i` of the group's `j`-th head), so each block costs
  /// one score GEMM and one value GEMM per group, and a decode step with few queries
  /// still multiplies a tall block against the keys once, not once per head.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func callAsFunction<Scalar: BLASScalar>(
    _ q: Matrix<Scalar>, _ k: Matrix<Scalar>, _ v: Matrix<Scalar>, queryStart: Int, activeHeads: [Int]? = nil
  ) -> Matrix<Scalar> {
    check(q, k, v, queryStart: queryStart)
    var output = Matrix<Scalar>(rows: q.rows, columns: heads * valueDimensions)
    for (g, members) in groups(activeHeads) {
      let (keyColumns, valueColumns) = columns(of: g)
      let queries = Self.stack(q, heads: members, width: keyDimensions)
      var stacked = Matrix<Scalar>(rows: queries.rows, columns: valueDimensions)
      let m = members.count
      for block in blocks(queries: q.rows, queryStart: queryStart) {
        let rows = block.queries.lowerBound * m..<block.queries.upperBound * m
        let p = probabilities(queries[rows: rows], k[rows: block.keys], keyColumns, block, heads: members)
        gemm(
          p, columns: 0..<p.columns, v[rows: block.keys], columns: valueColumns, into: &stacked[rows: rows],
          columns: 0..<valueDimensions)
      }
      Self.unstack(stacked, heads: members, width: valueDimensions, into: &output)
    }
    return output
  }

  /// The backward pass: from `∂L/∂O` (`Tq × heads·Dv`) and the forward pass's inputs, the
  /// gradients of `q`, `k` and `v`, recomputing the probabilities block by block:
  /// `∂V_g += Pᵀ ∂O_h`, `∂S = scale · softmax′(∂O_h V_gᵀ)`, `∂Q_h = ∂S K_g`,
  /// `∂K_g += ∂Sᵀ Q_h` (each group's heads stacked as in the forward pass).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward<Scalar: BLASScalar>(
    _ dOutput: Matrix<Scalar>, _ q: Matrix<Scalar>, _ k: Matrix<Scalar>, _ v: Matrix<Scalar>, queryStart: Int,
    activeHeads: [Int]? = nil
  ) -> (dq: Matrix<Scalar>, dk: Matrix<Scalar>, dv: Matrix<Scalar>) {
    check(q, k, v, queryStart: queryStart)
    var dq = Matrix<Scalar>(rows: q.rows, columns: q.columns)
    var dk = Matrix<Scalar>(rows: k.rows, columns: k.columns)
    var dv = Matrix<Scalar>(rows: v.rows, columns: v.columns)
    for (g, members) in groups(activeHeads) {
      let (keyColumns, valueColumns) = columns(of: g)
      let queries = Self.stack(q, heads: members, width: keyDimensions)
      let dStacked = Self.stack(dOutput, heads: members, width: valueDimensions)
      var dQueries = Matrix<Scalar>(rows: queries.rows, columns: keyDimensions)
      let m = members.count
      for block in blocks(queries: q.rows, queryStart: queryStart) {
        let rows = block.queries.lowerBound * m..<block.queries.upperBound * m
        let blockQueries = queries[rows: rows]
        let (keys, values) = (k[rows: block.keys], v[rows: block.keys])
        let p = probabilities(blockQueries, keys, keyColumns, block, heads: members)
        let dBlock = dStacked[rows: rows]
        let all = (p: 0..<p.columns, key: 0..<keyDimensions, value: 0..<valueDimensions)
        gemm(
          p, columns: all.p, transposeA: true, dBlock, columns: all.value, beta: 1,
          into: &dv[rows: block.keys],
          columns: valueColumns)
        var dProbabilities = Matrix<Scalar>(rows: p.rows, columns: p.columns)
        gemm(
          dBlock, columns: all.value, values, columns: valueColumns, transposeB: true, into: &dProbabilities,
          columns: all.p)
        var dScores = p.softmaxRowsBackward(dProbabilities)
        dScores *= Scalar(scale)
        gemm(
          dScores, columns: all.p, keys, columns: keyColumns, into: &dQueries[rows: rows], columns: all.key)
        gemm(
          dScores, columns: all.p, transposeA: true, blockQueries, columns: all.key, beta: 1,
          into: &dk[rows: block.keys], columns: keyColumns)
      }
      Self.unstack(dQueries, heads: members, width: keyDimensions, into: &dq)
    }
    return (dq, dk, dv)
  }

  /// Key/value head `g`'s columns in `k` and in `v`.
  func columns(of g: Int) -> (key: Range<Int>, value: Range<Int>) {
    (g * keyDimensions..<(g + 1) * keyDimensions, g * valueDimensions..<(g + 1) * valueDimensions)
  }

  /// Each key/value head with the active query heads that read it.
  func groups(_ activeHeads: [Int]?) -> [(Int, [Int])] {
    let active = activeHeads ?? Array(0..<heads)
    return (0..<kvHeads).compactMap { g in
      let members = active.filter { kvHead(of: $0) == g }
      return members.isEmpty ? nil : (g, members)
    }
  }

  /// Rows `i·m + j` = head `heads[j]`'s `width` features of row `i` of `x`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  static func stack<Scalar: BLASScalar>(_ x: Matrix<Scalar>, heads: [Int], width: Int) -> Matrix<Scalar> {
    let (m, n) = (heads.count, x.columns)
    return x.withUnsafeBufferPointer { source in
      Matrix(rows: x.rows * m, columns: width) { target in
        for i in 0..<x.rows {
          for (j, h) in heads.enumerated() {
            (target.baseAddress! + (i * m + j) * width).initialize(
              from: source.baseAddress! + i * n + h * width, count: width)
          }
        }
      }
    }
  }

  /// The inverse of `stack`: writes row `i·m + j` of `stacked` into head `heads[j]`'s
  /// columns of row `i` of `output`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  static func unstack<Scalar: BLASScalar>(
    _ stacked: Matrix<Scalar>, heads: [Int], width: Int, into output: inout Matrix<Scalar>
  ) {
    let (m, n, rows) = (heads.count, output.columns, output.rows)
    stacked.withUnsafeBufferPointer { source in
      output.withUnsafeMutableBufferPointer { target in
        for i in 0..<rows {
          for (j, h) in heads.enumerated() {
            (target.baseAddress! + i * n + h * width).update(
              from: source.baseAddress! + (i * m + j) * width, count: width)
          }
        }
      }
    }
  }

  // MARK: Blocks

  /// A block of queries and the keys any of them may see.
  struct Block {
    var queries: Range<Int>
    var keys: Range<Int>
    /// The position of the block's first query.
    var firstPosition: Int
  }

  func blocks(queries: Int, queryStart: Int) -> [Block] {
    stride(from: 0, to: queries, by: Self.queryBlock).map { start in
      let end = Swift.min(queries, start + Self.queryBlock)
      let (first, last) = (queryStart + start, queryStart + end - 1)
      return Block(
        queries: start..<end, keys: visibleKeys(at: first).lowerBound..<last + 1, firstPosition: first)
    }
  }

  /// `softmax(scale · Q Kᵀ + M)` for one block of stacked queries (one row per query
  /// position and head of `heads`) against the block's keys (`keyColumns` of `k`, one head),
  /// each row's softmax over the head's sink too when the pattern has sinks.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func probabilities<Scalar: BLASScalar>(
    _ q: Matrix<Scalar>, _ k: Matrix<Scalar>, _ keyColumns: Range<Int>, _ block: Block, heads: [Int]
  ) -> Matrix<Scalar> {
    let headsPerQuery = heads.count
    var scores = Matrix<Scalar>(rows: q.rows, columns: k.rows)
    gemm(
      q, columns: 0..<keyDimensions, k, columns: keyColumns, transposeB: true, alpha: Scalar(scale),
      into: &scores,
      columns: 0..<k.rows)
    let n = scores.columns
    scores.withUnsafeMutableBufferPointer { s in
      for i in 0..<q.rows {
        let visible = visibleKeys(at: block.firstPosition + i / headsPerQuery)
        let first = Swift.min(n, Swift.max(0, visible.lowerBound - block.keys.lowerBound))
        let last = Swift.max(first, Swift.min(n, visible.upperBound - block.keys.lowerBound + 1))
        for j in 0..<first { s[i * n + j] = -.infinity }
        for j in last..<n { s[i * n + j] = -.infinity }
      }
    }
    guard let sinks else {
      scores.formSoftmaxRows()
      return scores
    }
    scores.withUnsafeMutableBufferPointer { s in
      for i in 0..<q.rows {
        let sink = Scalar(sinks[heads[i % headsPerQuery]])
        let row = i * n..<(i + 1) * n
        let largest = s[row].reduce(sink) { Swift.max($0, $1) }
        var total = Scalar.exp(sink - largest)
        for j in row {
          s[j] = Scalar.exp(s[j] - largest)
          total += s[j]
        }
        for j in row { s[j] /= total }
      }
    }
    return scores
  }

  func check<Scalar: BLASScalar>(
    _ q: Matrix<Scalar>, _ k: Matrix<Scalar>, _ v: Matrix<Scalar>, queryStart: Int
  ) {
    precondition(
      q.columns == heads * keyDimensions && k.columns == kvHeads * keyDimensions
        && v.columns >= kvHeads * valueDimensions && k.rows == v.rows,
      "ScaledDotProductAttention: q \(q.rows)×\(q.columns), k \(k.rows)×\(k.columns), v \(v.rows)×\(v.columns) do not fit \(heads) heads of \(keyDimensions) over \(kvHeads) key/value heads of \(valueDimensions)"
    )
    precondition(
      queryStart >= 0 && queryStart + q.rows <= k.rows,
      "ScaledDotProductAttention: queries at \(queryStart)..<\(queryStart + q.rows) need keys there, have \(k.rows)"
    )
  }
}
