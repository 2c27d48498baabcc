import Linalg

/// Buffers a `MoELayer` reuses from one forward pass to the next, so that a steady stream
/// of batches allocates nothing per token: the gathered tokens, the expert projections,
/// and the dispatch arrays. Each buffer grows to the largest batch seen and stays.
///
/// Keep one workspace per layer (or per thread); it holds no results.
public struct MoEWorkspace<Scalar: BLASScalar>: Sendable {
  var input = Matrix<Scalar>(rows: 0, columns: 0)
  var gateOutput = Matrix<Scalar>(rows: 0, columns: 0)
  var upOutput = Matrix<Scalar>(rows: 0, columns: 0)
  /// The experts' hidden activations, the input of `down`.
  var hidden = Matrix<Scalar>(rows: 0, columns: 0)
  var expertOutput = Matrix<Scalar>(rows: 0, columns: 0)
  /// The token of each gathered row, sorted by expert.
  var sortedTokens: [Int] = []
  /// The combine weight of each gathered row.
  var sortedWeights: [Scalar] = []
  /// The index in `RoutingDecision.assignments` of each gathered row.
  var sortedAssignments: [Int] = []
  /// Whether each of the router's assignments survived capacity.
  var kept: [Bool] = []
  /// Per-expert counts and their prefix sums (`E + 1`).
  var counts: [Int] = []
  var offsets: [Int] = []

  /// An empty workspace; it sizes itself on first use.
  public init() {}

  /// The matrix buffers' size in bytes: the layer's working memory beyond its weights,
  /// input and output (the dispatch arrays add `O(T·k)` integers).
  public var byteCount: Int {
    [input, gateOutput, upOutput, hidden, expertOutput].reduce(0) { $0 + $1.count }
      * MemoryLayout<Scalar>.stride
  }

  /// The fewest rows an inference tile holds, whatever the batch: below this, GEMMs lose
  /// efficiency faster than memory is saved.
  public static var minimumTileRows: Int { 256 }

  /// The most sorted rows an inference pass sends through the experts at once for a batch
  /// of `tokens` tokens: as many as make the tile's buffers (`2d + 2h` scalars a row when
  /// gated, `2d + h` otherwise) 1.9× the size of the layer's input and output (`2·T·d`),
  /// and at least `minimumTileRows`.
  ///
  /// The budget keeps the working memory below twice the activations while a tile holds
  /// about two experts' blocks of a balanced top-2 layer: measured by `dense-vs-sparse`
  /// (C1, 2 threads), MoE ÷ dense equal-active went from 1.18 with tiles of 1.0× the
  /// activations (about one block each, often split) to 0.97–1.03.
  public static func tileRowLimit(tokens: Int, dimensions: Int, hiddenDimensions: Int, gated: Bool) -> Int {
    let perRow = 2 * dimensions + (gated ? 2 : 1) * hiddenDimensions
    let budget = 19 * (2 * tokens * dimensions) / 10
    return Swift.max(minimumTileRows, budget / Swift.max(perRow, 1))
  }

  /// Makes every matrix buffer the pass uses hold at least `rows` rows of the right
  /// widths (`hidden` only when `keepingActivations`).
  mutating func reserve(
    rows: Int, dimensions: Int, hiddenDimensions: Int, gated: Bool, keepingActivations: Bool
  ) {
    func grow(_ m: inout Matrix<Scalar>, _ columns: Int) {
      if m.rows < rows || m.columns != columns {
        m = Matrix(rows: Swift.max(rows, m.columns == columns ? m.rows : 0), columns: columns)
      }
    }
    grow(&input, dimensions)
    if gated { grow(&gateOutput, hiddenDimensions) }
    grow(&upOutput, hiddenDimensions)
    if keepingActivations { grow(&hidden, hiddenDimensions) }
    grow(&expertOutput, dimensions)
  }
}
