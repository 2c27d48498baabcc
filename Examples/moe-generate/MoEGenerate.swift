import ArgumentParser
import CostModel
import Foundation
import Linalg
import MoE
import ModelIO
import Report
import _ExampleSupport

/// Loads a whole Hugging Face model folder and scores or continues a prompt, as
/// `transformers` would on the CPU.
@main
struct MoEGenerate: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "moe-generate",
    abstract: "Score or continue a prompt with a whole Hugging Face model (config.json + safetensors).",
    discussion: """
      Give the prompt as token ids (--token-ids 3,17,42) or as text (--prompt, with the folder's \
      tokenizer.json). --logits writes the float32 [prompt tokens × vocabulary] logits of every \
      prompt position, what model(input_ids).logits[0] returns. --max-new-tokens continues the \
      prompt, greedily unless --temperature is above 0; text output streams tokens as they come and \
      ends with prefill and decode speeds, experts per token and memory. --weight-format q8 (or q4, \
      q4_K, q5_K, q6_K, mxfp4, bf16) quantizes at load; with --save-model the result is written as a \
      new folder that loads without converting again, with --save-gguf as a GGUF file that llama.cpp \
      loads (Llama, Mixtral, Qwen2/3-MoE, OLMoE). Supported model types: \
      \(ModelFamilyRegistry.modelTypes.joined(separator: ", ")); GGUF architectures: \
      \(GGUFArchitecture.all.map(\.name).joined(separator: ", ")).
      """)

  @OptionGroup var threading: ThreadsOption
  @OptionGroup var calibration: CalibrationOptions

  @Option(
    help:
      "The model folder (config.json, model.safetensors or its index, tokenizer.json for --prompt) or a GGUF file."
  )
  var model: String

  @Option(
    help: """
      How product weights are held: stored (bf16 and GGUF blocks stay as stored), float32, or one of \
      \(HuggingFaceCheckpoint.LoadedWeightFormat.allCases.dropFirst(2).map(\.rawValue).joined(separator: ", ")) \
      (converted at load).
      """)
  var weightFormat: HuggingFaceCheckpoint.LoadedWeightFormat = .stored

  @Option(
    help: "Save the model as held (--weight-format) to this new folder, loadable without converting again.")
  var saveModel: String?

  @Option(
    help: "Save the model as held (--weight-format) to this new GGUF file, which llama.cpp loads.")
  var saveGguf: String?

  /// The outputs a run writes besides --logits.
  var savedModels: [String] { [saveModel, saveGguf].compactMap { $0 } }

  @Option(help: "The prompt as comma-separated token ids.")
  var tokenIds: String?

  @Option(help: "The prompt as text (needs the folder's tokenizer.json).")
  var prompt: String?

  @Option(help: "Write the prompt positions' logits to this .npy file (float32), atomically.")
  var logits: String?

  @Option(
    help:
      "New tokens to generate (0...100000; default \(Self.defaultNewTokens) for a prompt without --logits, 0 with it)."
  )
  var maxNewTokens: Int?

  /// What a prompt generates when --max-new-tokens is not given (and --logits is not asked for).
  static let defaultNewTokens = 64

  /// The tokens to generate: as given, else the default for a prompt without --logits.
  var newTokens: Int {
    maxNewTokens ?? ((tokenIds != nil || prompt != nil) && logits == nil ? Self.defaultNewTokens : 0)
  }

  @Option(help: "Sampling temperature (0 = greedy; at most 100).")
  var temperature: Double = 0

  @Option(help: "Sample only from the k most likely tokens (at least 1).")
  var topK: Int?

  @Option(help: "Sample only from the most likely tokens whose probabilities reach p (0 < p ≤ 1).")
  var topP: Double = 1

  @Option(help: "Seed of the sampler.")
  var seed: UInt64 = 0

  @Option(help: "Output: text (streams) or json (one object).")
  var format: OutputFormat = .text

  @Flag(
    name: .customLong("no-mmap"),
    help:
      "Read the weights into memory instead of mapping them: for file systems where another writer may truncate the files (a mapped file that shrinks ends the process with SIGBUS)."
  )
  var noMmap = false

  @Flag(help: "Keep generating past an end-of-sequence token.")
  var ignoreEOS = false

  @Flag(
    help:
      "After generating, print where the prefill and an average decode step spend their time, operation by operation, with the weight bytes each reads and at what rate (on standard error)."
  )
  var profile = false

  enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

  func validate() throws {
    guard !(tokenIds != nil && prompt != nil) && (tokenIds != nil || prompt != nil || !savedModels.isEmpty)
    else {
      throw ValidationError(
        "give exactly one of --token-ids and --prompt (or only --save-model or --save-gguf)")
    }
    guard (0...100_000).contains(newTokens) else {
      throw ValidationError("--max-new-tokens must be in 0...100000, got \(newTokens)")
    }
    guard temperature >= 0 && temperature <= 100 else {
      throw ValidationError("--temperature must be in 0...100, got \(temperature)")
    }
    guard (topK ?? 1) >= 1 else { throw ValidationError("--top-k must be at least 1, got \(topK!)") }
    guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1], got \(topP)") }
    guard logits != nil || newTokens > 0 || !savedModels.isEmpty else {
      throw ValidationError(
        "nothing to do: give --logits, --max-new-tokens, --save-model, --save-gguf or several")
    }
    guard (tokenIds == nil && prompt == nil) || logits != nil || newTokens > 0 else {
      throw ValidationError("a prompt needs --logits or --max-new-tokens of 1 or more")
    }
    if let logits {
      do {
        try OutputPath.check(logits, inputs: [model])
      } catch let problem as OutputPath.Problem {
        throw ValidationError("--logits: \(problem)")
      }
    }
    if let saveModel {
      guard !OutputPath.overlap(saveModel, model) else {
        throw ValidationError("--save-model \(saveModel) must be a new folder outside --model \(model)")
      }
      if let logits, OutputPath.overlap(logits, saveModel) {
        throw ValidationError(
          "--logits \(logits) and --save-model \(saveModel) are outputs of one run: give each its own path")
      }
    }
    if let saveGguf {
      do {
        try OutputPath.check(saveGguf, inputs: [model])
      } catch let problem as OutputPath.Problem {
        throw ValidationError("--save-gguf: \(problem)")
      }
      for other in [logits, saveModel].compactMap({ $0 }) where OutputPath.overlap(other, saveGguf) {
        throw ValidationError(
          "--save-gguf \(saveGguf) and \(other) are outputs of one run: give each its own path")
      }
    }
    if let tokenIds { _ = try Self.ids(tokenIds) }
  }

  /// The ids of `--token-ids`.
  static func ids(_ text: String) throws -> [Int] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    let ids = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard ids.count == parts.count, !ids.isEmpty, ids.allSatisfy({ $0 >= 0 }) else {
      throw ValidationError("--token-ids must be comma-separated non-negative whole numbers, got \"\(text)\"")
    }
    return ids
  }

  func run() throws {
    threading.apply()
    BLAS.warnIfGenericKernels()
    let importance = try calibration.importance(model: model, weightFormat: weightFormat, context: nil)
    if let summary = importance.summary {
      FileHandle.standardError.write(Data("calibration: \(summary.description)\n".utf8))
    }
    let loaded = try HuggingFaceModel(
      folder: model, weightFormat: weightFormat, importance: importance.importance,
      access: noMmap ? .read : .mapped)
    if let saveModel { try loaded.save(to: saveModel) }
    if let saveGguf { try loaded.saveGGUF(to: saveGguf) }
    guard tokenIds != nil || prompt != nil else { return }
    let network = loaded.model
    let promptIds: [Int]
    if let prompt {
      guard let tokenizer = loaded.tokenizer else {
        throw ValidationError("--prompt needs a tokenizer.json in \(model); give --token-ids instead")
      }
      promptIds = try tokenizer.encode(prompt, addSpecialTokens: true)
      guard !promptIds.isEmpty else { throw ValidationError("--prompt encodes to no tokens") }
    } else {
      promptIds = try Self.ids(tokenIds!)
    }
    if let bad = promptIds.first(where: { !(0..<network.vocabulary).contains($0) }) {
      throw ValidationError("token id \(bad) is outside the model's vocabulary of \(network.vocabulary)")
    }
    let needed = Self.cacheBytes(network, tokens: promptIds.count + newTokens)
    let memory = Int(ProcessInfo.processInfo.physicalMemory)
    guard needed + loaded.weightBytes < memory else {
      throw ValidationError(
        "\(promptIds.count + newTokens) tokens need a \(Format.bytes(needed)) KV cache beside \(Format.bytes(loaded.weightBytes)) of weights, more than this machine's \(Format.bytes(memory)); give fewer --max-new-tokens"
      )
    }
    if let logits {
      let scores = network.logits(promptIds, layout: .single(promptIds.count))
      try Self.requireFinite(scores, what: "the logits")
      try NpyArray(scores).write(to: logits)
    }
    guard newTokens > 0 else { return }
    let sampler = TokenSampler(temperature: temperature, topK: topK, topP: topP)
    let stop = ignoreEOS ? [] : Set(loaded.endOfSequence)
    let clock = ContinuousClock()
    let start = clock.now
    var firstToken: ContinuousClock.Instant?
    var stream = loaded.tokenizer.map { TextStream(tokenizer: $0) }
    var count = 0
    let operations = profile ? OperationProfile(phase: "prefill") : nil
    let generate = {
      try network.generate(prompt: promptIds, count: newTokens, sampler: sampler, stop: stop, seed: seed) {
        token in
        if firstToken == nil {
          firstToken = clock.now
          operations?.phase = "decode"
        }
        guard format == .text else { return }
        count += 1
        // Text as its bytes complete (a token can end inside a character); ids without a tokenizer
        // or for an id the tokenizer lacks.
        if let text = try? stream?.append(token) {
          print(text, terminator: "")
        } else {
          print(count == 1 ? "\(token)" : " \(token)", terminator: "")
        }
        fflush(nil)  // show each token as it comes
      }
    }
    let generated = try operations.map { try $0.profiling(generate) } ?? generate()
    if let rest = stream?.finish() { print(rest, terminator: "") }
    let end = clock.now
    let prefill = Stopwatch.seconds(in: firstToken! - start)
    let decode = Stopwatch.seconds(in: end - firstToken!)
    let stats = Statistics(
      promptTokens: promptIds.count, generated: generated.count, prefillSeconds: prefill,
      decodeSeconds: decode,
      kvCacheBytes: Self.cacheBytes(network, tokens: promptIds.count + generated.count),
      weightBytes: loaded.weightBytes, compactBits: loaded.compactBitsPerWeight,
      architecture: loaded.checkpoint.architecture)
    switch format {
    case .json:
      let text = try loaded.tokenizer.map { try $0.decode(generated) }
      print(try Self.json(prompt: promptIds, generated: generated, text: text, stats: stats))
    case .text:
      print("")
      print(stats.summary)
    }
    if let operations {
      let tables = [
        ProfileReport.table(operations, phase: "prefill", steps: 1, seconds: prefill),
        ProfileReport.table(operations, phase: "decode", steps: generated.count - 1, seconds: decode),
      ]
      fflush(nil)  // the run's own lines first
      FileHandle.standardError.write(Data((tables.map(\.markdown).joined(separator: "\n")).utf8))
    }
  }

  /// Refuses non-finite numbers rather than writing them as an answer.
  static func requireFinite(_ m: Matrix<Float>, what: String) throws {
    for r in 0..<m.rows {
      if let c = (0..<m.columns).first(where: { !m[r, $0].isFinite }) {
        throw ValidationError(
          "\(what) at position \(r), column \(c) are not finite (\(m[r, c])): the weights hold NaN or Inf")
      }
    }
  }

  /// KV-cache bytes for `tokens` tokens (every layer's cache at that length).
  static func cacheBytes(_ network: DecoderModel<Float>, tokens: Int) -> Int {
    network.makeCaches(capacity: 1).reduce(0) { $0 + ($1.keyWidth + $1.valueWidth) * tokens * 4 }
  }

  struct Statistics: Encodable {
    var promptTokens: Int, generated: Int
    var prefillSeconds: Double, decodeSeconds: Double
    var kvCacheBytes: Int, weightBytes: Int
    /// The bits a compact product weight takes on average, if any is compact.
    var compactBits: Double?
    var expertsPerToken: String

    init(
      promptTokens: Int, generated: Int, prefillSeconds: Double, decodeSeconds: Double, kvCacheBytes: Int,
      weightBytes: Int, compactBits: Double?, architecture: Architecture
    ) {
      (self.promptTokens, self.generated) = (promptTokens, generated)
      (self.prefillSeconds, self.decodeSeconds) = (prefillSeconds, decodeSeconds)
      (self.kvCacheBytes, self.weightBytes, self.compactBits) = (kvCacheBytes, weightBytes, compactBits)
      expertsPerToken =
        architecture.moe.map {
          "\($0.topK) of \($0.routedExperts)\($0.sharedExperts > 0 ? " + \($0.sharedExperts) shared" : "") in \(architecture.moeLayers) of \(architecture.layers) layers"
        } ?? "dense"
    }

    var prefillTokensPerSecond: Double { Double(promptTokens) / max(prefillSeconds, 1e-9) }
    var decodeTokensPerSecond: Double { Double(max(generated - 1, 0)) / max(decodeSeconds, 1e-9) }

    var summary: String {
      String(
        format:
          "prefill %d tokens at %.1f tokens/s, decode %d tokens at %.1f tokens/s; experts per token: %@; KV cache %@, weights %@",
        promptTokens, prefillTokensPerSecond, generated, decodeTokensPerSecond, expertsPerToken,
        Format.bytes(kvCacheBytes), Format.bytes(weightBytes))
        + (compactBits.map { " (compact products at \(Format.fixed($0, 2)) bits a weight)" } ?? "")
    }
  }

  static func json(prompt: [Int], generated: [Int], text: String?, stats: Statistics) throws -> String {
    var object: [String: Any] = [
      "prompt": prompt, "generated": generated,
      "prefill_tokens_per_second": stats.prefillTokensPerSecond,
      "decode_tokens_per_second": stats.decodeTokensPerSecond, "kv_cache_bytes": stats.kvCacheBytes,
      "weight_bytes": stats.weightBytes, "experts_per_token": stats.expertsPerToken,
      "compact_bits_per_weight": stats.compactBits ?? NSNull(),
    ]
    if let text { object["text"] = text }
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
  }
}
