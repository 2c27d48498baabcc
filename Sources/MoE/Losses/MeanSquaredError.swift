import Linalg

/// Mean squared error over every element: `L = (1/N) Σ (y − t)²`, with
/// `∂L/∂y = 2(y − t)/N`.
public enum MeanSquaredError {
  /// The loss of `prediction` against `target` and its gradient with respect to
  /// `prediction`.
  ///
  /// - Precondition: equal shapes.
  public static func evaluate<Scalar: BLASScalar>(
    _ prediction: Matrix<Scalar>, target: Matrix<Scalar>
  ) -> (loss: Scalar, gradient: Matrix<Scalar>) {
    precondition(
      prediction.shape == target.shape,
      "MeanSquaredError: prediction \(prediction.rows)×\(prediction.columns) and target \(target.rows)×\(target.columns) differ"
    )
    let difference = prediction - target
    let n = Scalar(Swift.max(1, prediction.count))
    return (dot(difference, difference) / n, difference * (2 / n))
  }
}
