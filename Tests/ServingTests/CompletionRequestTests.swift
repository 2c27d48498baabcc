import Foundation
import MoE
import Serving
import Testing

/// Requests as clients send them: every field read with its type and range, unknown fields
/// ignored, each wrong field an error that names it.
@Suite struct CompletionRequestTests {
  static func parse(_ json: String, chat: Bool = false) throws(ServingError) -> CompletionRequest {
    try CompletionRequest(json: Data(json.utf8), chat: chat)
  }

  @Test func readsEveryField() throws {
    let request = try Self.parse(
      #"{"model": "m", "prompt": "Hello", "max_tokens": 5, "temperature": 0.5, "top_p": 0.9, "top_k": 40, "seed": -3, "stop": ["\n", "END"], "n": 1, "logprobs": 2, "stream": true, "user": "ignored", "echo": false}"#
    )
    #expect(request.model == "m" && request.prompt == .text("Hello") && request.maxTokens == 5)
    #expect(request.sampler == TokenSampler(temperature: 0.5, topK: 40, topP: 0.9))
    #expect(request.seed == UInt64(bitPattern: -3) && request.stop == ["\n", "END"])
    #expect(request.logprobs == 2 && request.stream)
    let defaults = try Self.parse(#"{"prompt": [1, 2, 3]}"#)
    #expect(
      defaults.prompt == .tokens([1, 2, 3]) && defaults.maxTokens == 16 && defaults.sampler.temperature == 1)
    #expect(defaults.model == nil && defaults.stop.isEmpty && defaults.logprobs == nil && !defaults.stream)
    #expect(try Self.parse(#"{"prompt": ["one"]}"#).prompt == .text("one"))
    let chat = try Self.parse(
      #"{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "!"}]}], "logprobs": true, "top_logprobs": 3}"#,
      chat: true)
    #expect(
      chat.prompt
        == .chat([.init(role: "system", content: "Be brief."), .init(role: "user", content: "Hi!")]))
    #expect(chat.maxTokens == nil && chat.logprobs == 3)
  }

  @Test(
    arguments: [
      (#"[1, 2]"#, nil), ("{", nil), (#"{"prompt": "a", "prompt": "b"}"#, nil),
      (#"{"prompt": 3}"#, "prompt"), (#"{"prompt": []}"#, "prompt"), (#"{"prompt": [1, -2]}"#, "prompt"),
      (#"{"prompt": [1.5]}"#, "prompt"), (#"{"prompt": "a", "max_tokens": 0}"#, "max_tokens"),
      (#"{"prompt": "a", "max_tokens": "5"}"#, "max_tokens"),
      (#"{"prompt": "a", "max_tokens": 2.5}"#, "max_tokens"),
      (#"{"prompt": "a", "temperature": -1}"#, "temperature"),
      (#"{"prompt": "a", "top_p": 0}"#, "top_p"), (#"{"prompt": "a", "top_p": 1.5}"#, "top_p"),
      (#"{"prompt": "a", "top_k": -1}"#, "top_k"), (#"{"prompt": "a", "seed": "x"}"#, "seed"),
      (#"{"prompt": "a", "stop": 5}"#, "stop"),
      (#"{"prompt": "a", "stop": ["a", "b", "c", "d", "e"]}"#, "stop"),
      (#"{"prompt": "a", "stop": [""]}"#, "stop"), (#"{"prompt": "a", "n": 2}"#, "n"),
      (#"{"prompt": "a", "logprobs": 21}"#, "logprobs"), (#"{"prompt": "a", "stream": "yes"}"#, "stream"),
      (#"{"prompt": "a", "model": 7}"#, "model"),
    ] as [(String, String?)])
  func aWrongFieldIsNamed(json: String, param: String?) {
    do {
      _ = try Self.parse(json)
      Issue.record("accepted \(json)")
    } catch {
      #expect(error.param == param, "\(json): \(error)")
      #expect(error.status == 400 && !error.description.isEmpty)
    }
  }

  @Test func chatMessagesAreChecked() {
    for (json, param) in [
      (#"{"messages": []}"#, "messages"), (#"{"messages": "hi"}"#, "messages"),
      (#"{"messages": [{"content": "x"}]}"#, "messages[0].role"),
      (#"{"messages": [{"role": "user", "content": "x"}, 5]}"#, "messages[1]"),
      (#"{"messages": [{"role": "user", "content": 5}]}"#, "messages[0].content"),
      (#"{"messages": [{"role": "user", "content": "x"}], "logprobs": 1}"#, "logprobs"),
      (#"{"messages": [{"role": "user", "content": "x"}], "top_logprobs": 50}"#, "top_logprobs"),
    ] {
      #expect(throws: ServingError.self, "\(json)") { try Self.parse(json, chat: true) }
      do { _ = try Self.parse(json, chat: true) } catch { #expect(error.param == param, "\(json): \(error)") }
    }
  }

  @Test func errorsAnswerAsOpenAIDoes() throws {
    let error = ServingError.unknownModel("x", served: "y")
    #expect(error.status == 404 && error.type == "invalid_request_error" && error.param == "model")
    let body = try JSONSerialization.data(withJSONObject: ServingError.overloaded(queued: 3).body)
    let object = try JSONSerialization.jsonObject(with: body) as? [String: [String: Any]]
    #expect(
      object?["error"]?["code"] as? Int == 503
        && (object?["error"]?["message"] as? String)?.contains("3") == true)
  }
}
