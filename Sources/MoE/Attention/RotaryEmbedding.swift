import Foundation
import Linalg

/// Rotary position embedding (RoPE; Su et al. 2021, arXiv 2104.09864), in the "rotate
/// half" layout of Hugging Face's Llama, Mistral, Mixtral and Qwen: of each head's first
/// `R = rotatedDimensions` features (all `D` unless partial), feature `i < R/2` pairs with
/// feature `i + R/2`, and the pair at position `p` turns by the angle `p·θᵢ`:
/// `x′ᵢ = a·(xᵢ·cos(pθᵢ) − x_{i+R/2}·sin(pθᵢ))`, `x′_{i+R/2} = a·(x_{i+R/2}·cos(pθᵢ) + xᵢ·sin(pθᵢ))`,
/// where `θᵢ = base^(−2i/R)` before `scaling` adjusts it, and `a` is the scaling's
/// attention factor (1 but for YaRN). Features past `R` pass through unchanged (GLM's
/// partial rotary).
///
/// The dot product of two rotated vectors depends only on the difference of their
/// positions, which is what makes attention scores relative. Angles are computed in
/// `Double`.
public struct RotaryEmbedding: Sendable, Equatable {
  /// `D`, the width of a head.
  public let headDimensions: Int
  /// `R`, the leading features of each head that rotate (even, at most `D`).
  public let rotatedDimensions: Int
  /// The frequency base (`rope_theta`; 10 000 in Llama 2, 1 000 000 in Mixtral).
  public let base: Double
  /// How the frequencies are stretched for long contexts.
  public let scaling: Scaling
  /// `θᵢ` for `i < R/2`, after scaling.
  public let frequencies: [Double]
  /// `a`, the factor on cos and sin (YaRN's `attention_factor`; 1 otherwise).
  public let attentionFactor: Double

  /// The context-extension schemes of `transformers`' `rope_type`.
  public enum Scaling: Sendable, Equatable {
    /// Plain RoPE (`default`).
    case none
    /// Position interpolation (`linear`; Chen et al. 2023, arXiv 2306.15595): `θᵢ / factor`.
    case linear(factor: Double)
    /// Llama 3.1's band-wise scaling (`llama3`): wavelengths `λ = 2π/θ` longer than
    /// `L/lowFrequencyFactor` are divided by `factor`, shorter than
    /// `L/highFrequencyFactor` kept, and those between blended by
    /// `s = (L/λ − low)/(high − low)`: `θ′ = (1 − s)·θ/factor + s·θ`, with `L` the
    /// original context.
    case llama3(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalContext: Int)
    /// YaRN (Peng et al. 2023, arXiv 2309.00071): `θ′ = θ/factor·(1 − e) + θ·e` with the
    /// extrapolation share `e = 1 − ramp(i)` a linear ramp between the dimensions whose
    /// wavelength turns `betaFast` and `betaSlow` times over the original context
    /// (floored and ceiled when `truncate`), and cos/sin scaled by `attentionFactor`
    /// (default `0.1·ln(factor) + 1`, or the ratio of the two `mscale` values when both
    /// are given).
    case yarn(
      factor: Double, originalContext: Int, betaFast: Double = 32, betaSlow: Double = 1,
      attentionFactor: Double? = nil, truncate: Bool = true)
  }

  /// A rotation for heads of `headDimensions` features, of which the first
  /// `rotatedDimensions` (default all) rotate.
  ///
  /// - Precondition: `rotatedDimensions` is even, positive and at most `headDimensions`;
  ///   `base > 1`; scaling factors positive.
  public init(
    headDimensions: Int, rotatedDimensions: Int? = nil, base: Double = 10_000, scaling: Scaling = .none
  ) {
    let r = rotatedDimensions ?? headDimensions
    precondition(
      r > 0 && r % 2 == 0 && r <= headDimensions,
      "RotaryEmbedding: rotated dimensions \(r) must be even, positive and at most the head's \(headDimensions)"
    )
    precondition(base > 1, "RotaryEmbedding: base \(base) must exceed 1")
    self.headDimensions = headDimensions
    self.rotatedDimensions = r
    self.base = base
    self.scaling = scaling
    let plain = (0..<r / 2).map { Foundation.pow(base, -2 * Double($0) / Double(r)) }
    switch scaling {
    case .none:
      (frequencies, attentionFactor) = (plain, 1)
    case .linear(let factor):
      precondition(factor > 0, "RotaryEmbedding: linear factor \(factor) must be positive")
      (frequencies, attentionFactor) = (plain.map { $0 / factor }, 1)
    case .llama3(let factor, let low, let high, let context):
      precondition(
        factor > 0 && low > 0 && high > low && context > 0,
        "RotaryEmbedding: llama3 scaling needs factor > 0, 0 < low < high frequency factors, context > 0")
      let (longest, shortest) = (Double(context) / low, Double(context) / high)
      frequencies = plain.map { theta in
        let wavelength = 2 * Double.pi / theta
        if wavelength < shortest { return theta }
        if wavelength > longest { return theta / factor }
        let s = (Double(context) / wavelength - low) / (high - low)
        return (1 - s) * theta / factor + s * theta
      }
      attentionFactor = 1
    case .yarn(let factor, let context, let fast, let slow, let given, let truncate):
      precondition(factor > 0 && context > 0, "RotaryEmbedding: yarn needs a positive factor and context")
      func dimension(_ rotations: Double) -> Double {
        Double(r) * Foundation.log(Double(context) / (rotations * 2 * Double.pi)) / (2 * Foundation.log(base))
      }
      var (low, high) = (dimension(fast), dimension(slow))
      if truncate { (low, high) = (low.rounded(.down), high.rounded(.up)) }
      (low, high) = (Swift.max(low, 0), Swift.min(high, Double(r - 1)))
      if low == high { high += 0.001 }
      frequencies = plain.enumerated().map { i, theta in
        let extrapolation = 1 - Swift.min(Swift.max((Double(i) - low) / (high - low), 0), 1)
        return theta / factor * (1 - extrapolation) + theta * extrapolation
      }
      attentionFactor = given ?? Self.yarnMagnitude(factor)
    }
  }

  /// YaRN's `mscale`: `0.1·m·ln(factor) + 1` for `factor > 1`, else 1.
  public static func yarnMagnitude(_ factor: Double, _ m: Double = 1) -> Double {
    factor <= 1 ? 1 : 0.1 * m * Foundation.log(factor) + 1
  }

  /// Rotates every head of `x` (`rows × heads·D`, heads side by side), row `r` at
  /// `positions[r]`; `inverse` applies the transpose instead (the backward pass: the map
  /// is `a` times a rotation, so its transpose turns the other way by the same factor).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func apply<Scalar: BLASScalar>(_ x: inout Matrix<Scalar>, positions: [Int], inverse: Bool = false) {
    let d = headDimensions
    let half = rotatedDimensions / 2
    precondition(
      x.columns % d == 0 && positions.count == x.rows,
      "RotaryEmbedding: \(x.rows)×\(x.columns) is not rows × heads·\(d) for \(positions.count) positions")
    let heads = x.columns / d
    let n = x.columns
    let a = attentionFactor
    x.withUnsafeMutableBufferPointer { p in
      for (r, position) in positions.enumerated() {
        for i in 0..<half {
          let angle = Double(position) * frequencies[i]
          let (c, s) = (
            Scalar(a * Foundation.cos(angle)),
            Scalar(a * (inverse ? -Foundation.sin(angle) : Foundation.sin(angle)))
          )
          for h in 0..<heads {
            let j = r * n + h * d + i
            let (x1, x2) = (p[j], p[j + half])
            p[j] = x1 * c - x2 * s
            p[j + half] = x2 * c + x1 * s
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
