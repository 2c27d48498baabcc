/// What is wrong with a `.npy` file; each case says what and where.
public enum NpyError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file could not be read or written.
  case unreadableFile(path: String, reason: String)
  /// The file does not start with `\x93NUMPY`.
  case notNpy
  /// A format version other than 1.0 or 2.0 (3.0 only changes the header encoding).
  case unsupportedVersion(major: Int, minor: Int)
  /// The file ends inside the preamble, the header or the data.
  case truncated(expected: Int, actual: Int)
  /// The header dictionary cannot be parsed.
  case invalidHeader(String)
  /// An element type other than `<f4`, `<f8` or `<i8`.
  case unsupportedDataType(String)
  /// Fortran (column-major) order.
  case fortranOrder
  /// More than two dimensions where a matrix was asked for.
  case unsupportedRank([Int])
  /// An integer array was asked for as a matrix, or the other way round.
  case wrongKind(String)

  /// The problem.
  public var description: String {
    switch self {
    case .unreadableFile(let path, let reason): "cannot read \(path): \(reason)"
    case .notNpy: "not a .npy file (the magic string \\x93NUMPY is missing)"
    case .unsupportedVersion(let major, let minor):
      ".npy format version \(major).\(minor) is not supported (1.0 and 2.0 are)"
    case .truncated(let expected, let actual):
      ".npy file is truncated: needs \(expected) bytes, has \(actual)"
    case .invalidHeader(let problem): ".npy header: \(problem)"
    case .unsupportedDataType(let descr): ".npy dtype \(descr) is not supported (<f4, <f8, <i8 are)"
    case .fortranOrder: ".npy arrays in Fortran order are not supported; save with C order"
    case .unsupportedRank(let shape): ".npy array of shape \(shape) has more than 2 dimensions"
    case .wrongKind(let problem): ".npy: \(problem)"
    }
  }
}
