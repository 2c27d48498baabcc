/// One metadata value of a GGUF file (the value types GGUF 3 defines).
public enum GGUFValue: Sendable, Equatable {
  /// `UINT8`, `UINT16`, `UINT32`, `UINT64`.
  case unsigned(UInt64)
  /// `INT8`, `INT16`, `INT32`, `INT64`.
  case signed(Int64)
  /// `FLOAT32`, `FLOAT64`.
  case float(Double)
  /// `BOOL`.
  case bool(Bool)
  /// `STRING` (UTF-8).
  case string(String)
  /// `ARRAY` of one element type.
  indirect case array([GGUFValue])

  /// The value as a whole number, if it is one that fits `Int`.
  public var integer: Int? {
    switch self {
    case .unsigned(let u): u <= UInt64(Int.max) ? Int(u) : nil
    case .signed(let i): Int(i)
    default: nil
    }
  }

  /// The value as a number, if it is one (a float, or a whole number).
  public var number: Double? {
    if case .float(let x) = self { return x }
    return integer.map(Double.init)
  }

  /// The value as a string, if it is one.
  public var string: String? {
    if case .string(let s) = self { return s }
    return nil
  }
}
