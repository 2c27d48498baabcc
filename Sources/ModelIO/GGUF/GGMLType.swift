import Linalg

/// A tensor element type of ggml (the `ggml_type` numbers GGUF files store), with the block
/// layout of each type MoEKit reads: `blockSize` elements in `blockBytes` bytes.
///
/// Layouts (little-endian; `d`, `dmin` IEEE halves):
/// - `f32`, `f16`, `bf16`: one element per block.
/// - `q8_0`: 32 elements in 34 bytes: `d`, then 32 `int8` `q`; element `d·q`.
/// - `q4_0`: 32 in 18: `d`, then 16 bytes whose byte `j` holds element `j` in its low nibble and
///   element `j + 16` in its high one, as `q + 8`; element `d·q`.
/// - `q4_K`: 256 in 144: `d`, `dmin`, 12 bytes of eight 6-bit scales and minimums (see
///   `WeightMatrix`), 128 bytes of 4-bit `q` (each 32-byte group holds a sub-block of 32
///   in its low nibbles, the next in its high ones); element `d·sc·q − dmin·m`.
/// - `q5_K`: 256 in 176: as `q4_K` with 32 bytes of fifth bits before the low nibbles.
/// - `q6_K`: 256 in 210: 128 bytes of low nibbles, 64 of high pairs, 16 `int8` scales (one per
///   16 elements), then `d`; element `d·scale·(q − 32)`.
/// - `mxfp4`: 32 in 17: an E8M0 exponent, then 16 bytes of FP4 (E2M1) codes, low nibbles
///   elements 0…15, high ones 16…31; element `2^(e−127) · fp4(code)`.
///
/// ### References
/// ggml's `ggml-common.h` block structures; the `gguf` Python package's `quants.py`; OCP
/// "Microscaling Formats (MX) v1.0" for MXFP4.
public enum GGMLType: UInt32, Sendable, CaseIterable {
  case f32 = 0
  case f16 = 1
  case q4_0 = 2
  case q8_0 = 8
  case q4_K = 12
  case q5_K = 13
  case q6_K = 14
  case bf16 = 30
  case mxfp4 = 39

  /// Elements per block.
  public var blockSize: Int {
    switch self {
    case .f32, .f16, .bf16: 1
    case .q4_0, .q8_0, .mxfp4: 32
    case .q4_K, .q5_K, .q6_K: 256
    }
  }

  /// Bytes per block.
  public var blockBytes: Int {
    switch self {
    case .f32: 4
    case .f16, .bf16: 2
    case .q4_0: 18
    case .q8_0: 34
    case .q4_K: 144
    case .q5_K: 176
    case .q6_K: 210
    case .mxfp4: 17
    }
  }

  /// The `WeightMatrix` format that holds the type's numbers (Q8_0 and Q4_0 as MoEKit's q8
  /// and q4, the rest as they are), or `nil` for F32 and F16.
  public var weightFormat: WeightMatrix.Format? {
    switch self {
    case .f32, .f16: nil
    case .bf16: .bf16
    case .q8_0: .q8
    case .q4_0: .q4
    case .q4_K: .q4K
    case .q5_K: .q5K
    case .q6_K: .q6K
    case .mxfp4: .mxfp4
    }
  }

  /// ggml's name for the type (`Q4_K`).
  public var name: String {
    switch self {
    case .f32: "F32"
    case .f16: "F16"
    case .bf16: "BF16"
    case .q4_0: "Q4_0"
    case .q8_0: "Q8_0"
    case .q4_K: "Q4_K"
    case .q5_K: "Q5_K"
    case .q6_K: "Q6_K"
    case .mxfp4: "MXFP4"
    }
  }

  /// The names of ggml's other types, for errors that name what a file holds.
  static let otherNames: [UInt32: String] = [
    3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 15: "Q8_K", 16: "IQ2_XXS",
    17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8",
    25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M", 34: "TQ1_0", 35: "TQ2_0", 40: "NVFP4",
  ]
}
