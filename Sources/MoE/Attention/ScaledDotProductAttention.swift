import Linalg

/// Causal scaled dot-product attention over several query heads that share key/value
/// heads (Vaswani et al. 2017; grouped-query attention, Ainslie et al. 2023, arXiv
/// 2305.13245), optionally limited to a local window, for one sequence:
/// `O_h = softmax(scale · Q_h K_gᵀ + M) V_g`, `g = h / (heads / kvHeads)`, where the mask
/// `M` is `−∞` unless the key's position `j` satisfies `j ≤ i` (causal) and, with a
/// window `w`, `j > i − w` (the `w` most recent positions, the query's own included).
///
/// Queries are `q` (`Tq × heads·Dk`) at positions `queryStart ..< queryStart + Tq` of the
/// sequence whose keys `k` (`S × kvHeads·Dk`) and values `v` (`S × kvHeads·Dv`) sit at
/// positions `0 ..< S` — prefill is `queryStart = 0, S = Tq`; a decode step over a cache is
/// `queryStart = S − Tq`. The result is `Tq × heads·Dv`.
///
/// Scores and values are GEMMs on blocks of `queryBlock` queries against just the keys
/// they may see, so causal attention costs about half of the full `Tq × S` product and
/// windowed attention `Tq × w`. `activeHeads` runs only those query heads (the others'
/// outputs are zero and cost nothing): head-sparse attention.
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
  /// The factor on `Q Kᵀ` (`1/√Dk` unless given).
  public var scale: Double

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

  /// The keys query position `position` may see: `max(0, position − w + 1) ... position`.
  public func visibleKeys(at position: Int) -> ClosedRange<Int> {
    (window.map { Swift.max(0, position - $0 + 1) } ?? 0)...position
  }

  /// The attention output (`Tq × heads·Dv`); see the type's documentation.
  public func callAsFunction<Scalar: BLASScalar>(
    _ q: Matrix<Scalar>, _ k: Matrix<Scalar>, _ v: Matrix<Scalar>, queryStart: Int, activeHeads: [Int]? = nil
  ) -> Matrix<Scalar> {
    check(q, k, v, queryStart: queryStart)
    var output = Matrix<Scalar>(rows: q.rows, columns: heads * valueDimensions)
    var keys = [Matrix<Scalar>?](repeating: nil, count: kvHeads)
    var values = keys
    for h in activeHeads ?? Array(0..<heads) {
      let g = kvHead(of: h)
      if keys[g] == nil {
        keys[g] = k.columns(g * keyDimensions..<(g + 1) * keyDimensions)
        values[g] = v.columns(g * valueDimensions..<(g + 1) * valueDimensions)
      }
      let queries = q.columns(h * keyDimensions..<(h + 1) * keyDimensions)
      var head = Matrix<Scalar>(rows: q.rows, columns: valueDimensions)
      for block in blocks(queries: q.rows, queryStart: queryStart) {
        let p = probabilities(queries[rows: block.queries], keys[g]![rows: block.keys], block)
        gemm(p, values[g]![rows: block.keys], into: &head[rows: block.queries])
      }
      output.setColumns(h * valueDimensions..<(h + 1) * valueDimensions, to: head)
    }
    return output
  }

  /// The backward pass: from `∂L/∂O` (`Tq × heads·Dv`) and the forward pass's inputs, the
  /// gradients of `q`, `k` and `v`, recomputing the probabilities block by block:
  /// `∂V_g += Pᵀ ∂O_h`, `∂S = scale · softmax′(∂O_h V_gᵀ)`, `∂Q_h = ∂S K_g`,
  /// `∂K_g += ∂Sᵀ Q_h`.
  public func backward<Scalar: BLASScalar>(
    _ dOutput: Matrix<Scalar>, _ q: Matrix<Scalar>, _ k: Matrix<Scalar>, _ v: Matrix<Scalar>, queryStart: Int,
    activeHeads: [Int]? = nil
  ) -> (dq: Matrix<Scalar>, dk: Matrix<Scalar>, dv: Matrix<Scalar>) {
    check(q, k, v, queryStart: queryStart)
    var dq = Matrix<Scalar>(rows: q.rows, columns: q.columns)
    var dk = Matrix<Scalar>(rows: k.rows, columns: k.columns)
    var dv = Matrix<Scalar>(rows: v.rows, columns: v.columns)
    for h in activeHeads ?? Array(0..<heads) {
      let g = kvHead(of: h)
      let (keyColumns, valueColumns) = (
        g * keyDimensions..<(g + 1) * keyDimensions, g * valueDimensions..<(g + 1) * valueDimensions
      )
      let keys = k.columns(keyColumns)
      let values = v.columns(valueColumns)
      let queries = q.columns(h * keyDimensions..<(h + 1) * keyDimensions)
      let dHead = dOutput.columns(h * valueDimensions..<(h + 1) * valueDimensions)
      var dQueries = Matrix<Scalar>(rows: q.rows, columns: keyDimensions)
      var dKeys = Matrix<Scalar>(rows: k.rows, columns: keyDimensions)
      var dValues = Matrix<Scalar>(rows: v.rows, columns: valueDimensions)
      for block in blocks(queries: q.rows, queryStart: queryStart) {
        let blockQueries = queries[rows: block.queries]
        let p = probabilities(blockQueries, keys[rows: block.keys], block)
        let dBlock = dHead[rows: block.queries]
        gemm(p, transposeA: true, dBlock, beta: 1, into: &dValues[rows: block.keys])
        var dScores = p.softmaxRowsBackward(matmul(dBlock, values[rows: block.keys], transposeB: true))
        dScores *= Scalar(scale)
        gemm(dScores, keys[rows: block.keys], into: &dQueries[rows: block.queries])
        gemm(dScores, transposeA: true, blockQueries, beta: 1, into: &dKeys[rows: block.keys])
      }
      dq.setColumns(h * keyDimensions..<(h + 1) * keyDimensions, to: dQueries)
      dk.addColumns(keyColumns, dKeys)
      dv.addColumns(valueColumns, dValues)
    }
    return (dq, dk, dv)
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

  /// `softmax(scale · Q Kᵀ + M)` for one block (`queries × keys` of the block).
  func probabilities<Scalar: BLASScalar>(_ q: Matrix<Scalar>, _ k: Matrix<Scalar>, _ block: Block) -> Matrix<
    Scalar
  > {
    var scores = Matrix<Scalar>(rows: q.rows, columns: k.rows)
    gemm(q, k, transposeB: true, alpha: Scalar(scale), into: &scores)
    let n = scores.columns
    scores.withUnsafeMutableBufferPointer { s in
      for i in 0..<q.rows {
        let visible = visibleKeys(at: block.firstPosition + i)
        for j in 0..<n where !visible.contains(block.keys.lowerBound + j) { s[i * n + j] = -.infinity }
      }
    }
    scores.formSoftmaxRows()
    return scores
  }

  func check<Scalar: BLASScalar>(
    _ q: Matrix<Scalar>, _ k: Matrix<Scalar>, _ v: Matrix<Scalar>, queryStart: Int
  ) {
    precondition(
      q.columns == heads * keyDimensions && k.columns == kvHeads * keyDimensions
        && v.columns == kvHeads * valueDimensions && k.rows == v.rows,
      "ScaledDotProductAttention: q \(q.rows)×\(q.columns), k \(k.rows)×\(k.columns), v \(v.rows)×\(v.columns) do not fit \(heads) heads of \(keyDimensions) over \(kvHeads) key/value heads of \(valueDimensions)"
    )
    precondition(
      queryStart >= 0 && queryStart + q.rows <= k.rows,
      "ScaledDotProductAttention: queries at \(queryStart)..<\(queryStart + q.rows) need keys there, have \(k.rows)"
    )
  }
}
