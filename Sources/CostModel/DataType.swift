/// The number format weights and caches are stored in.
public enum DataType: String, Sendable, CaseIterable, Equatable {
  /// IEEE single precision, 4 bytes.
  case fp32
  /// bfloat16, 2 bytes.
  case bf16
  /// IEEE half precision, 2 bytes.
  case fp16
  /// 8-bit floating point (E4M3/E5M2), 1 byte.
  case fp8
  /// 4-bit integers, half a byte; quantisation scales are not counted.
  case int4

  /// Bytes per scalar.
  public var bytes: Double {
    switch self {
    case .fp32: 4
    case .bf16, .fp16: 2
    case .fp8: 1
    case .int4: 0.5
    }
  }
}
