import Linalg

/// A tensor ready to be written: element type, shape and little-endian bytes.
public struct Tensor: Sendable, Equatable {
  /// The element type.
  public var dataType: SafeTensorsDataType
  /// The dimensions.
  public var shape: [Int]
  /// The elements' little-endian bytes, row-major.
  public var bytes: [UInt8]

  /// A tensor holding `matrix` (shape `[rows, columns]` unless `shape` says otherwise —
  /// `[columns]` for a vector, say) stored as `dataType`, rounding to nearest where it
  /// narrows.
  ///
  /// - Precondition: `dataType` is floating point and `shape` has `matrix.count` elements.
  public init<Scalar: BLASScalar>(
    _ matrix: Matrix<Scalar>, shape: [Int]? = nil, as dataType: SafeTensorsDataType
  ) {
    let shape = shape ?? [matrix.rows, matrix.columns]
    precondition(dataType.isFloatingPoint, "Tensor: \(dataType.rawValue) is not a floating-point type")
    precondition(
      shape.reduce(1, *) == matrix.count, "Tensor: shape \(shape) does not hold \(matrix.count) elements")
    var bytes: [UInt8] = []
    bytes.reserveCapacity(matrix.count * dataType.size)
    for x in matrix.elements {
      switch dataType {
      case .f16: ElementDecoding.append(Float16(Float(x)).bitPattern, to: &bytes)
      case .bf16: ElementDecoding.append(ElementDecoding.bfloat16Bits(Float(x)), to: &bytes)
      case .f32: ElementDecoding.append(Float(x).bitPattern, to: &bytes)
      default: ElementDecoding.append(Double(x).bitPattern, to: &bytes)
      }
    }
    self.init(dataType: dataType, shape: shape, bytes: bytes)
  }

  /// A tensor of integers stored as I32 or I64.
  ///
  /// - Precondition: `dataType` is an integer type, `shape` has `values.count` elements and
  ///   every value fits.
  public init(integers values: [Int], shape: [Int], as dataType: SafeTensorsDataType = .i64) {
    precondition(!dataType.isFloatingPoint, "Tensor: \(dataType.rawValue) is not an integer type")
    precondition(
      shape.reduce(1, *) == values.count, "Tensor: shape \(shape) does not hold \(values.count) elements")
    var bytes: [UInt8] = []
    for v in values {
      switch dataType {
      case .u8:
        precondition(UInt8(exactly: v) != nil, "Tensor: \(v) does not fit U8")
        bytes.append(UInt8(v))
      case .i32:
        precondition(Int32(exactly: v) != nil, "Tensor: \(v) does not fit I32")
        ElementDecoding.append(Int32(v), to: &bytes)
      default:
        ElementDecoding.append(Int64(v), to: &bytes)
      }
    }
    self.init(dataType: dataType, shape: shape, bytes: bytes)
  }

  /// A tensor from its raw parts.
  ///
  /// - Precondition: `bytes` holds exactly `shape` elements of `dataType`.
  public init(dataType: SafeTensorsDataType, shape: [Int], bytes: [UInt8]) {
    precondition(
      bytes.count == shape.reduce(1, *) * dataType.size,
      "Tensor: \(bytes.count) bytes for shape \(shape) of \(dataType.rawValue)")
    self.dataType = dataType
    self.shape = shape
    self.bytes = bytes
  }
}
