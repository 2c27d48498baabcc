import CMPI

/// An element type the collectives can carry: `Float`, `Double`, `Int` (64-bit) and
/// `UInt64`. Which MPI datatype each one travels as is the module's business.
public protocol MPIElement: Sendable {}

extension Float: MPIElement {}
extension Double: MPIElement {}
extension Int: MPIElement {}
extension UInt64: MPIElement {}

extension MPIElement {
  /// The MPI datatype of `Self`.
  static var datatype: MPI_Datatype {
    switch Self.self {
    case is Float.Type: cmpi_float()
    case is Double.Type: cmpi_double()
    case is UInt64.Type: cmpi_uint64()
    default:
      // `Int` is the remaining conformance; MoEKit's platforms are 64-bit.
      cmpi_int64()
    }
  }
}
