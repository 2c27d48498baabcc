import Foundation
import Linalg

/// Where a model's forward passes spend their time, operation by operation: the embedding,
/// each norm, the attention projections, attention itself, the router, the experts' products,
/// their combination, the shared expert, the head. Each operation's wall time, calls and the
/// weight bytes its products read are accumulated under the current `phase` ("prefill",
/// "decode"), so that a caller can divide by the steps it ran and set the bytes against the
/// time (achieved GB/s).
///
/// Profiling costs nothing when off: the library measures through `measure`, which only times
/// when a profile is installed for the current task (`profiling(_:)`).
public final class OperationProfile: @unchecked Sendable {
  /// One operation's totals.
  public struct Entry: Sendable, Equatable {
    /// Wall time, in seconds.
    public var seconds: Double = 0
    /// Times it ran.
    public var calls = 0
    /// Weight bytes its products read.
    public var bytes = 0
  }

  /// The profile measures go to, for the current task.
  @TaskLocal public static var current: OperationProfile?

  /// The phase new measurements count under.
  public var phase: String {
    get { lock.withLock { currentPhase } }
    set { lock.withLock { currentPhase = newValue } }
  }
  private var currentPhase: String
  private var entries: [String: [String: Entry]] = [:]
  private var orders: [String: [String]] = [:]
  private let lock = NSLock()

  /// An empty profile counting under `phase`.
  public init(phase: String = "prefill") { currentPhase = phase }

  /// `body` with this profile installed for the current task (and the tasks it starts).
  public func profiling<T>(_ body: () throws -> T) rethrows -> T {
    try Self.$current.withValue(self) { try body() }
  }

  /// `body`, timed as operation `name` (reading `bytes` of weights) when a profile is installed.
  @inlinable
  public static func measure<T>(_ name: String, bytes: @autoclosure () -> Int = 0, _ body: () throws -> T)
    rethrows
    -> T
  {
    guard let profile = current else { return try body() }
    let start = DispatchTime.now().uptimeNanoseconds
    let result = try body()
    profile.record(name, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9, bytes: bytes())
    return result
  }

  /// Adds one call of `name`.
  public func record(_ name: String, seconds: Double, bytes: Int) {
    lock.withLock {
      if entries[currentPhase]?[name] == nil { orders[currentPhase, default: []].append(name) }
      var entry = entries[currentPhase]?[name] ?? Entry()
      entry.seconds += seconds
      entry.calls += 1
      entry.bytes += bytes
      entries[currentPhase, default: [:]][name] = entry
    }
  }

  /// The operations of `phase` in the order they first ran, with their totals.
  public func entries(of phase: String) -> [(name: String, entry: Entry)] {
    lock.withLock { (orders[phase] ?? []).map { ($0, entries[phase]![$0]!) } }
  }
}
