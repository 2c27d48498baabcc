import ArgumentParser
import Foundation
import Hummingbird
import Linalg
import ModelIO
import Report
import Serving
import _ExampleSupport

/// An OpenAI-compatible HTTP server over one model, with continuous batching.
@main
struct MoEServe: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "moe-serve",
    abstract: "Serve a model over HTTP as the OpenAI API does, many requests batched together.",
    discussion: """
      POST /v1/completions and /v1/chat/completions (the model's chat template rendered as \
      transformers renders it; stream: true answers as server-sent events), GET /v1/models, \
      GET /health, GET /metrics (Prometheus text). Requests join the running batch at any step; \
      each step runs every running sequence's next tokens through the model at once, so an \
      expert chosen by several sequences is read once. A bad request is answered with a 4xx and \
      an OpenAI error object naming the field; a full queue with 503. Ctrl-C stops taking \
      requests, lets the running ones finish, and exits.
      """)

  @OptionGroup var threading: ThreadsOption

  @Option(
    help: "The model folder (config.json, model.safetensors or its index, tokenizer.json) or a GGUF file.")
  var model: String

  @Option(
    help: """
      How product weights are held: stored, float32, or one of \
      \(HuggingFaceCheckpoint.LoadedWeightFormat.allCases.dropFirst(2).map(\.rawValue).joined(separator: ", ")).
      """)
  var weightFormat: HuggingFaceCheckpoint.LoadedWeightFormat = .stored

  @Option(help: "The model name clients send (default: the folder's or file's name).")
  var servedModelName: String?

  @Option(help: "The address to listen on.")
  var host = "127.0.0.1"

  @Option(help: "The port to listen on (0: any free port, printed at start-up).")
  var port = 8080

  @Option(help: "The most sequences in the running batch (1…1024).")
  var maxSequences = 16

  @Option(help: "The longest sequence, prompt and answer (default: the model's positions, at most 8192).")
  var maxContext: Int?

  @Option(help: "MiB of KV cache the running sequences may reserve together (1…1048576).")
  var kvBudgetMib = 1024

  @Option(help: "The most requests waiting for a slot; more are answered 503 (0…100000).")
  var queueLimit = 64

  @Option(help: "The most prompt tokens prefilled in one step (1…65536).")
  var prefillChunk = 256

  @Option(help: "Seconds a request may take (1…86400).")
  var timeout = 600.0

  @Option(help: "The largest request body in bytes (1024…104857600); larger ones are answered 413.")
  var maxBodyBytes = 1 << 20

  func validate() throws {
    try OptionLimits.check("--port", port, in: 0...65535)
    try OptionLimits.check("--max-sequences", maxSequences, in: 1...1024)
    if let maxContext { try OptionLimits.check("--max-context", maxContext, in: 2...(1 << 24)) }
    try OptionLimits.check("--kv-budget-mib", kvBudgetMib, in: 1...(1 << 20))
    try OptionLimits.check("--queue-limit", queueLimit, in: 0...100_000)
    try OptionLimits.check("--prefill-chunk", prefillChunk, in: 1...65536)
    try OptionLimits.check("--timeout", timeout, in: 1...86400)
    try OptionLimits.check("--max-body-bytes", maxBodyBytes, in: 1024...104_857_600)
  }

  /// The model's chat template, or why `/v1/chat/completions` answers 501 (said at start-up).
  static func chatTemplate(_ model: String) -> Result<ChatTemplate, OpenAIRoutes.ChatTemplateUnavailable> {
    do {
      let template =
        model.lowercased().hasSuffix(".gguf")
        ? try ChatTemplate(gguf: try GGUFFile(contentsOfFile: model)) : try ChatTemplate(folder: model)
      guard let template else {
        return .failure(
          .init(reason: "\(model) has no chat template: send the formatted prompt to /v1/completions"))
      }
      return .success(template)
    } catch {
      let reason = "\(error); /v1/chat/completions answers 501, /v1/completions serves the formatted prompt"
      FileHandle.standardError.write(Data("moe-serve: \(reason)\n".utf8))
      return .failure(.init(reason: reason))
    }
  }

  func run() async throws {
    threading.apply()
    BLAS.warnIfGenericKernels()
    let loaded = try HuggingFaceModel(folder: model, weightFormat: weightFormat)
    var limits = BatchScheduler.Limits()
    limits.maxSequences = maxSequences
    limits.maxContext = maxContext ?? min(loaded.positions, 8192)
    limits.kvBudgetBytes = kvBudgetMib << 20
    limits.queueLimit = queueLimit
    limits.prefillChunk = prefillChunk
    limits.timeout = timeout
    let scheduler = BatchScheduler(model: loaded.model, tokenizer: loaded.tokenizer, limits: limits)
    let name = servedModelName ?? URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent
    let routes = OpenAIRoutes(
      scheduler: scheduler, modelName: name, endOfSequence: Set(loaded.endOfSequence),
      maxBodyBytes: maxBodyBytes,
      chatTemplate: Self.chatTemplate(model))
    scheduler.start()
    let description =
      "\(name): \(loaded.checkpoint.modelType), weights \(Format.bytes(loaded.weightBytes))"
      + (loaded.compactBitsPerWeight.map { String(format: " (compact products at %.2f bits a weight)", $0) }
        ?? "")
      + ", \(maxSequences) sequences of up to \(limits.maxContext) tokens in \(Format.bytes(limits.kvBudgetBytes)) of KV cache"
    let (host, port) = (self.host, self.port)
    let app = Application(
      router: routes.router(),
      server: .http1(configuration: .init(additionalChannelHandlers: [DisconnectWatcher()])),
      configuration: .init(address: .hostname(host, port: port), serverName: "moe-serve"),
      onServerRunning: { channel in
        let address = "http://\(host):\(channel.localAddress?.port ?? port)"
        FileHandle.standardOutput.write(Data("moe-serve: \(description); listening on \(address)\n".utf8))
      })
    try await app.runService()
    scheduler.stop(drain: true)
    print("moe-serve: stopped")
  }
}
