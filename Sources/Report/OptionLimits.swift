import Foundation

/// Checks a program's options before it starts: each within the range the library
/// accepts, and the bytes the run will hold within the machine's memory — so that no
/// validated option ends in a failed allocation, a trapping conversion or a library
/// precondition.
public enum OptionLimits {
  /// An option outside what the run can do, in words that name it.
  public struct Violation: Error, Equatable, CustomStringConvertible {
    /// What is wrong, naming the option.
    public let description: String

    /// A violation with this message.
    public init(_ description: String) { self.description = description }
  }

  /// Thread counts any option accepts (OpenBLAS takes an `Int32`; more than this many
  /// threads is never useful on one machine).
  public static let threads: ClosedRange<Int> = 1...1024

  /// The share of physical memory a run may plan to hold.
  public static let memoryShare = 0.8

  /// Throws unless `value` of the option `name` (as the user types it, `--tokens`) lies in
  /// `range`.
  public static func check<T: Comparable>(_ name: String, _ value: T, in range: ClosedRange<T>) throws {
    guard range.contains(value) else {
      throw Violation("\(name) must be in \(range.lowerBound)...\(range.upperBound), got \(value)")
    }
  }

  /// Throws when a run that holds about `bytes` (computed in `Double`, so no size
  /// overflows) would take more than `memoryShare` of this machine's memory; `what`
  /// names the options that set the size.
  public static func checkMemory(_ bytes: Double, for what: String) throws {
    let available = Double(ProcessInfo.processInfo.physicalMemory) * memoryShare
    guard bytes <= available else {
      throw Violation(
        "\(what) would hold about \(Format.bytes(bytes)), more than \(Int(memoryShare * 100)) % of this "
          + "machine's \(Format.bytes(Double(ProcessInfo.processInfo.physicalMemory)))")
    }
  }
}
