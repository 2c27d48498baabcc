import Foundation
import Linalg
import MoE
import ModelIO

/// Continuous batching on one model: requests join the running batch at any step and leave
/// when done, and every step runs each running sequence's next tokens through the model at
/// once (`DecoderModel.decode(_:layerCaches:)`: attention per sequence over its own KV cache,
/// the experts over all sequences' tokens, so an expert chosen by several sequences is read
/// once). A prompt is prefilled in chunks of at most `Limits.prefillChunk` tokens a step, so
/// running sequences keep decoding beside a long prompt.
///
/// Admission holds each sequence's whole KV cache (prompt + `max_tokens`) against
/// `Limits.kvBudgetBytes` and at most `Limits.maxSequences` sequences; others wait in order,
/// up to `Limits.queueLimit` (then `ServingError.overloaded`). A request whose stream is
/// dropped (the client went away) leaves at the next step and frees its slot; one that runs
/// past `Limits.timeout` ends with `.failed`.
///
/// Greedy answers do not depend on the company: a sequence's logits are the ones it gets
/// decoded alone, up to the rounding of products over more rows.
///
/// The model runs on a thread of the scheduler's own (`start`), never on Swift's cooperative
/// pool, so a server's request handlers stay responsive while it computes.
public final class BatchScheduler: @unchecked Sendable {
  /// The scheduler's bounds.
  public struct Limits: Sendable {
    /// The most sequences in the running batch.
    public var maxSequences = 16
    /// The longest sequence (prompt + generated tokens).
    public var maxContext = 4096
    /// The bytes of KV cache the running sequences may reserve together.
    public var kvBudgetBytes = 1 << 30
    /// The most requests waiting for a slot.
    public var queueLimit = 64
    /// The most prompt tokens prefilled in one step (over all sequences).
    public var prefillChunk = 256
    /// Seconds a request may take from submission.
    public var timeout = 600.0

    /// The defaults.
    public init() {}
  }

  /// One generation: token ids in, how to choose and when to stop.
  public struct Request: Sendable {
    /// The prompt's token ids (at least one).
    public var prompt: [Int]
    /// The most tokens to generate (`nil`: until the context is full).
    public var maxTokens: Int?
    /// How each token is chosen.
    public var sampler: TokenSampler
    /// The sampler's seed.
    public var seed: UInt64
    /// Strings that end the answer (not sent).
    public var stopStrings: [String]
    /// Token ids that end the answer (the end-of-sequence ids; not sent).
    public var stopIds: Set<Int>
    /// How many alternatives to report with each token's log-probability (`nil`: none).
    public var logprobs: Int?

    /// A request.
    public init(
      prompt: [Int], maxTokens: Int?, sampler: TokenSampler = .greedy, seed: UInt64 = 0,
      stopStrings: [String] = [],
      stopIds: Set<Int> = [], logprobs: Int? = nil
    ) {
      (self.prompt, self.maxTokens, self.sampler, self.seed) = (prompt, maxTokens, sampler, seed)
      (self.stopStrings, self.stopIds, self.logprobs) = (stopStrings, stopIds, logprobs)
    }
  }

  /// A request in the scheduler.
  final class Sequence: @unchecked Sendable {
    let request: Request
    /// The tokens the sequence may reach (prompt + the most to generate).
    let length: Int
    let continuation: AsyncStream<GenerationEvent>.Continuation
    let submitted: Date
    var generator: Xoshiro256StarStar
    var text: TextStream?
    var stop: StopMatcher
    /// Prompt tokens already through the model.
    var consumed = 0
    var generated: [Int] = []
    var lastToken: Date
    /// Set from another thread (guarded by the scheduler's lock) when the stream is dropped.
    var cancelled = false

    init(
      _ request: Request, length: Int, tokenizer: BPETokenizer?,
      continuation: AsyncStream<GenerationEvent>.Continuation
    ) {
      (self.request, self.length, self.continuation) = (request, length, continuation)
      submitted = Date()
      lastToken = submitted
      generator = Xoshiro256StarStar(seed: request.seed)
      text = tokenizer.map { TextStream(tokenizer: $0, continuing: true) }
      stop = StopMatcher(stops: request.stopStrings)
    }

    /// Sends the last event and closes the stream.
    func finish(_ reason: GenerationEvent.FinishReason) {
      let usage = GenerationEvent.Usage(promptTokens: request.prompt.count, completionTokens: generated.count)
      continuation.yield(.finished(reason, usage))
      continuation.finish()
    }
  }

  /// The model.
  public let model: DecoderModel<Float>
  /// Turns generated tokens into text (`nil`: events carry ids only, and stop strings never match).
  public let tokenizer: BPETokenizer?
  /// The bounds.
  public let limits: Limits
  /// What the scheduler counts.
  public let metrics: ServingMetrics
  /// KV-cache bytes one token of one sequence takes.
  public let kvBytesPerToken: Int

  private let condition = NSCondition()
  private var waiting: [Sequence] = []
  private var accepting = true
  private var running = false
  private var finished = false
  /// Set by `stop(drain: false)`: the running sequences end at the next step.
  private var stopNow = false
  /// The running sequences and their caches (`layerCaches[layer][sequence]`): the engine
  /// thread's alone.
  private var active: [Sequence] = []
  private var layerCaches: [[KVCache<Float>]]

  /// A scheduler over `model` (call `start` to run it).
  public init(
    model: DecoderModel<Float>, tokenizer: BPETokenizer?, limits: Limits, metrics: ServingMetrics = .init()
  ) {
    (self.model, self.tokenizer, self.limits, self.metrics) = (model, tokenizer, limits, metrics)
    kvBytesPerToken = model.makeCaches(capacity: 1).reduce(0) { $0 + ($1.keyWidth + $1.valueWidth) * 4 }
    layerCaches = model.blocks.map { _ in [] }
  }

  /// Queues `request`; its events arrive on the returned stream, which the caller may drop to
  /// cancel it.
  ///
  /// - Throws: `ServingError.contextExceeded` for a prompt that cannot fit with its
  ///   `maxTokens` (or an empty prompt), `.overloaded` when the queue is full, `.shuttingDown`
  ///   after `stop`.
  public func submit(_ request: Request) throws(ServingError) -> AsyncStream<GenerationEvent> {
    guard !request.prompt.isEmpty else {
      throw .invalidField(param: "prompt", problem: "is empty: give at least one token")
    }
    if let bad = request.prompt.first(where: { !(0..<model.vocabulary).contains($0) }) {
      throw .invalidField(param: "prompt", problem: "token id \(bad) is not in 0..<\(model.vocabulary)")
    }
    let room = min(limits.maxContext, limits.kvBudgetBytes / max(kvBytesPerToken, 1))
    let maxTokens = request.maxTokens ?? max(room - request.prompt.count, 0)
    guard request.prompt.count + maxTokens <= room, maxTokens >= 1 else {
      let what = room < limits.maxContext ? "the KV-cache budget holds" : "the context holds"
      throw .contextExceeded(
        promptTokens: request.prompt.count, maxTokens: max(maxTokens, 1), limit: room, what: what)
    }
    let (stream, continuation) = AsyncStream<GenerationEvent>.makeStream()
    let sequence = Sequence(
      request, length: request.prompt.count + maxTokens, tokenizer: tokenizer, continuation: continuation)
    condition.lock()
    defer { condition.unlock() }
    guard accepting else { throw .shuttingDown }
    guard waiting.count < limits.queueLimit else { throw .overloaded(queued: waiting.count) }
    waiting.append(sequence)
    continuation.onTermination = { [weak self, weak sequence] _ in
      guard let self, let sequence else { return }
      self.condition.lock()
      sequence.cancelled = true
      self.condition.signal()
      self.condition.unlock()
    }
    metrics.queued(waiting.count)
    condition.signal()
    return stream
  }

  /// Starts the engine thread.
  public func start() {
    condition.lock()
    defer { condition.unlock() }
    guard !running else { return }
    running = true
    let thread = Thread { [self] in engine() }
    thread.name = "moekit-batch-scheduler"
    thread.start()
  }

  /// Stops taking requests; with `drain`, the queued and running ones finish first, else they
  /// end now (`.failed`). Returns when the engine has stopped.
  public func stop(drain: Bool) {
    condition.lock()
    accepting = false
    if !drain {
      for sequence in waiting { sequence.finish(.failed("the server is shutting down")) }
      waiting.removeAll()
      stopNow = true
    }
    condition.broadcast()
    while running && !finished { condition.wait() }
    condition.unlock()
  }

  /// The engine: admit, step, retire, until stopped.
  private func engine() {
    while true {
      condition.lock()
      while accepting && waiting.isEmpty && active.isEmpty { condition.wait() }
      if stopNow { for sequence in active { sequence.cancelled = true } }
      let cancelled = active.indices.filter { active[$0].cancelled }
      waiting.removeAll { $0.cancelled }
      admit()
      let done = !accepting && waiting.isEmpty && active.count == cancelled.count
      metrics.queued(waiting.count)
      condition.unlock()
      retire(
        cancelled, reason: .failed(stopNow ? "the server is shutting down" : "the request was cancelled"))
      if done { break }
      if !active.isEmpty { step() }
    }
    condition.lock()
    finished = true
    condition.broadcast()
    condition.unlock()
  }

  /// Moves waiting sequences into the batch while a slot and their KV bytes are free
  /// (called with the lock held).
  private func admit() {
    var reserved = active.reduce(0) { $0 + $1.length } * kvBytesPerToken
    while let next = waiting.first, active.count < limits.maxSequences,
      reserved + next.length * kvBytesPerToken <= limits.kvBudgetBytes
    {
      waiting.removeFirst()
      reserved += next.length * kvBytesPerToken
      active.append(next)
      // The reservation is the whole length; the caches grow into it as tokens come (a request
      // that asks for far more tokens than it ends up using never holds the memory).
      let caches = model.makeCaches(capacity: min(next.length, next.request.prompt.count + 64))
      for i in layerCaches.indices { layerCaches[i].append(caches[i]) }
      metrics.admitted(promptTokens: next.request.prompt.count)
    }
  }

  /// One step: every running sequence's next tokens (a chunk of its prompt, or its last
  /// token) through the model, then a token for each sequence whose prompt is all in.
  private func step() {
    var budget = limits.prefillChunk
    let tokens = active.map { sequence -> [Int] in
      let prompt = sequence.request.prompt
      guard sequence.consumed < prompt.count else { return [sequence.generated.last!] }
      let n = min(prompt.count - sequence.consumed, max(budget, 0))
      budget -= n
      return Array(prompt[sequence.consumed..<sequence.consumed + n])
    }
    let logits = model.decode(tokens, layerCaches: &layerCaches)
    metrics.stepped(sequences: tokens.filter { !$0.isEmpty }.count)
    var row = 0
    var ended: [(Int, GenerationEvent.FinishReason)] = []
    for (s, sequence) in active.enumerated() {
      row += tokens[s].count
      guard !tokens[s].isEmpty else { continue }
      if sequence.consumed < sequence.request.prompt.count {
        sequence.consumed += tokens[s].count
        guard sequence.consumed == sequence.request.prompt.count else { continue }
      }
      if let reason = emit(sequence, logits: logits[row: row - 1]) { ended.append((s, reason)) }
    }
    for (s, reason) in ended.reversed() { retire([s], reason: reason) }
  }

  /// Chooses `sequence`'s next token from `logits` and sends it; the reason it ended, if it did.
  private func emit(_ sequence: Sequence, logits: [Float]) -> GenerationEvent.FinishReason? {
    guard logits.allSatisfy(\.isFinite) else {
      return .failed(
        "the model's logits hold NaN or an infinity at position \(sequence.consumed + sequence.generated.count - 1)"
      )
    }
    let id = sequence.request.sampler.next(logits, using: &sequence.generator)
    let now = Date()
    metrics.generated(first: sequence.generated.isEmpty, latency: now.timeIntervalSince(sequence.lastToken))
    sequence.lastToken = now
    sequence.generated.append(id)
    if sequence.request.stopIds.contains(id) {
      sendRest(of: sequence)
      return .stop
    }
    var token = GenerationEvent.Token(id: id, text: "", logprob: nil, alternatives: [])
    if var stream = sequence.text {
      // An id past the tokenizer's vocabulary (padding rows of the head) adds no text.
      token.text = sequence.stop.append((try? stream.append(id)) ?? "")
      sequence.text = stream
    }
    if let count = sequence.request.logprobs {
      (token.logprob, token.alternatives) = logprobs(logits, id, count)
    }
    sequence.continuation.yield(.token(token))
    if sequence.stop.stopped { return .stop }
    if sequence.request.prompt.count + sequence.generated.count >= sequence.length {
      sendRest(of: sequence)
      return .length
    }
    if now.timeIntervalSince(sequence.submitted) > limits.timeout {
      return .failed("the request took longer than \(limits.timeout) s")
    }
    return nil
  }

  /// Sends the text still held back (an incomplete character, a possible stop string's start).
  private func sendRest(of sequence: Sequence) {
    guard var stream = sequence.text else { return }
    let rest = sequence.stop.append(stream.finish()) + sequence.stop.finish()
    sequence.text = stream
    if !rest.isEmpty {
      sequence.continuation.yield(.token(.init(id: -1, text: rest, logprob: nil, alternatives: [])))
    }
  }

  /// `log p` of `id` and of the `count` most likely tokens.
  private func logprobs(_ logits: [Float], _ id: Int, _ count: Int) -> (Double, [GenerationEvent.Alternative])
  {
    let largest = Double(logits.max()!)
    let total = largest + log(logits.reduce(0.0) { $0 + exp(Double($1) - largest) })
    let top = Matrix(row: logits).topKRows(min(count, logits.count)).indices
    return (
      Double(logits[id]) - total,
      top.map {
        .init(id: $0, text: (try? tokenizer?.decode([$0])) ?? "", logprob: Double(logits[$0]) - total)
      }
    )
  }

  /// Ends the sequences at `indices` of the batch (ascending), freeing their caches.
  private func retire(_ indices: [Int], reason: GenerationEvent.FinishReason) {
    for s in indices.reversed() {
      let sequence = active.remove(at: s)
      for i in layerCaches.indices { layerCaches[i].remove(at: s) }
      sequence.finish(reason)
    }
  }
}
