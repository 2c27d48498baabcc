import Foundation
import Linalg

/// Attention by explicit loops in `Double`: every score, the softmax over exactly the
/// visible keys, and the weighted sum of values. Tests only.
public enum AttentionReference {
  /// `softmax_j(scale · q_h · k_g(j)) · v_g(j)` over the keys `j` that query `i` (at
  /// position `queryStart + i`) may see: `j ≤ position` and, with a window `w`,
  /// `j > position − w`, and with chunks of `c` only keys of the query's chunk; head `h`'s sink logit `sinks[h]` in the softmax's denominator
  /// when given. Heads not in `activeHeads` give zeros.
  public static func attention(
    q: Matrix<Double>, k: Matrix<Double>, v: Matrix<Double>, heads: Int, kvHeads: Int, keyDimensions dk: Int,
    valueDimensions dv: Int, window: Int? = nil, queryStart: Int = 0, scale: Double? = nil,
    activeHeads: [Int]? = nil, sinks: [Double]? = nil, chunk: Int? = nil
  ) -> Matrix<Double> {
    let scale = scale ?? 1 / Double(dk).squareRoot()
    var out = Matrix<Double>(rows: q.rows, columns: heads * dv)
    for h in activeHeads ?? Array(0..<heads) {
      let g = h / (heads / kvHeads)
      for i in 0..<q.rows {
        let position = queryStart + i
        let visible = (0...position).filter {
          (window == nil || $0 > position - window!) && (chunk == nil || $0 / chunk! == position / chunk!)
        }
        let scores = visible.map { j in
          scale * (0..<dk).reduce(0.0) { $0 + q[i, h * dk + $1] * k[j, g * dk + $1] }
        }
        let top = Swift.max(scores.max()!, sinks?[h] ?? -.infinity)
        let weights = scores.map { exp($0 - top) }
        let total = weights.reduce(0, +) + (sinks.map { exp($0[h] - top) } ?? 0)
        for c in 0..<dv {
          out[i, h * dv + c] = zip(visible, weights).reduce(0.0) { $0 + $1.1 * v[$1.0, g * dv + c] } / total
        }
      }
    }
    return out
  }
}
