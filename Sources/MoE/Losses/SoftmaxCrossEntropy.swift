import Linalg

/// Cross-entropy of class logits against labels, averaged over tokens, computed from the
/// logits without forming probabilities that could underflow:
/// `L = (1/T) Σ_t (logsumexp(z_t) − z_{t, y_t})`, with `∂L/∂z = (softmax(z) − onehot(y))/T`.
public enum SoftmaxCrossEntropy {
  /// The loss of `logits` (`T × C`) against `labels` (`T` class indices) and its
  /// gradient with respect to the logits.
  ///
  /// - Precondition: one label per row, each in `0..<C`.
  public static func evaluate<Scalar: BLASScalar>(
    logits: Matrix<Scalar>, labels: [Int]
  ) -> (loss: Scalar, gradient: Matrix<Scalar>) {
    precondition(
      labels.count == logits.rows, "SoftmaxCrossEntropy: \(labels.count) labels for \(logits.rows) rows")
    let lse = logits.logSumExpRows()
    var gradient = logits.softmaxRows()
    var total: Scalar = 0
    for (t, label) in labels.enumerated() {
      precondition(
        label >= 0 && label < logits.columns,
        "SoftmaxCrossEntropy: label \(label) outside 0..<\(logits.columns)")
      total += lse[t] - logits[t, label]
      gradient[t, label] -= 1
    }
    let n = Scalar(Swift.max(1, logits.rows))
    gradient.scale(by: 1 / n)
    return (total / n, gradient)
  }
}
