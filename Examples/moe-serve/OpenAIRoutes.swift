import Foundation
import Hummingbird
import Serving

/// The HTTP layer: OpenAI's endpoints over a `BatchScheduler`, each answer a JSON object (or
/// server-sent events), each bad request a 4xx with an OpenAI error object, every answer
/// counted in the metrics.
struct OpenAIRoutes: Sendable {
  let scheduler: BatchScheduler
  let modelName: String
  let endOfSequence: Set<Int>
  let maxBodyBytes: Int
  let started = Int(Date().timeIntervalSince1970)

  /// The routes.
  func router() -> Router<BasicRequestContext> {
    let router = Router()
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
    router.post("/v1/completions") { request, _ in try await complete(request, chat: false) }
    router.post("/v1/chat/completions") { request, _ in try await complete(request, chat: true) }
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

  /// `POST /v1/completions` and `POST /v1/chat/completions`.
  func complete(_ request: Request, chat: Bool) async throws -> Response {
    let endpoint = chat ? "/v1/chat/completions" : "/v1/completions"
    var request = request
    let body: ByteBuffer
    do {
      body = try await request.collectBody(upTo: maxBodyBytes)
    } catch {
      return answer(
        endpoint, 413,
        [
          "error": [
            "message": "the body is larger than \(maxBodyBytes) bytes", "type": "invalid_request_error",
            "code": 413,
          ]
        ])
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
    switch parsed.prompt {
    case .tokens(let ids): prompt = ids
    case .text(let text):
      guard let tokenizer = scheduler.tokenizer else {
        return refuse(
          endpoint, .invalidField(param: "prompt", problem: "this model has no tokenizer: send token ids"))
      }
      guard let ids = try? tokenizer.encode(text, addSpecialTokens: true) else {
        return refuse(endpoint, .invalidField(param: "prompt", problem: "the text does not tokenize"))
      }
      prompt = ids
    case .chat:
      return answer(
        endpoint, 501,
        [
          "error": [
            "message":
              "this server does not render chat templates yet: send the formatted prompt to /v1/completions",
            "type": "server_error", "code": 501,
          ]
        ])
    }
    let events: AsyncStream<GenerationEvent>
    do {
      events = try scheduler.submit(
        .init(
          prompt: prompt, maxTokens: parsed.maxTokens, sampler: parsed.sampler,
          seed: parsed.seed ?? UInt64.random(in: 0...UInt64.max), stopStrings: parsed.stop,
          stopIds: endOfSequence,
          logprobs: parsed.logprobs))
    } catch {
      return refuse(endpoint, error)
    }
    let id = "cmpl-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    let created = Int(Date().timeIntervalSince1970)
    if parsed.stream {
      scheduler.metrics.requestAnswered(endpoint: endpoint, status: 200)
      return Response(
        status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
        body: ResponseBody { writer in
          for await event in events {
            let object: [String: Any]
            switch event {
            case .token(let token):
              object = chunk(id, created, text: token.text, logprobs: token, finish: nil)
            case .finished(.failed(let message), _):
              object = ["error": ["message": message, "type": "server_error", "code": 500]]
            case .finished(let reason, _):
              object = chunk(id, created, text: "", logprobs: nil, finish: reason.openAIName)
            }
            try await send(object, to: &writer)
          }
          try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
          try await writer.finish(nil)
        })
    }
    var (text, tokens) = ("", [GenerationEvent.Token]())
    for await event in events {
      switch event {
      case .token(let token):
        text += token.text
        if token.id >= 0 { tokens.append(token) }
      case .finished(.failed(let message), _):
        return answer(endpoint, 500, ["error": ["message": message, "type": "server_error", "code": 500]])
      case .finished(let reason, let usage):
        let choice: [String: Any] = [
          "index": 0, "text": text, "finish_reason": reason.openAIName.map { $0 as Any } ?? NSNull(),
          "logprobs": parsed.logprobs == nil ? NSNull() : logprobs(tokens) as Any,
        ]
        return answer(
          endpoint, 200,
          [
            "id": id, "object": "text_completion", "created": created, "model": modelName,
            "choices": [choice],
            "usage": [
              "prompt_tokens": usage.promptTokens, "completion_tokens": usage.completionTokens,
              "total_tokens": usage.promptTokens + usage.completionTokens,
            ],
          ])
      }
    }
    return answer(
      endpoint, 500, ["error": ["message": "the answer ended early", "type": "server_error", "code": 500]])
  }

  /// One streamed chunk of a completion.
  func chunk(
    _ id: String, _ created: Int, text: String, logprobs token: GenerationEvent.Token?, finish: String?
  )
    -> [String: Any]
  {
    let tokens = token.map { $0.id >= 0 && $0.logprob != nil ? [$0] : [] } ?? []
    return [
      "id": id, "object": "text_completion", "created": created, "model": modelName,
      "choices": [
        [
          "index": 0, "text": text, "finish_reason": finish.map { $0 as Any } ?? NSNull(),
          "logprobs": tokens.isEmpty ? NSNull() : logprobs(tokens) as Any,
        ]
      ],
    ]
  }

  /// OpenAI's completion `logprobs` object for `tokens`.
  func logprobs(_ tokens: [GenerationEvent.Token]) -> [String: Any] {
    [
      "tokens": tokens.map { (try? scheduler.tokenizer?.decode([$0.id])) ?? "" },
      "token_logprobs": tokens.map { $0.logprob ?? 0 },
      "top_logprobs": tokens.map { token in
        Dictionary(token.alternatives.map { ($0.text, $0.logprob) }, uniquingKeysWith: { first, _ in first })
      },
    ]
  }

  /// `object` as one server-sent event.
  func send(_ object: [String: Any], to writer: inout any ResponseBodyWriter) async throws {
    let data =
      (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    try await writer.write(ByteBuffer(string: "data: " + String(decoding: data, as: UTF8.self) + "\n\n"))
  }
}
