import Linalg

/// A token mixer that carries a fixed-size state instead of keys and values (`GatedDeltaNet`,
/// `MambaMixer`): the state lives in the `KVCache`'s `recurrentState`, so decoding token by
/// token computes exactly what a whole sequence computes, at the same cost at any length.
/// Inference only.
///
/// Shapes: `x` and the output are `tokens × d`.
public protocol RecurrentLayer<Scalar>: Sendable, ParameterContainer {
  /// The scalar type (`ParameterContainer`'s), named here so that `any RecurrentLayer<Float>`
  /// can be written.
  associatedtype Scalar
  /// `d`.
  var dimensions: Int { get }
  /// Scalars of the state.
  var stateCount: Int { get }
  /// The name an `OperationProfile` lists its time under.
  var operationName: String { get }
  /// The next tokens of the cache's sequence (`x`, `n × d`) through the layer, carrying the
  /// state in `cache.recurrentState`.
  func forward(_ x: Matrix<Scalar>, cache: inout KVCache<Scalar>) -> Matrix<Scalar>
  /// The layer with `transform` applied to each of its products (to hold their weights in
  /// another format).
  func mappingProjections(_ transform: (Linear<Scalar>) -> Linear<Scalar>) -> Self
}

extension RecurrentLayer {
  /// An empty cache: no keys or values, a zero state.
  public func makeCache() -> KVCache<Scalar> {
    var cache = KVCache<Scalar>(keyWidth: 0, valueWidth: 0, capacity: 1)
    cache.recurrentState = [Scalar](repeating: 0, count: stateCount)
    return cache
  }

  /// The layer over every sequence of `layout`, each from a zero state.
  public func callAsFunction(_ x: Matrix<Scalar>, layout: SequenceLayout) -> Matrix<Scalar> {
    var y = Matrix<Scalar>(rows: x.rows, columns: dimensions)
    for rows in layout.ranges {
      var cache = makeCache()
      y[rows: rows] = forward(x[rows: rows], cache: &cache)
    }
    return y
  }

  /// The convolution's input window: the `width − 1` rows of channels carried at the start of
  /// `cache`'s state, then the new tokens' `channels` (`n × C`).
  static func window(_ cache: KVCache<Scalar>, _ channels: Matrix<Scalar>, width: Int) -> Matrix<Scalar> {
    let (n, c) = (channels.rows, channels.columns)
    var window = Matrix<Scalar>(rows: width - 1 + n, columns: c)
    window.withUnsafeMutableBufferPointer { w in
      for i in 0..<(width - 1) * c { w[i] = cache.recurrentState[i] }
    }
    window[rows: width - 1..<width - 1 + n] = channels
    return window
  }

  /// Keeps the last `width − 1` rows of `window`, then `state`, as `cache`'s state, and counts
  /// the window's new tokens.
  static func store(_ window: Matrix<Scalar>, width: Int, state: [Scalar], in cache: inout KVCache<Scalar>) {
    let (n, c) = (window.rows - (width - 1), window.columns)
    var carried = [Scalar](repeating: 0, count: (width - 1) * c)
    window.withUnsafeBufferPointer { w in
      for i in 0..<(width - 1) * c { carried[i] = w[n * c + i] }
    }
    cache.recurrentState = carried + state
    cache.advance(by: n)
  }

  /// `x · σ(x)`.
  static func silu(_ x: Scalar) -> Scalar { x / (1 + Scalar.exp(-x)) }

  /// The causal depthwise convolution of width `K = filters.columns` over `window` (its first
  /// `K − 1` rows the carried inputs, then the new tokens' channels), plus `bias`, through
  /// SiLU: `n × channels`.
  static func convolved(_ window: Matrix<Scalar>, filters: Matrix<Scalar>, bias: Matrix<Scalar>?) -> Matrix<
    Scalar
  > {
    let width = filters.columns
    var out = Matrix<Scalar>(rows: window.rows - (width - 1), columns: filters.rows)
    for t in 0..<out.rows {
      for j in 0..<filters.rows {
        var sum: Scalar = bias?[0, j] ?? 0
        for i in 0..<width { sum += filters[j, i] * window[t + i, j] }
        out[t, j] = silu(sum)
      }
    }
    return out
  }
}
