import Foundation

/// Generated text cut at the first of a request's stop strings, piece by piece: `append`
/// returns what can be sent now — all but a tail that may still grow into a stop string — and
/// once a stop string is complete, the text before it and nothing after (`stopped`). The
/// concatenation of what `append` and `finish` return is the text up to the earliest stop
/// string, or all of it.
struct StopMatcher {
  /// The stop strings (none empty).
  let stops: [String]
  /// Text not returned yet: a suffix that is a prefix of a stop string.
  private var held = ""
  /// Whether a stop string has completed.
  private(set) var stopped = false

  init(stops: [String]) { self.stops = stops }

  /// The text that `piece` makes safe to send.
  mutating func append(_ piece: String) -> String {
    guard !stopped else { return "" }
    held += piece
    guard !stops.isEmpty else {
      defer { held = "" }
      return held
    }
    let earliest = stops.compactMap { held.range(of: $0)?.lowerBound }.min()
    if let earliest {
      stopped = true
      defer { held = "" }
      return String(held[..<earliest])
    }
    var keep = 0
    for stop in stops {
      for n in stride(from: min(stop.count - 1, held.count), to: keep, by: -1)
      where held.hasSuffix(stop.prefix(n)) {
        keep = n
        break
      }
    }
    defer { held = String(held.suffix(keep)) }
    return String(held.dropLast(keep))
  }

  /// What is still held back, when the text ends without a stop string.
  mutating func finish() -> String {
    defer { held = "" }
    return stopped ? "" : held
  }
}
