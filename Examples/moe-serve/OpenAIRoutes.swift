import Foundation
import Hummingbird
import ModelIO
import Serving

/// The HTTP layer: OpenAI's endpoints over a `BatchScheduler`, each answer a JSON object (or
/// server-sent events), each bad request a 4xx with an OpenAI error object, every answer
/// counted in the metrics.
struct OpenAIRoutes: Sendable {
  let scheduler: BatchScheduler
  let modelName: String
  let endOfSequence: Set<Int>
  let maxBodyBytes: Int
  /// The model's chat template, or why chat is not served.
  let chatTemplate: Result<ChatTemplate, ChatTemplateUnavailable>
  let started = Int(Date().timeIntervalSince1970)

  /// Why `/v1/chat/completions` is not served.
  struct ChatTemplateUnavailable: Error {
    let reason: String
  }

  /// The routes.
  func router() -> Router<ServerContext> {
    let router = Router(context: ServerContext.self)
    router.get("/health") { _, _ in answer("/health", 200, ["status": "ok"]) }
    router.get("/v1/models") { _, _ in
      answer(
        "/v1/models", 200,
        [
          "object": "list",
          "data": [["id": modelName, "object": "model", "created": started, "owned_by": "moekit"]],
        ])
    }
    router.get("/metrics") { _, _ in
      scheduler.metrics.requestAnswered(endpoint: "/metrics", status: 200)
      return Response(
        status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
        body: .init(byteBuffer: ByteBuffer(string: scheduler.metrics.prometheusText())))
    }
    router.post("/v1/completions") { request, context in try await complete(request, context, chat: false) }
    router.post("/v1/chat/completions") { request, context in try await complete(request, context, chat: true)
    }
    return router
  }

  /// A JSON answer, counted.
  func answer(_ endpoint: String, _ status: Int, _ object: [String: Any]) -> Response {
    scheduler.metrics.requestAnswered(endpoint: endpoint, status: status)
    let data =
      (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    return Response(
      status: .init(code: status), headers: [.contentType: "application/json"],
      body: .init(byteBuffer: ByteBuffer(bytes: data)))
  }

  /// `error` as an OpenAI error answer.
  func refuse(_ endpoint: String, _ error: ServingError) -> Response {
    answer(endpoint, error.status, error.body)
  }

  /// An OpenAI error object that is not a `ServingError`.
  static func error(_ message: String, code: Int) -> [String: Any] {
    [
      "error": [
        "message": message, "type": code < 500 ? "invalid_request_error" : "server_error", "code": code,
      ]
    ]
  }

  /// `POST /v1/completions` and `POST /v1/chat/completions`.
  func complete(_ request: Request, _ context: ServerContext, chat: Bool) async throws -> Response {
    let endpoint = chat ? "/v1/chat/completions" : "/v1/completions"
    var request = request
    let body: ByteBuffer
    do {
      body = try await request.collectBody(upTo: maxBodyBytes)
    } catch {
      return answer(endpoint, 413, Self.error("the body is larger than \(maxBodyBytes) bytes", code: 413))
    }
    let parsed: CompletionRequest
    do {
      parsed = try CompletionRequest(json: Data(buffer: body), chat: chat)
    } catch {
      return refuse(endpoint, error)
    }
    if let model = parsed.model, model != modelName {
      return refuse(endpoint, .unknownModel(model, served: modelName))
    }
    let prompt: [Int]
    switch promptIds(parsed.prompt) {
    case .success(let ids): prompt = ids
    case .failure(let refusal): return answer(endpoint, refusal.status, refusal.body)
    }
    let events: AsyncStream<GenerationEvent>
    do {
      events = try scheduler.submit(
        .init(
          prompt: prompt, maxTokens: parsed.maxTokens, sampler: parsed.sampler,
          seed: parsed.seed ?? UInt64.random(in: 0...UInt64.max), stopStrings: parsed.stop,
          stopIds: parsed.ignoreEOS ? [] : endOfSequence,
          logprobs: parsed.logprobs))
    } catch {
      return refuse(endpoint, error)
    }
    let shape = Shape(
      id: (chat ? "chatcmpl-" : "cmpl-") + String(UInt64.random(in: 0...UInt64.max), radix: 16),
      created: Int(Date().timeIntervalSince1970), model: modelName, chat: chat, tokenizer: scheduler.tokenizer
    )
    if parsed.stream {
      scheduler.metrics.requestAnswered(endpoint: endpoint, status: 200)
      return Response(
        status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
        body: ResponseBody { writer in
          if chat {
            try await Self.send(shape.chunk(text: "", token: nil, finish: nil, opening: true), to: &writer)
          }
          for await event in events {
            switch event {
            case .token(let token):
              try await Self.send(
                shape.chunk(text: token.text, token: token, finish: nil, opening: false), to: &writer)
            case .finished(.failed(let message), _):
              try await Self.send(Self.error(message, code: 500), to: &writer)
            case .finished(let reason, _):
              try await Self.send(
                shape.chunk(text: nil, token: nil, finish: reason.openAIName, opening: false), to: &writer)
            }
          }
          try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
          try await writer.finish(nil)
        })
    }
    // Collected in a task of its own, cancelled when the client goes away: the cancelled stream
    // takes the request out of the batch at the next step.
    let collecting = Task {
      () -> (String, [GenerationEvent.Token], GenerationEvent.FinishReason?, GenerationEvent.Usage?) in
      var (text, tokens) = ("", [GenerationEvent.Token]())
      for await event in events {
        switch event {
        case .token(let token):
          text += token.text
          if token.id >= 0 { tokens.append(token) }
        case .finished(let reason, let usage): return (text, tokens, reason, usage)
        }
      }
      return (text, tokens, nil, nil)
    }
    let watched = context.channel.pipeline.handler(type: DisconnectWatcher.self).flatMap { watcher in
      watcher.gone ?? context.channel.closeFuture
    }
    watched.whenComplete { _ in collecting.cancel() }
    let (text, tokens, reason, usage) = await collecting.value
    switch (reason, usage) {
    case (.failed(let message)?, _): return answer(endpoint, 500, Self.error(message, code: 500))
    case (let reason?, let usage?):
      return answer(
        endpoint, 200,
        shape.completion(
          text: text, tokens: parsed.logprobs == nil ? nil : tokens, finish: reason, usage: usage))
    default: return answer(endpoint, 499, Self.error("the client closed the connection", code: 499))
    }
  }

  /// A request refused before it reaches the scheduler.
  struct Refusal: Error {
    let status: Int
    let error: ServingError?
    let message: String
    init(_ error: ServingError) { (status, self.error, message) = (error.status, error, error.description) }
    init(status: Int, message: String) { (self.status, error, self.message) = (status, nil, message) }
    /// The OpenAI error object.
    var body: [String: Any] { error?.body ?? OpenAIRoutes.error(message, code: status) }
  }

  /// The token ids of a prompt: ids as given, text tokenized with the BOS, a conversation
  /// rendered by the chat template and tokenized as it is.
  func promptIds(_ prompt: CompletionRequest.Prompt) -> Result<[Int], Refusal> {
    if case .tokens(let ids) = prompt { return .success(ids) }
    guard let tokenizer = scheduler.tokenizer else {
      return .failure(
        Refusal(.invalidField(param: "prompt", problem: "this model has no tokenizer: send token ids")))
    }
    switch prompt {
    case .text(let text):
      guard let ids = try? tokenizer.encode(text, addSpecialTokens: true) else {
        return .failure(Refusal(.invalidField(param: "prompt", problem: "the text does not tokenize")))
      }
      return .success(ids)
    case .chat(let messages):
      let template: ChatTemplate
      switch chatTemplate {
      case .success(let t): template = t
      case .failure(let unavailable): return .failure(Refusal(status: 501, message: unavailable.reason))
      }
      do {
        let text = try template.render(
          messages: messages.map { ["role": $0.role, "content": $0.content] }, addGenerationPrompt: true)
        return .success(try tokenizer.encode(text, addSpecialTokens: false))
      } catch {
        return .failure(Refusal(.invalidField(param: "messages", problem: "\(error)")))
      }
    case .tokens(let ids): return .success(ids)  // answered above
    }
  }

  /// `object` as one server-sent event.
  static func send(_ object: [String: Any], to writer: inout any ResponseBodyWriter) async throws {
    let data =
      (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    try await writer.write(ByteBuffer(string: "data: " + String(decoding: data, as: UTF8.self) + "\n\n"))
  }

  /// How a completion's answers look: `text_completion` or `chat.completion` objects and chunks.
  struct Shape {
    let id: String
    let created: Int
    let model: String
    let chat: Bool
    let tokenizer: BPETokenizer?

    /// The whole answer.
    func completion(
      text: String, tokens: [GenerationEvent.Token]?, finish: GenerationEvent.FinishReason,
      usage: GenerationEvent.Usage
    )
      -> [String: Any]
    {
      var choice: [String: Any] = [
        "index": 0, "finish_reason": finish.openAIName.map { $0 as Any } ?? NSNull(),
        "logprobs": tokens.map { logprobs($0) as Any } ?? NSNull(),
      ]
      if chat { choice["message"] = ["role": "assistant", "content": text] } else { choice["text"] = text }
      return [
        "id": id, "object": chat ? "chat.completion" : "text_completion", "created": created, "model": model,
        "choices": [choice],
        "usage": [
          "prompt_tokens": usage.promptTokens, "completion_tokens": usage.completionTokens,
          "total_tokens": usage.promptTokens + usage.completionTokens,
        ],
      ]
    }

    /// One streamed chunk: a token's text (`nil` in the last chunk), or the chat's opening
    /// chunk with the assistant's role.
    func chunk(text: String?, token: GenerationEvent.Token?, finish: String?, opening: Bool) -> [String: Any]
    {
      let tokens = token.map { $0.id >= 0 && $0.logprob != nil ? [$0] : [] } ?? []
      var choice: [String: Any] = [
        "index": 0, "finish_reason": finish.map { $0 as Any } ?? NSNull(),
        "logprobs": tokens.isEmpty ? NSNull() : logprobs(tokens) as Any,
      ]
      if chat {
        var delta: [String: Any] = [:]
        if opening { delta["role"] = "assistant" }
        if let text { delta["content"] = text }
        choice["delta"] = delta
      } else {
        choice["text"] = text ?? ""
      }
      return [
        "id": id, "object": chat ? "chat.completion.chunk" : "text_completion", "created": created,
        "model": model,
        "choices": [choice],
      ]
    }

    /// OpenAI's `logprobs` object for `tokens`: completions' parallel lists, or chat's
    /// `content` entries.
    func logprobs(_ tokens: [GenerationEvent.Token]) -> [String: Any] {
      let texts = tokens.map { (try? tokenizer?.decode([$0.id])) ?? "" }
      if chat {
        return [
          "content": zip(texts, tokens).map { text, token in
            [
              "token": text, "logprob": token.logprob ?? 0,
              "top_logprobs": token.alternatives.map { ["token": $0.text, "logprob": $0.logprob] },
            ] as [String: Any]
          }
        ]
      }
      return [
        "tokens": texts, "token_logprobs": tokens.map { $0.logprob ?? 0 },
        "top_logprobs": tokens.map { token in
          Dictionary(
            token.alternatives.map { ($0.text, $0.logprob) }, uniquingKeysWith: { first, _ in first })
        },
      ]
    }
  }
}
