/// How a token stream longer than a model's context is scored: windows of at most `context`
/// tokens starting every `stride` tokens (one token earlier where `stride = context` would
/// leave a window's first target without history), each scoring only the targets the windows
/// before it did not, so every token after the first is predicted once, with at least
/// `context − stride` tokens of history once the stream is that long (Hugging Face's
/// "Perplexity of fixed-length models" scheme).
public struct ScoringWindows: Sequence, Sendable {
  /// One window: the tokens it feeds the model, and the positions whose tokens it scores
  /// (each predicted from the logits one position earlier).
  public struct Window: Sendable, Equatable {
    /// Token positions fed to the model.
    public var tokens: Range<Int>
    /// Token positions scored (a suffix of `tokens`, never its first position).
    public var targets: Range<Int>

    /// The rows of the window's logits (one a fed token) that predict `targets`: each target's
    /// position less one, counted from the window's start.
    public var predictingRows: Range<Int> {
      (targets.lowerBound - 1 - tokens.lowerBound)..<(targets.upperBound - 1 - tokens.lowerBound)
    }
  }

  let windows: [Window]

  /// The windows over `count` tokens.
  ///
  /// - Precondition: `context ≥ 2` and `1 ≤ stride ≤ context`.
  public init(count: Int, context: Int, stride: Int) {
    precondition(
      context >= 2 && (1...context).contains(stride), "ScoringWindows: context \(context), stride \(stride)")
    var windows: [Window] = []
    var (begin, scoredUpTo) = (0, 1)
    while scoredUpTo < count {
      let end = Swift.min(begin + context, count)
      windows.append(Window(tokens: begin..<end, targets: Swift.max(scoredUpTo, begin + 1)..<end))
      scoredUpTo = end
      // The next window starts `stride` later, but no later than one token of history before
      // the first target it scores.
      begin = Swift.min(begin + stride, scoredUpTo - 1)
    }
    self.windows = windows
  }

  /// The windows in order.
  public func makeIterator() -> IndexingIterator<[Window]> { windows.makeIterator() }

  /// How many windows there are.
  public var count: Int { windows.count }
}
