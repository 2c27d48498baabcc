import Foundation
import Linalg
import MoE

/// Calibration for importance-weighted quantization of a MoE model: runs text through the
/// model and measures, for every product held compact, the mean square of each input column
/// over the rows that product met — for an expert, **only the tokens routed to it**.
///
/// The importance a quantizer weights column `j`'s error by (`WeightMatrix.init(_:format:importance:)`)
/// is then
///
///     I_j = (S_j + k·m_j) / (n + k)
///
/// with `S_j` the sum of squares over the `n` rows the product met and, for an expert's
/// products, `m_j` the mean square the same product meets on a sample of **every** token of its
/// layer, as if each were routed to it (the layer's input for the gate and up projections; the
/// expert's own activations on those tokens for the down projection), and `k` =
/// `priorTokens`. An expert routed many tokens keeps its own statistics; a rarely routed one
/// leans on what it computes on tokens it was not given instead of on a handful of rows; one
/// that saw none gets `m_j` itself, which still reflects its own activations. (llama.cpp's
/// importance matrix averages over routed tokens only and gives an expert that saw none equal
/// weights, as `priorTokens: 0` does here.) Products outside experts use `S_j / n`.
///
/// ### References
/// llama.cpp `tools/imatrix` (importance matrix, mean squared activations per input column).
public final class ImportanceCalibration: ForwardObserver, @unchecked Sendable {
  /// What one product met.
  public struct Statistics: Sendable, Equatable {
    /// Rows (tokens) it multiplied: for an expert, the tokens routed to it.
    public var tokens = 0
    /// `Σ x_j²` over those rows, a column each.
    public var sumOfSquares: [Double]
    /// Tokens of its layer it was evaluated on as if routed (experts only; 0 otherwise).
    public var sampledTokens = 0
    /// `Σ x_j²` over those, a column each.
    public var sampledSumOfSquares: [Double]
    /// Whether it belongs to a routed expert.
    public var isExpert = false
    /// Matrices merged under one name (a fused tensor's gate and up parts: 2), whose rows
    /// and samples the counts above add up.
    public var products = 1

    /// The tokens each merged matrix met (`tokens / products`).
    public var tokensPerProduct: Int { tokens / products }

    init(columns: Int) {
      sumOfSquares = [Double](repeating: 0, count: columns)
      sampledSumOfSquares = sumOfSquares
    }
  }

  /// The pseudo-count `k` of the formula above (0: routed tokens only).
  public let priorTokens: Int
  /// At most this many tokens of each MoE layer's input (evenly spaced) are run through every
  /// expert for `m_j` (each costs the layer's whole expert compute).
  public let sampleTokens: Int
  private let names: [ObjectIdentifier: String]
  private var byMatrix: [ObjectIdentifier: Statistics] = [:]
  private let lock = NSLock()

  /// A calibration of the products `names` lists (`HuggingFaceModel.productNames`).
  ///
  /// - Precondition: `priorTokens ≥ 0`, `sampleTokens ≥ 1`.
  public init(names: [ObjectIdentifier: String], priorTokens: Int = 16, sampleTokens: Int = 32) {
    precondition(
      priorTokens >= 0 && sampleTokens >= 1, "ImportanceCalibration: \(priorTokens), \(sampleTokens)")
    (self.names, self.priorTokens, self.sampleTokens) = (names, priorTokens, sampleTokens)
  }

  /// Runs `tokens` through `model` in consecutive windows of at most `context` tokens (each
  /// a sequence of its own), observing every product; `progress` is called after each window
  /// with the tokens run so far.
  public func run(
    _ model: DecoderModel<Float>, tokens: [Int], context: Int, progress: (Int) -> Void = { _ in }
  ) {
    precondition(context >= 1, "ImportanceCalibration: context \(context)")
    for start in stride(from: 0, to: tokens.count, by: context) {
      let window = Array(tokens[start..<Swift.min(start + context, tokens.count)])
      observing { _ = model.logits(window, layout: .single(window.count)) }
      progress(start + window.count)
    }
  }

  /// Adds `input`'s squares to the named product's routed statistics.
  public func observe(_ input: Matrix<Float>, meeting weight: WeightMatrix) {
    let id = weight.storageIdentifier
    guard names[id] != nil else { return }
    let squares = Self.columnSumOfSquares(input)
    lock.withLock {
      var entry = byMatrix[id] ?? Statistics(columns: input.columns)
      entry.tokens += input.rows
      for j in squares.indices { entry.sumOfSquares[j] += squares[j] }
      byMatrix[id] = entry
    }
  }

  /// Runs every expert on up to `sampleTokens` evenly spaced rows of `layerInput` (unobserved)
  /// and adds the squares of what its projections meet there to their sampled statistics.
  public func observe(layerInput: Matrix<Float>, experts: [FeedForward<Float>]) {
    guard layerInput.rows > 0 else { return }
    let step = Swift.max(1, layerInput.rows / sampleTokens)
    let sample = layerInput.gatheringRows(
      Array(stride(from: 0, to: layerInput.rows, by: step).prefix(sampleTokens)))
    let inputSquares = Self.columnSumOfSquares(sample)
    // The experts run on tokens they were not routed, unobserved (these are not routed rows).
    let hiddenSquares = ForwardObservation.$current.withValue(nil) {
      experts.map { expert -> [Double] in
        let up = expert.up(sample)
        guard let gate = expert.gate else {
          var hidden = up
          hidden.apply(expert.activation)
          return Self.columnSumOfSquares(hidden)
        }
        var hidden = gate(sample)
        expert.applyGate(&hidden, multiplying: up)
        return Self.columnSumOfSquares(hidden)
      }
    }
    lock.withLock {
      for (expert, hidden) in zip(experts, hiddenSquares) {
        let inputs = [expert.gate, expert.up].compactMap { $0?.compactWeight }
        for weight in inputs { addSample(inputSquares, rows: sample.rows, to: weight) }
        if let down = expert.down.compactWeight { addSample(hidden, rows: sample.rows, to: down) }
      }
    }
  }

  private func addSample(_ squares: [Double], rows: Int, to weight: WeightMatrix) {
    let id = weight.storageIdentifier
    guard names[id] != nil else { return }
    var entry = byMatrix[id] ?? Statistics(columns: squares.count)
    entry.isExpert = true
    entry.sampledTokens += rows
    for j in squares.indices { entry.sampledSumOfSquares[j] += squares[j] }
    byMatrix[id] = entry
  }

  /// What each product met, by tensor name (products sharing a name — a fused tensor's gate
  /// and up parts — merged: their sums and counts added).
  public var statistics: [String: Statistics] {
    lock.withLock {
      var merged: [String: Statistics] = [:]
      for (id, entry) in byMatrix {
        let name = names[id]!
        guard var into = merged[name] else {
          merged[name] = entry
          continue
        }
        into.tokens += entry.tokens
        into.sampledTokens += entry.sampledTokens
        into.products += entry.products
        into.isExpert = into.isExpert || entry.isExpert
        for j in into.sumOfSquares.indices {
          into.sumOfSquares[j] += entry.sumOfSquares[j]
          into.sampledSumOfSquares[j] += entry.sampledSumOfSquares[j]
        }
        merged[name] = into
      }
      return merged
    }
  }

  /// The importance of every product that met something, by tensor name (the formula
  /// above), for `HuggingFaceModel.init(folder:weightFormat:importance:…)`. A product that met
  /// nothing (and, with `priorTokens` 0, an expert routed no token) has no entry: it is fitted
  /// without importance.
  public var importance: [String: [Float]] {
    var result: [String: [Float]] = [:]
    let k = Double(priorTokens)
    for (name, entry) in statistics {
      // The prior's weight: k for an expert sampled on unrouted tokens, else none.
      let weight = entry.isExpert && entry.sampledTokens > 0 ? k : 0
      let n = Double(entry.tokens)
      guard n + weight > 0 else { continue }
      result[name] = entry.sumOfSquares.indices.map { j in
        let prior = weight == 0 ? 0 : entry.sampledSumOfSquares[j] / Double(entry.sampledTokens)
        return Float((entry.sumOfSquares[j] + weight * prior) / (n + weight))
      }
    }
    return result
  }

  /// The calibration tokens routed to each expert, by layer and expert index (read from the
  /// tensor names: `layers.L.` and `experts.E.`, or `#E` for a fused tensor), from the
  /// expert's first projection (all of an expert's projections meet the same tokens).
  public var tokensPerExpert: [Int: [Int: Int]] {
    var result: [Int: [Int: Int]] = [:]
    for (name, entry) in statistics where entry.isExpert {
      guard let layer = Self.number(after: "layers.", in: name),
        let expert = Self.number(after: "experts.", in: name) ?? Self.number(after: "#", in: name)
      else { continue }
      result[layer, default: [:]][expert] = Swift.max(result[layer]?[expert] ?? 0, entry.tokensPerProduct)
    }
    return result
  }

  /// The decimal number right after the last `marker` in `name`, if one follows it.
  static func number(after marker: String, in name: String) -> Int? {
    guard let range = name.range(of: marker, options: .backwards) else { return nil }
    return Int(name[range.upperBound...].prefix { $0.isNumber })
  }

  /// `Σ_t x_tj²` for every column `j`, in `Double`.
  static func columnSumOfSquares(_ x: Matrix<Float>) -> [Double] {
    var sums = [Double](repeating: 0, count: x.columns)
    x.withUnsafeBufferPointer { p in
      for t in 0..<x.rows {
        for j in 0..<x.columns {
          let v = Double(p[t * x.columns + j])
          sums[j] += v * v
        }
      }
    }
    return sums
  }
}
