import Linalg

/// Mamba's selective state-space mixer (Jamba's Mamba layers), a `RecurrentLayer`.
///
/// For each token, with `x` its `d` features and `E` inner channels:
/// 1. `[u | z] = input(x)` (`2E`); `u` through a causal depthwise convolution of width `K`
///    (`convolution`, plus `convolutionBias`) and SiLU.
/// 2. `[δ | B | C] = stateProjection(u)` (`R + 2N`), each RMS-normalised when the layer has
///    `norms` (Jamba's `dt_layernorm`, `b_layernorm`, `c_layernorm`); `Δ = softplus(timeStep(δ))`
///    (`E`, with its bias).
/// 3. Per channel `c`, the state `h_c` (`N`): `h_c ← exp(Δ_c·A_c) ⊙ h_c + Δ_c·u_c·B`, with
///    `A = −exp(A_log)`; `y_c = h_c·C + D_c·u_c`, times `SiLU(z_c)`.
/// 4. `output(y)`.
///
/// The state — the last `K − 1` convolution inputs and every channel's `h` — lives in the
/// `KVCache`'s `recurrentState`. Inference only.
///
/// ### References
/// Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces", arXiv
/// 2312.00752; Lieber et al. 2024, "Jamba", arXiv 2403.19887; `transformers`' `JambaMambaMixer`.
public struct MambaMixer<Scalar: BLASScalar>: RecurrentLayer {
  /// `d → 2E`: the channels `u`, then the gate `z`.
  public var input: Linear<Scalar>
  /// The convolution filters, `E × K`.
  public var convolution: Parameter<Scalar>
  /// The convolution's bias, `1 × E`, or `nil`.
  public var convolutionBias: Parameter<Scalar>?
  /// `E → R + 2N`: `δ`, `B`, `C`.
  public var stateProjection: Linear<Scalar>
  /// RMSNorms of `δ` (`R`), `B` and `C` (`N`), or `nil`.
  public var norms: (timeStep: RMSNorm<Scalar>, input: RMSNorm<Scalar>, output: RMSNorm<Scalar>)?
  /// `R → E`, with a bias: `Δ` before its softplus.
  public var timeStep: Linear<Scalar>
  /// `A_log`, `E × N`.
  public var decayLog: Parameter<Scalar>
  /// `D`, `1 × E`.
  public var skip: Parameter<Scalar>
  /// `E → d`.
  public var output: Linear<Scalar>

  /// A mixer from its parts.
  ///
  /// - Precondition: the shapes agree.
  public init(
    input: Linear<Scalar>, convolution: Matrix<Scalar>, convolutionBias: Matrix<Scalar>?,
    stateProjection: Linear<Scalar>,
    norms: (timeStep: RMSNorm<Scalar>, input: RMSNorm<Scalar>, output: RMSNorm<Scalar>)?,
    timeStep: Linear<Scalar>, decayLog: Matrix<Scalar>, skip: Matrix<Scalar>, output: Linear<Scalar>
  ) {
    let channels = convolution.rows
    let n = decayLog.columns
    precondition(
      input.outputDimensions == 2 * channels && convolutionBias.map { $0.shape == (1, channels) } ?? true
        && stateProjection.inputDimensions == channels
        && stateProjection.outputDimensions == timeStep.inputDimensions + 2 * n
        && timeStep.outputDimensions == channels && decayLog.rows == channels && skip.shape == (1, channels)
        && output.inputDimensions == channels,
      "MambaMixer: parts of \(channels) channels and a state of \(n) disagree")
    (self.input, self.stateProjection, self.norms, self.timeStep, self.output) = (
      input, stateProjection, norms, timeStep, output
    )
    self.convolution = Parameter(convolution)
    self.convolutionBias = convolutionBias.map { Parameter($0) }
    self.decayLog = Parameter(decayLog)
    self.skip = Parameter(skip)
  }

  /// `d`.
  public var dimensions: Int { input.inputDimensions }
  /// `E`.
  public var channels: Int { convolution.value.rows }
  /// `N`.
  public var stateDimensions: Int { decayLog.value.columns }
  /// `(K − 1)·E` carried convolution inputs, then `E·N`.
  public var stateCount: Int { (convolution.value.columns - 1) * channels + channels * stateDimensions }
  /// "mamba".
  public var operationName: String { "mamba" }

  /// The mixer with `transform` applied to its products.
  public func mappingProjections(_ transform: (Linear<Scalar>) -> Linear<Scalar>) -> MambaMixer {
    var m = self
    (m.input, m.stateProjection, m.output) = (transform(input), transform(stateProjection), transform(output))
    return m
  }

  /// The next tokens of the cache's sequence (`x`, `n × d`) through the mixer.
  public func forward(_ x: Matrix<Scalar>, cache: inout KVCache<Scalar>) -> Matrix<Scalar> {
    precondition(
      cache.recurrentState.count == stateCount && x.columns == dimensions,
      "MambaMixer: a state of \(cache.recurrentState.count) scalars (need \(stateCount)), input width \(x.columns)"
    )
    let (t, e, n, width) = (x.rows, channels, stateDimensions, convolution.value.columns)
    let projected = input(x)
    let window = Self.window(cache, projected.columns(0..<e), width: width)
    let u = Self.convolved(window, filters: convolution.value, bias: convolutionBias?.value)
    let parts = stateProjection(u)
    let rank = timeStep.inputDimensions
    var (delta, b, c) = (
      parts.columns(0..<rank), parts.columns(rank..<rank + n), parts.columns(rank + n..<rank + 2 * n)
    )
    if let norms { (delta, b, c) = (norms.timeStep(delta), norms.input(b), norms.output(c)) }
    let steps = timeStep(delta)
    // −A = exp(A_log), once a call rather than once a token.
    let decayRates = Matrix(rows: e, columns: n, elements: decayLog.value.elements.map { Scalar.exp($0) })
    var state = Array(cache.recurrentState[((width - 1) * e)...])
    var y = Matrix<Scalar>(rows: t, columns: e)
    for r in 0..<t {
      for ch in 0..<e {
        let raw = steps[r, ch]
        let dt = raw > 20 ? raw : Scalar.log(1 + Scalar.exp(raw))
        let value = u[r, ch]
        var sum: Scalar = 0
        for k in 0..<n {
          state[ch * n + k] = Scalar.exp(dt * -decayRates[ch, k]) * state[ch * n + k] + dt * b[r, k] * value
          sum += state[ch * n + k] * c[r, k]
        }
        y[r, ch] = (sum + skip.value[0, ch] * value) * Self.silu(projected[r, e + ch])
      }
    }
    Self.store(window, width: width, state: state, in: &cache)
    return output(y)
  }

  /// Visits `in_proj`, `conv1d.{weight,bias}`, `x_proj`, the norms, `dt_proj`, `A_log`, `D` and
  /// `out_proj`.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    input.visitParameters(prefix: Self._join(prefix, "in_proj"), body)
    body(Self._join(prefix, "conv1d.weight"), &convolution)
    if convolutionBias != nil { body(Self._join(prefix, "conv1d.bias"), &convolutionBias!) }
    stateProjection.visitParameters(prefix: Self._join(prefix, "x_proj"), body)
    if norms != nil {
      norms!.timeStep.visitParameters(prefix: Self._join(prefix, "dt_layernorm"), body)
      norms!.input.visitParameters(prefix: Self._join(prefix, "b_layernorm"), body)
      norms!.output.visitParameters(prefix: Self._join(prefix, "c_layernorm"), body)
    }
    timeStep.visitParameters(prefix: Self._join(prefix, "dt_proj"), body)
    body(Self._join(prefix, "A_log"), &decayLog)
    body(Self._join(prefix, "D"), &skip)
    output.visitParameters(prefix: Self._join(prefix, "out_proj"), body)
  }
}
