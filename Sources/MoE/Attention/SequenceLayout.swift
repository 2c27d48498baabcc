/// How the rows of a `tokens × features` batch divide into sequences: consecutive blocks,
/// each a sequence starting at position 0. Attention never looks across a boundary.
public struct SequenceLayout: Sendable, Equatable {
  /// Each sequence's length, in row order.
  public var lengths: [Int]

  /// Sequences of the given lengths.
  ///
  /// - Precondition: every length is positive.
  public init(lengths: [Int]) {
    precondition(lengths.allSatisfy { $0 > 0 }, "SequenceLayout: lengths \(lengths) must all be positive")
    self.lengths = lengths
  }

  /// One sequence of `tokens` rows.
  public static func single(_ tokens: Int) -> SequenceLayout { SequenceLayout(lengths: [tokens]) }

  /// `count` sequences of `length` rows each.
  public static func uniform(count: Int, length: Int) -> SequenceLayout {
    SequenceLayout(lengths: Array(repeating: length, count: count))
  }

  /// Total rows.
  public var tokens: Int { lengths.reduce(0, +) }

  /// Each sequence's rows.
  public var ranges: [Range<Int>] {
    var start = 0
    return lengths.map { length in
      defer { start += length }
      return start..<start + length
    }
  }

  /// Each row's position within its sequence (`0, 1, …` from every boundary).
  public var positions: [Int] { lengths.flatMap { 0..<$0 } }
}
