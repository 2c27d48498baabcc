import RealModule

/// A seeded pseudo-random generator: xoshiro256** (Blackman & Vigna 2018, "Scrambled
/// linear pseudorandom number generators", arXiv 1805.01407), with its 256-bit state
/// filled from the 64-bit seed by SplitMix64 as the authors recommend.
///
/// Every random choice in MoEKit takes one of these (or any `RandomNumberGenerator`),
/// so the same seed gives the same numbers on every run and machine. Not for
/// cryptography.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable, Equatable {
  @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

  /// A generator whose whole sequence is determined by `seed`.
  public init(seed: UInt64) {
    var x = seed
    func splitMix() -> UInt64 {
      x &+= 0x9E37_79B9_7F4A_7C15
      var z = x
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    (s0, s1, s2, s3) = (splitMix(), splitMix(), splitMix(), splitMix())
  }

  /// The next 64 random bits.
  @inlinable
  public mutating func next() -> UInt64 {
    let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
    let t = s1 << 17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = s3 << 45 | s3 >> 19
    return result
  }
}

extension RandomNumberGenerator {
  /// A uniform draw from `[0, 1)` with every representable multiple of `2^-(p)` equally
  /// likely, `p` being `Scalar`'s significand precision (24 bits for Float, 53 for Double).
  @inlinable
  public mutating func nextUniform<Scalar: BLASScalar>(_: Scalar.Type = Scalar.self) -> Scalar {
    let bits = Scalar.significandBitCount + 1
    return Scalar(next() >> UInt64(64 - bits))
      * Scalar(sign: .plus, exponent: Scalar.Exponent(-bits), significand: 1)
  }

  /// A standard normal draw (mean 0, variance 1) by the Box–Muller transform, computed in
  /// `Double` and rounded to `Scalar`; it consumes two 64-bit outputs.
  @inlinable
  public mutating func nextNormal<Scalar: BLASScalar>(_: Scalar.Type = Scalar.self) -> Scalar {
    let u1 = 1 - nextUniform(Double.self)  // (0, 1], so the logarithm is finite
    let u2 = nextUniform(Double.self)
    return Scalar(Double.sqrt(-2 * Double.log(u1)) * Double.cos(2 * Double.pi * u2))
  }
}
