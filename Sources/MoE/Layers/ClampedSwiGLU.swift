import Linalg

/// gpt-oss's gated unit: the gate clamped from above, the up projection clamped both ways
/// and shifted by one,
///
///     h = (clamp(u, −L, L) + 1) · g̃ · σ(α·g̃),   g̃ = min(g, L),
///
/// for gate `g`, up `u`, `α` (`swiglu_alpha`, 1.702) and `L` (`swiglu_limit`, 7). Its
/// derivatives are those of the formula, zero where a clamp holds.
///
/// ### References
/// OpenAI 2025, "gpt-oss-120b & gpt-oss-20b Model Card"; `transformers`' `GptOssExperts`.
public struct ClampedSwiGLU: Sendable, Equatable {
  /// `α`, the slope inside the sigmoid.
  public var alpha: Double
  /// `L`, the clamp.
  public var limit: Double

  /// The unit with slope `alpha` and clamp `limit`.
  ///
  /// - Precondition: `alpha` is finite and `limit` positive.
  public init(alpha: Double = 1.702, limit: Double = 7) {
    precondition(alpha.isFinite && limit > 0, "ClampedSwiGLU: alpha \(alpha) and limit \(limit)")
    (self.alpha, self.limit) = (alpha, limit)
  }

  /// `h` (see the type's documentation), written over `gate`; `gate` and `up` are
  /// `tokens × hidden`.
  public func apply<Scalar: BLASScalar>(_ gate: inout Matrix<Scalar>, multiplying up: Matrix<Scalar>) {
    precondition(gate.shape == up.shape, "ClampedSwiGLU: gate \(gate.shape) and up \(up.shape) differ")
    let (a, l) = (Scalar(alpha), Scalar(limit))
    up.withUnsafeBufferPointer { u in
      gate.withUnsafeMutableBufferPointer { g in
        for i in g.indices {
          let x = Swift.min(g[i], l)
          g[i] = (Swift.min(Swift.max(u[i], -l), l) + 1) * x / (1 + Scalar.exp(-a * x))
        }
      }
    }
  }

  /// `∂L/∂gate` and `∂L/∂up` from `∂L/∂h` (`dHidden`) and the unit's inputs.
  public func backward<Scalar: BLASScalar>(
    _ dHidden: Matrix<Scalar>, gate: Matrix<Scalar>, up: Matrix<Scalar>
  ) -> (dGate: Matrix<Scalar>, dUp: Matrix<Scalar>) {
    let (a, l) = (Scalar(alpha), Scalar(limit))
    var (dGate, dUp) = (dHidden, dHidden)
    for i in 0..<gate.rows {
      for j in 0..<gate.columns {
        let (g, u) = (gate[i, j], up[i, j])
        let x = Swift.min(g, l)
        let s = 1 / (1 + Scalar.exp(-a * x))
        let clampedUp = Swift.min(Swift.max(u, -l), l)
        dUp[i, j] *= abs(u) < l ? x * s : 0
        dGate[i, j] *= g < l ? (clampedUp + 1) * (s + a * x * s * (1 - s)) : 0
      }
    }
    return (dGate, dUp)
  }
}
