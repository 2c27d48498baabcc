import Linalg
import RealModule

/// Updates a model's trainable parameters from their accumulated gradients.
///
/// Optimisers keep their state (momentum, moment estimates) per parameter name, so one
/// optimiser follows one model; parameters without a gradient are left alone.
public protocol Optimizer<Scalar> {
  /// The scalar type of the parameters.
  associatedtype Scalar: BLASScalar

  /// One update of every trainable parameter of `model` with step size `learningRate`.
  mutating func update<Model: ParameterContainer>(_ model: inout Model, learningRate: Double)
  where Model.Scalar == Scalar
}

/// Stochastic gradient descent with momentum:
/// `v ← μ·v + g`, `θ ← θ − η·v` (PyTorch's convention; `μ = 0` is plain SGD).
public struct SGD<Scalar: BLASScalar>: Optimizer, Sendable {
  /// `μ`.
  public var momentum: Double
  var velocity: [String: Matrix<Scalar>] = [:]

  /// SGD with momentum `μ`.
  public init(momentum: Double = 0) {
    precondition(momentum >= 0 && momentum < 1, "SGD: momentum \(momentum) is outside [0, 1)")
    self.momentum = momentum
  }

  /// One update.
  public mutating func update<Model: ParameterContainer>(_ model: inout Model, learningRate: Double)
  where Model.Scalar == Scalar {
    model.visitParameters(prefix: "") { name, parameter in
      guard parameter.isTrainable, let gradient = parameter.gradient else { return }
      var v = gradient
      if momentum > 0, var previous = velocity[name] {
        previous.scale(by: Scalar(momentum))
        previous.add(gradient)
        v = previous
      }
      if momentum > 0 { velocity[name] = v }
      axpy(Scalar(-learningRate), v, &parameter.value)
    }
  }
}

/// Adam, with optional L2 weight decay or AdamW's decoupled weight decay:
/// `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`, `m̂ = m/(1 − β₁ᵗ)`, `v̂ = v/(1 − β₂ᵗ)`,
/// `θ ← θ − η·(m̂/(√v̂ + ε) + λθ)` for AdamW (decoupled), or with `g + λθ` in place of
/// `g` for Adam with L2.
///
/// ### References
/// Kingma & Ba 2014, arXiv 1412.6980; Loshchilov & Hutter 2017, "Decoupled Weight Decay
/// Regularization", arXiv 1711.05101.
public struct Adam<Scalar: BLASScalar>: Optimizer, Sendable {
  /// `β₁`.
  public var beta1: Double
  /// `β₂`.
  public var beta2: Double
  /// `ε`.
  public var epsilon: Double
  /// `λ`.
  public var weightDecay: Double
  /// Whether `λ` is decoupled from the gradient (AdamW) or added to it (L2).
  public var decoupledWeightDecay: Bool
  var step = 0
  var moments: [String: (first: Matrix<Scalar>, second: Matrix<Scalar>)] = [:]

  /// Adam; `weightDecay` is L2 regularisation added to the gradient.
  public init(beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0) {
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.weightDecay = weightDecay
    self.decoupledWeightDecay = false
  }

  /// AdamW: Adam with decoupled weight decay `λ` (default 0.01, as PyTorch).
  public static func adamW(
    beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0.01
  ) -> Adam {
    var adam = Adam(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
    adam.decoupledWeightDecay = true
    return adam
  }

  /// One update.
  public mutating func update<Model: ParameterContainer>(_ model: inout Model, learningRate: Double)
  where Model.Scalar == Scalar {
    step += 1
    let corrections = (1 - Double.pow(beta1, Double(step)), 1 - Double.pow(beta2, Double(step)))
    model.visitParameters(prefix: "") { name, parameter in
      guard parameter.isTrainable, let gradient = parameter.gradient else { return }
      var state =
        moments[name] ?? (
          Matrix(rows: gradient.rows, columns: gradient.columns),
          Matrix(rows: gradient.rows, columns: gradient.columns)
        )
      moments[name] = nil  // keep the state's storage unique while it is updated
      Self.adamStep(
        value: &parameter.value, gradient: gradient, first: &state.first, second: &state.second,
        learningRate: learningRate, corrections: corrections, settings: self)
      moments[name] = state
    }
  }

  /// The element-wise update of one parameter.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  static func adamStep(
    value: inout Matrix<Scalar>, gradient: Matrix<Scalar>, first: inout Matrix<Scalar>,
    second: inout Matrix<Scalar>, learningRate: Double, corrections: (Double, Double), settings: Adam
  ) {
    let (b1, b2) = (Scalar(settings.beta1), Scalar(settings.beta2))
    let (c1, c2) = (Scalar(corrections.0), Scalar(corrections.1))
    let (eta, eps, lambda) = (Scalar(learningRate), Scalar(settings.epsilon), Scalar(settings.weightDecay))
    let decoupled = settings.decoupledWeightDecay
    gradient.withUnsafeBufferPointer { g in
      first.withUnsafeMutableBufferPointer { m in
        second.withUnsafeMutableBufferPointer { v in
          value.withUnsafeMutableBufferPointer { theta in
            for i in theta.indices {
              let gi = decoupled ? g[i] : g[i] + lambda * theta[i]
              m[i] = b1 * m[i] + (1 - b1) * gi
              v[i] = b2 * v[i] + (1 - b2) * gi * gi
              let update = (m[i] / c1) / ((v[i] / c2).squareRoot() + eps)
              theta[i] -= eta * (decoupled ? update + lambda * theta[i] : update)
            }
          }
        }
      }
    }
  }
}
