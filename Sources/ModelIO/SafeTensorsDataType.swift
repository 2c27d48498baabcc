/// The element types of safetensors files MoEKit reads and writes (little-endian).
public enum SafeTensorsDataType: String, Sendable, CaseIterable, Equatable {
  /// IEEE half precision.
  case f16 = "F16"
  /// bfloat16.
  case bf16 = "BF16"
  /// IEEE single precision.
  case f32 = "F32"
  /// IEEE double precision.
  case f64 = "F64"
  /// 32-bit signed integers.
  case i32 = "I32"
  /// 64-bit signed integers.
  case i64 = "I64"
  /// Unsigned bytes (the quants of MoEKit's q8 and q4 checkpoints).
  case u8 = "U8"

  /// Bytes per element.
  public var size: Int {
    switch self {
    case .u8: 1
    case .f16, .bf16: 2
    case .f32, .i32: 4
    case .f64, .i64: 8
    }
  }

  /// Whether the elements are floating point.
  public var isFloatingPoint: Bool { self != .i32 && self != .i64 && self != .u8 }
}
