import Foundation
import Linalg
import MoE
import ModelIO
import Testing

@testable import Serving

/// Continuous batching: answers equal to generation alone whatever runs beside them, limits
/// that refuse or queue, cancelled requests that free their slots, stop ids and strings.
@Suite struct BatchSchedulerTests {
  /// Two MoE layers of 8 experts, top-2 (d 32), over 64 tokens.
  static func model() -> DecoderModel<Float> {
    var g = Xoshiro256StarStar(seed: 77)
    return DecoderModel<Float>(
      vocabulary: 64, dimensions: 32, layout: StackLayout(isMoE: [true, true]), denseHiddenDimensions: 48,
      using: &g,
      makeAttention: { _, g in .grouped(MultiHeadAttention(dimensions: 32, heads: 4, kvHeads: 2, using: &g))
      },
      makeMoE: { _, g in
        MoELayer(
          dimensions: 32, hiddenDimensions: 24,
          router: TopKSoftmaxRouter(dimensions: 32, expertCount: 8, k: 2, using: &g), using: &g)
      })
  }

  /// Every event of a stream.
  static func collect(_ stream: AsyncStream<GenerationEvent>) async -> (
    ids: [Int], text: String, end: GenerationEvent.FinishReason?, usage: GenerationEvent.Usage?
  ) {
    var (ids, text) = ([Int](), "")
    for await event in stream {
      switch event {
      case .token(let token):
        if token.id >= 0 { ids.append(token.id) }
        text += token.text
      case .finished(let reason, let usage): return (ids, text, reason, usage)
      }
    }
    return (ids, text, nil, nil)
  }

  /// Sixteen greedy requests with prompts of 1 to 16 tokens, submitted together and run in
  /// batches of up to 16 with prefill chunks of 8, give exactly the tokens each gets alone.
  @Test func answersDoNotDependOnTheCompany() async throws {
    let model = Self.model()
    var limits = BatchScheduler.Limits()
    (limits.maxContext, limits.prefillChunk) = (64, 8)
    let scheduler = BatchScheduler(model: model, tokenizer: nil, limits: limits)
    let prompts = (1...16).map { n in (0..<n).map { (n * 7 + $0 * 3) % 64 } }
    let streams = try prompts.map { try scheduler.submit(.init(prompt: $0, maxTokens: 10)) }
    scheduler.start()
    for (prompt, stream) in zip(prompts, streams) {
      let result = await Self.collect(stream)
      let alone = try model.generate(prompt: prompt, count: 10)
      #expect(result.ids == alone, "prompt of \(prompt.count)")
      #expect(
        result.end == .length && result.usage == .init(promptTokens: prompt.count, completionTokens: 10))
    }
    #expect(scheduler.metrics.prometheusText().contains("moekit_generated_tokens_total 160"))
    scheduler.stop(drain: true)
  }

  @Test func limitsRefuseOrQueue() async throws {
    var limits = BatchScheduler.Limits()
    (limits.maxContext, limits.queueLimit, limits.maxSequences) = (20, 2, 1)
    let scheduler = BatchScheduler(model: Self.model(), tokenizer: nil, limits: limits)
    #expect(
      throws: ServingError.contextExceeded(
        promptTokens: 15, maxTokens: 6, limit: 20, what: "the context holds")
    ) {
      try scheduler.submit(.init(prompt: Array(repeating: 1, count: 15), maxTokens: 6))
    }
    #expect(throws: ServingError.self) { try scheduler.submit(.init(prompt: [], maxTokens: 1)) }
    #expect(throws: ServingError.self) { try scheduler.submit(.init(prompt: [64], maxTokens: 1)) }
    // Without max_tokens a request fills the context.
    let first = try scheduler.submit(.init(prompt: [1, 2], maxTokens: nil))
    let second = try scheduler.submit(.init(prompt: [3], maxTokens: 2))
    #expect(throws: ServingError.overloaded(queued: 2)) {
      try scheduler.submit(.init(prompt: [4], maxTokens: 2))
    }
    scheduler.start()
    #expect(await Self.collect(first).usage?.completionTokens == 18)
    #expect(await Self.collect(second).usage?.completionTokens == 2)
    scheduler.stop(drain: true)
    #expect(throws: ServingError.shuttingDown) { try scheduler.submit(.init(prompt: [1], maxTokens: 1)) }
  }

  /// A request whose stream is dropped leaves the batch — waiting or running — so one slot
  /// serves the next. (The running one asks for far more tokens than it could make in the
  /// test's time, so the next request can only be answered if the dropped one left.)
  @Test func aDroppedStreamFreesItsSlot() async throws {
    var limits = BatchScheduler.Limits()
    (limits.maxContext, limits.maxSequences, limits.kvBudgetBytes) = (1 << 20, 1, 1 << 30)
    let scheduler = BatchScheduler(model: Self.model(), tokenizer: nil, limits: limits)
    do { _ = try scheduler.submit(.init(prompt: [1], maxTokens: 50)) }  // dropped while waiting
    scheduler.start()
    do {
      let long = try scheduler.submit(.init(prompt: [1], maxTokens: 500_000))
      for await event in long {
        if case .token = event { break }
      }
    }
    let next = try scheduler.submit(.init(prompt: [2], maxTokens: 3))
    let result = await Self.collect(next)
    #expect(result.ids.count == 3 && result.end == .length)
    let generated = scheduler.metrics.prometheusText().split(separator: "\n")
      .first { $0.hasPrefix("moekit_generated_tokens_total ") }.flatMap { Int($0.split(separator: " ")[1]) }
    #expect((generated ?? .max) < 100_000)
    scheduler.stop(drain: false)
  }

  /// An end-of-sequence id ends the answer without being sent; a stop string ends it before
  /// the string, across tokens; the text is the tokenizer's decoding of what was sent.
  @Test func stopIdsAndStringsEndTheAnswer() async throws {
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("ModelIOTests/Fixtures/gguf/models/mixtral-small-F32.gguf").path
    let loaded = try HuggingFaceModel(folder: folder)
    let tokenizer = try #require(loaded.tokenizer)
    let prompt = try tokenizer.encode("def main():")
    let alone = try loaded.model.generate(prompt: prompt, count: 12)
    let scheduler = BatchScheduler(model: loaded.model, tokenizer: tokenizer, limits: .init())
    scheduler.start()
    let full = await Self.collect(try scheduler.submit(.init(prompt: prompt, maxTokens: 12)))
    let decoded = try tokenizer.decode(alone)
    #expect(full.ids == alone && full.text == decoded)
    let byId = await Self.collect(
      try scheduler.submit(.init(prompt: prompt, maxTokens: 12, stopIds: [alone[4]])))
    #expect(byId.ids == Array(alone.prefix(alone.firstIndex(of: alone[4])!)) && byId.end == .stop)
    let cut = full.text.index(full.text.startIndex, offsetBy: full.text.count / 2)
    let stop = String(full.text[cut...].prefix(3))
    let byString = await Self.collect(
      try scheduler.submit(.init(prompt: prompt, maxTokens: 12, stopStrings: [stop])))
    #expect(
      byString.text == String(full.text[..<full.text.range(of: stop)!.lowerBound]) && byString.end == .stop)
    let withLogprobs = await Self.collect(
      try scheduler.submit(.init(prompt: prompt, maxTokens: 2, logprobs: 3)))
    #expect(withLogprobs.ids == Array(alone.prefix(2)))
    scheduler.stop(drain: true)
  }
}
