import Foundation
import Linalg

/// Rotary position embedding (RoPE; Su et al. 2021, arXiv 2104.09864), in the "rotate
/// half" layout of Hugging Face's Llama, Mistral, Mixtral and Qwen: in each head's vector
/// of `D` features, feature `i < D/2` pairs with feature `i + D/2`, and the pair at
/// position `p` turns by the angle `p·θᵢ`, `θᵢ = base^(−2i/D)`:
/// `x′ᵢ = xᵢ·cos(pθᵢ) − x_{i+D/2}·sin(pθᵢ)`, `x′_{i+D/2} = x_{i+D/2}·cos(pθᵢ) + xᵢ·sin(pθᵢ)`.
///
/// The dot product of two rotated vectors depends only on the difference of their
/// positions, which is what makes attention scores relative. Angles are computed in
/// `Double`.
public struct RotaryEmbedding: Sendable, Equatable {
  /// `D`, even.
  public var headDimensions: Int
  /// The frequency base (`rope_theta`; 10 000 in Llama 2, 1 000 000 in Mixtral).
  public var base: Double

  /// A rotation for heads of `headDimensions` features.
  ///
  /// - Precondition: `headDimensions` is even and positive; `base > 1`.
  public init(headDimensions: Int, base: Double = 10_000) {
    precondition(
      headDimensions > 0 && headDimensions % 2 == 0,
      "RotaryEmbedding: head dimensions \(headDimensions) must be even and positive")
    precondition(base > 1, "RotaryEmbedding: base \(base) must exceed 1")
    self.headDimensions = headDimensions
    self.base = base
  }

  /// Rotates every head of `x` (`rows × heads·D`, heads side by side), row `r` at
  /// `positions[r]`; `inverse` turns the other way (the backward pass: the rotation is
  /// orthogonal, so its gradient is its inverse).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func apply<Scalar: BLASScalar>(_ x: inout Matrix<Scalar>, positions: [Int], inverse: Bool = false) {
    let d = headDimensions
    let half = d / 2
    precondition(
      x.columns % d == 0 && positions.count == x.rows,
      "RotaryEmbedding: \(x.rows)×\(x.columns) is not rows × heads·\(d) for \(positions.count) positions")
    let heads = x.columns / d
    let frequencies = (0..<half).map { Foundation.pow(base, -2 * Double($0) / Double(d)) }
    let n = x.columns
    x.withUnsafeMutableBufferPointer { p in
      for (r, position) in positions.enumerated() {
        for i in 0..<half {
          let angle = Double(position) * frequencies[i]
          let (c, s) = (
            Scalar(Foundation.cos(angle)), Scalar(inverse ? -Foundation.sin(angle) : Foundation.sin(angle))
          )
          for h in 0..<heads {
            let a = r * n + h * d + i
            let (x1, x2) = (p[a], p[a + half])
            p[a] = x1 * c - x2 * s
            p[a + half] = x2 * c + x1 * s
          }
        }
      }
    }
  }

  /// `x` rotated (see `apply`).
  public func applied<Scalar: BLASScalar>(to x: Matrix<Scalar>, positions: [Int]) -> Matrix<Scalar> {
    var y = x
    apply(&y, positions: positions)
    return y
  }
}
