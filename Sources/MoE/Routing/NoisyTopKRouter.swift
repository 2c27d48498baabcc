import Linalg

/// Noisy top-k gating: `H = x·W_gᵀ + ε ⊙ softplus(x·W_noiseᵀ)` with `ε ~ N(0, 1)` drawn
/// from the context's generator in training mode only (`H = x·W_gᵀ` at inference); each
/// token keeps its `k` largest `H` and its combine weights are the softmax over those `k`
/// alone, `G = softmax(KeepTopK(H, k))`.
///
/// `probabilities` in the decision is `softmax(H)` over all experts; `logits` is the
/// noise-free `x·W_gᵀ`.
///
/// ### References
/// Shazeer et al. 2017, "Outrageously Large Neural Networks: The Sparsely-Gated
/// Mixture-of-Experts Layer", arXiv 1701.06538, equations 3–5.
public struct NoisyTopKRouter<Scalar: BLASScalar>: Router {
  /// `W_g`, `E × d`, no bias.
  public var gate: Linear<Scalar>
  /// `W_noise`, `E × d`, no bias: the learned per-expert noise scale before softplus.
  public var noise: Linear<Scalar>
  /// Experts per token when a call does not say.
  public var defaultK: Int

  /// A router from its two projections.
  public init(gate: Linear<Scalar>, noise: Linear<Scalar>, k: Int) {
    precondition(
      gate.weight.value.shape == noise.weight.value.shape,
      "NoisyTopKRouter: gate \(gate.outputDimensions)×\(gate.inputDimensions) and noise \(noise.outputDimensions)×\(noise.inputDimensions) differ"
    )
    self.gate = gate
    self.noise = noise
    self.defaultK = k
    _checkK(k)
  }

  /// A router with randomly initialised projections (`d → E`, no bias).
  public init(dimensions: Int, expertCount: Int, k: Int, using generator: inout some RandomNumberGenerator) {
    self.init(
      gate: Linear.routerGate(dimensions: dimensions, expertCount: expertCount, using: &generator),
      noise: Linear.routerGate(dimensions: dimensions, expertCount: expertCount, using: &generator),
      k: k)
  }

  /// `E`.
  public var expertCount: Int { gate.outputDimensions }

  /// The noisy top-k routing of `x` (`T × d`); noise only when `context.isTraining`.
  public func route(_ x: Matrix<Scalar>, k: Int, context: inout RoutingContext) -> RoutingDecision<Scalar> {
    _checkK(k)
    let logits = gate(x)
    var h = logits
    var epsilon: Matrix<Scalar>?
    if context.isTraining {
      var scale = noise(x)
      scale.apply(.softplus)
      let draw = Matrix<Scalar>.normal(rows: h.rows, columns: h.columns, using: &context.generator)
      h.add(draw.elementwiseProduct(scale))
      epsilon = draw
    }
    let probabilities = h.softmaxRows()
    // softmax over the kept k equals the full softmax renormalised over them.
    var decision = _TokenChoice.decide(
      logits: h, scores: probabilities, selection: h, k: k, normalize: true)
    decision.logits = logits
    decision.sampledNoise = epsilon
    return decision
  }

  /// The backward pass through `G = softmax over the kept H`, `H = x·W_gᵀ + ε ⊙
  /// softplus(x·W_noiseᵀ)`: `∂H` reaches `W_g` directly and `W_noise` through
  /// `∂H ⊙ ε ⊙ σ(x·W_noiseᵀ)` (training only; `decision.sampledNoise` holds `ε`).
  public mutating func backward(
    _ x: Matrix<Scalar>, decision: RoutingDecision<Scalar>, gradient: RoutingGradient<Scalar>
  ) -> Matrix<Scalar> {
    let ds = _RouterBackward.totalScoreGradient(decision, gradient, normalize: true)
    let dh = _RouterBackward.softmaxBackward(ds, scores: decision.probabilities)
    var dx = _RouterBackward.gateBackward(&gate, x, logitGradient: dh, decision, gradient)
    if let epsilon = decision.sampledNoise {
      var slope = noise(x)
      slope.apply(.sigmoid)
      var dNoise = dh.elementwiseProduct(epsilon)
      dNoise.multiplyElementwise(by: slope)
      for t in decision.nonFiniteTokens { dNoise[row: t] = [Scalar](repeating: 0, count: dNoise.columns) }
      dx.add(noise.backward(dNoise, input: x))
    }
    return dx
  }

  /// Visits `gate.weight` and `noise.weight`.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    gate.visitParameters(prefix: Self._join(prefix, "gate"), body)
    noise.visitParameters(prefix: Self._join(prefix, "noise"), body)
  }
}
