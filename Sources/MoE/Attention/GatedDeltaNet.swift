import Foundation
import Linalg

/// Gated DeltaNet, the linear-attention mixer of Qwen3-Next's hybrid layers: a fixed-size
/// state per head instead of a cache that grows with the context.
///
/// For each token, with `x` its `d` features:
/// 1. `q, k` (`Hk` heads of `Dk`), `v` (`Hv` heads of `Dv`) from `x`, then a causal depthwise
///    convolution over time of width `K` (`convolution`, one filter per channel of `[q|k|v]`)
///    and SiLU; `q` and `k` L2-normalised per head (`x/√(Σx² + 10⁻⁶)`), `q` scaled by `1/√Dk`;
///    value head `h` reads key head `h / (Hv/Hk)`.
/// 2. `β = σ(b·x)`, the decay `γ = exp(−exp(A_log) · softplus(a·x + dt_bias))`, per value head.
/// 3. The delta rule on the head's state `S` (`Dk × Dv`): `S ← γ·S`, `S ← S + k ⊗ β·(v − Sᵀk)`,
///    output `o = Sᵀq`.
/// 4. `o` RMS-normalised per head (gain `norm`) times `SiLU(z·x)`, then `output`.
///
/// The state — the last `K − 1` convolution inputs and every head's `S` — lives in the
/// `KVCache`'s `recurrentState` (see `RecurrentLayer`). Inference only.
///
/// ### References
/// Yang, Kautz & Hatamizadeh 2024, "Gated Delta Networks: Improving Mamba2 with Delta Rule",
/// arXiv 2412.06464; Qwen team 2025, Qwen3-Next; `transformers`' `Qwen3NextGatedDeltaNet`.
public struct GatedDeltaNet<Scalar: BLASScalar>: RecurrentLayer {
  /// `d → Hk·Dk`.
  public var query: Linear<Scalar>
  /// `d → Hk·Dk`.
  public var key: Linear<Scalar>
  /// `d → Hv·Dv`.
  public var value: Linear<Scalar>
  /// `z`: `d → Hv·Dv`, the output gate.
  public var outputGate: Linear<Scalar>
  /// `b`: `d → Hv`, the write strength before its sigmoid.
  public var writeStrength: Linear<Scalar>
  /// `a`: `d → Hv`, the decay's input.
  public var decayInput: Linear<Scalar>
  /// The convolution filters, `(2·Hk·Dk + Hv·Dv) × K`, channels in the order `[q|k|v]`.
  public var convolution: Parameter<Scalar>
  /// `dt_bias`, `1 × Hv`.
  public var decayBias: Parameter<Scalar>
  /// `A_log`, `1 × Hv`.
  public var decayLogRate: Parameter<Scalar>
  /// The per-head RMSNorm of the output (gain `Dv`).
  public var norm: RMSNorm<Scalar>
  /// `Hv·Dv → d`.
  public var output: Linear<Scalar>
  /// `Hk`.
  public let keyHeads: Int
  /// `Hv`, a multiple of `Hk`.
  public let valueHeads: Int
  /// `Dk`.
  public let keyDimensions: Int
  /// `Dv`.
  public let valueDimensions: Int

  /// A mixer from its parts.
  ///
  /// - Precondition: the shapes agree (`Hk` divides `Hv`; the projections, filters, biases
  ///   and norm have the widths above).
  public init(
    query: Linear<Scalar>, key: Linear<Scalar>, value: Linear<Scalar>, outputGate: Linear<Scalar>,
    writeStrength: Linear<Scalar>, decayInput: Linear<Scalar>, convolution: Matrix<Scalar>,
    decayBias: Matrix<Scalar>, decayLogRate: Matrix<Scalar>, norm: RMSNorm<Scalar>, output: Linear<Scalar>,
    keyHeads: Int, valueHeads: Int
  ) {
    let (kw, vw) = (query.outputDimensions, value.outputDimensions)
    precondition(
      keyHeads > 0 && valueHeads % keyHeads == 0 && kw % keyHeads == 0 && vw % valueHeads == 0
        && key.outputDimensions == kw && outputGate.outputDimensions == vw
        && writeStrength.outputDimensions == valueHeads && decayInput.outputDimensions == valueHeads
        && convolution.rows == 2 * kw + vw && convolution.columns >= 1
        && decayBias.shape == (1, valueHeads) && decayLogRate.shape == (1, valueHeads)
        && norm.weight.value.columns == vw / valueHeads && output.inputDimensions == vw,
      "GatedDeltaNet: parts of \(keyHeads) key heads (\(kw) wide) and \(valueHeads) value heads (\(vw) wide) disagree"
    )
    (self.query, self.key, self.value, self.outputGate) = (query, key, value, outputGate)
    (self.writeStrength, self.decayInput, self.norm, self.output) = (writeStrength, decayInput, norm, output)
    self.convolution = Parameter(convolution)
    self.decayBias = Parameter(decayBias)
    self.decayLogRate = Parameter(decayLogRate)
    (self.keyHeads, self.valueHeads) = (keyHeads, valueHeads)
    (self.keyDimensions, self.valueDimensions) = (kw / keyHeads, vw / valueHeads)
  }

  /// `d`.
  public var dimensions: Int { query.inputDimensions }
  /// `K`.
  public var convolutionWidth: Int { convolution.value.columns }
  /// Convolution channels, `2·Hk·Dk + Hv·Dv`.
  var channels: Int { convolution.value.rows }
  /// Scalars of the state: `(K − 1)` rows of channels, then `Hv·Dk·Dv`.
  public var stateCount: Int {
    (convolutionWidth - 1) * channels + valueHeads * keyDimensions * valueDimensions
  }

  /// "gated deltanet".
  public var operationName: String { "gated deltanet" }

  /// The mixer with `transform` applied to its products.
  public func mappingProjections(_ transform: (Linear<Scalar>) -> Linear<Scalar>) -> GatedDeltaNet {
    var m = self
    (m.query, m.key, m.value) = (transform(query), transform(key), transform(value))
    (m.outputGate, m.output) = (transform(outputGate), transform(output))
    return m
  }

  /// The next tokens of the cache's sequence (`x`, `n × d`) through the mixer, carrying the
  /// state in `cache.recurrentState`.
  public func forward(_ x: Matrix<Scalar>, cache: inout KVCache<Scalar>) -> Matrix<Scalar> {
    precondition(
      cache.recurrentState.count == stateCount && x.columns == dimensions,
      "GatedDeltaNet: a state of \(cache.recurrentState.count) scalars (need \(stateCount)), input width \(x.columns)"
    )
    let (n, width, c) = (x.rows, convolutionWidth, channels)
    let (kw, dk, dv) = (keyHeads * keyDimensions, keyDimensions, valueDimensions)
    // The convolution's input: the state's last K − 1 rows, then the new tokens' [q|k|v].
    var channels = Matrix<Scalar>(rows: n, columns: c)
    for (part, offset) in [(query(x), 0), (key(x), kw), (value(x), 2 * kw)] {
      for t in 0..<n { for j in 0..<part.columns { channels[t, offset + j] = part[t, j] } }
    }
    let window = Self.window(cache, channels, width: width)
    let (z, b, a) = (outputGate(x), writeStrength(x), decayInput(x))
    var mixed = Self.convolved(window, filters: convolution.value, bias: nil)
    // Each key head's query and key L2-normalised once a token (the query also by 1/√Dk),
    // in place, before the value heads that share them read them.
    for t in 0..<n {
      for g in 0..<keyHeads {
        Self.l2Normalize(&mixed, row: t, columns: g * dk..<(g + 1) * dk, dividedBy: Scalar(dk).squareRoot())
        Self.l2Normalize(&mixed, row: t, columns: kw + g * dk..<kw + (g + 1) * dk, dividedBy: 1)
      }
    }
    var state = Array(cache.recurrentState[((width - 1) * c)...])
    var out = Matrix<Scalar>(rows: n, columns: valueHeads * dv)
    let group = valueHeads / keyHeads
    for t in 0..<n {
      for h in 0..<valueHeads {
        let (q, k, v) = ((h / group) * dk, kw + (h / group) * dk, 2 * kw + h * dv)  // columns of mixed
        let beta = 1 / (1 + Scalar.exp(-b[t, h]))
        let rate = Scalar.exp(decayLogRate.value[0, h])
        let input = a[t, h] + decayBias.value[0, h]
        let softplus = input > 20 ? input : Scalar.log(1 + Scalar.exp(input))
        let decay = Scalar.exp(-rate * softplus)
        let base = h * dk * dv
        for i in 0..<dk * dv { state[base + i] *= decay }
        for e in 0..<dv {
          var remembered: Scalar = 0
          for i in 0..<dk { remembered += state[base + i * dv + e] * mixed[t, k + i] }
          let delta = (mixed[t, v + e] - remembered) * beta
          for i in 0..<dk { state[base + i * dv + e] += mixed[t, k + i] * delta }
        }
        for e in 0..<dv {
          var o: Scalar = 0
          for i in 0..<dk { o += state[base + i * dv + e] * mixed[t, q + i] }
          out[t, h * dv + e] = o
        }
      }
    }
    // The gated norm, head by head.
    let gain = norm.weight.value
    for t in 0..<n {
      for h in 0..<valueHeads {
        let columns = h * dv..<(h + 1) * dv
        let meanSquare = columns.reduce(0) { $0 + out[t, $1] * out[t, $1] } / Scalar(dv)
        let scale = 1 / (meanSquare + norm.epsilon).squareRoot()
        for (e, j) in columns.enumerated() { out[t, j] = out[t, j] * scale * gain[0, e] * Self.silu(z[t, j]) }
      }
    }
    Self.store(window, width: width, state: state, in: &cache)
    return output(out)
  }

  /// `x / √(Σx² + 10⁻⁶) / divisor` for the `columns` of one row of `m`, in place.
  static func l2Normalize(
    _ m: inout Matrix<Scalar>, row t: Int, columns: Range<Int>, dividedBy divisor: Scalar
  ) {
    let scale = 1 / (columns.reduce(0) { $0 + m[t, $1] * m[t, $1] } + Scalar(1e-6)).squareRoot()
    for j in columns { m[t, j] = m[t, j] * scale / divisor }
  }

  /// Visits the projections (`q_proj`, `k_proj`, `v_proj`, `z_proj`, `b_proj`, `a_proj`,
  /// `out_proj`), `conv1d.weight`, `dt_bias`, `A_log` and `norm.weight`.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    query.visitParameters(prefix: Self._join(prefix, "q_proj"), body)
    key.visitParameters(prefix: Self._join(prefix, "k_proj"), body)
    value.visitParameters(prefix: Self._join(prefix, "v_proj"), body)
    outputGate.visitParameters(prefix: Self._join(prefix, "z_proj"), body)
    writeStrength.visitParameters(prefix: Self._join(prefix, "b_proj"), body)
    decayInput.visitParameters(prefix: Self._join(prefix, "a_proj"), body)
    body(Self._join(prefix, "conv1d.weight"), &convolution)
    body(Self._join(prefix, "dt_bias"), &decayBias)
    body(Self._join(prefix, "A_log"), &decayLogRate)
    norm.visitParameters(prefix: Self._join(prefix, "norm"), body)
    output.visitParameters(prefix: Self._join(prefix, "out_proj"), body)
  }
}
