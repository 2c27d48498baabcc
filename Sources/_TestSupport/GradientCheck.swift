import Linalg
import MoE

/// Finite-difference checks of backward passes, in `Double`.
///
/// The loss is a fixed random projection of the output, `L = Σ y ⊙ R`, so `∂L/∂y = R`;
/// every analytic gradient is compared with central differences
/// `(L(θ + h) − L(θ − h)) / 2h` by the relative error `‖a − n‖ / max(‖a‖, ‖n‖)`.
public enum GradientCheck {
  /// The relative error between two gradients (0 when both are zero).
  public static func relativeError(_ a: Matrix<Double>, _ b: Matrix<Double>) -> Double {
    let scale = max(a.norm, b.norm)
    return scale == 0 ? 0 : (a - b).norm / scale
  }

  /// `Σ y ⊙ r`.
  public static func projection(_ y: Matrix<Double>, _ r: Matrix<Double>) -> Double {
    dot(y, r)
  }

  /// The central-difference gradient of `loss` at `x`.
  public static func numericalGradient(
    at x: Matrix<Double>, step h: Double = 1e-6, _ loss: (Matrix<Double>) -> Double
  ) -> Matrix<Double> {
    var probe = x
    return Matrix(rows: x.rows, columns: x.columns) { i, j in
      let original = probe[i, j]
      probe[i, j] = original + h
      let plus = loss(probe)
      probe[i, j] = original - h
      let minus = loss(probe)
      probe[i, j] = original
      return (plus - minus) / (2 * h)
    }
  }

  /// For each parameter of `model`, the relative error between the gradient `backward`
  /// accumulates for `∂L/∂y = R` and central differences of `L = Σ forward(model) ⊙ R`.
  ///
  /// - Returns: `(name, relative error)` per parameter, in visiting order.
  public static func parameterErrors<Model: ParameterContainer>(
    _ model: Model, projection r: Matrix<Double>, step h: Double = 1e-6,
    forward: (Model) -> Matrix<Double>, backward: (inout Model, Matrix<Double>) -> Void
  ) -> [(name: String, error: Double)] where Model.Scalar == Double {
    var analytic = model
    analytic.zeroGradients()
    backward(&analytic, r)
    let gradients = Dictionary(
      uniqueKeysWithValues: analytic.namedParameters.map { ($0.name, $0.parameter.gradient) })
    return model.namedParameters.map { name, parameter in
      let numeric = numericalGradient(at: parameter.value, step: h) { value in
        var perturbed = model
        perturbed.visitParameters(prefix: "") { n, p in if n == name { p.value = value } }
        return projection(forward(perturbed), r)
      }
      let computed = (gradients[name] ?? nil) ?? Matrix(rows: numeric.rows, columns: numeric.columns)
      return (name, relativeError(computed, numeric))
    }
  }
}
