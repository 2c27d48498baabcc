import Foundation
import MoE
import ModelIO
import Testing
import _TestSupport

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// `moe-serve` as clients use it: a real process on a free port, spoken to over HTTP.
@Suite(.serialized) struct MoEServeTests {
  static let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("ModelIOTests/Fixtures/gguf/models/mixtral-small-F32.gguf").path

  /// A running `moe-serve`, stopped with Ctrl-C's signal.
  final class Server: @unchecked Sendable {
    let process = Process()
    let output = Pipe()
    var base = ""
    var printed = ""

    init(_ arguments: [String]) throws {
      process.executableURL = ProductRunner.productsFolder.appendingPathComponent("moe-serve")
      let model = arguments.contains("--model") ? [] : ["--model", MoEServeTests.model]
      process.arguments = model + ["--port", "0"] + arguments
      process.standardOutput = output
      process.standardError = FileHandle.nullDevice
      try process.run()
      let deadline = Date().addingTimeInterval(120)
      while Date() < deadline, process.isRunning {
        printed += String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        if let range = printed.range(of: #"listening on http://[0-9.]+:[0-9]+"#, options: .regularExpression)
        {
          base = String(printed[range].dropFirst("listening on ".count))
          return
        }
      }
      process.terminate()
      throw CocoaError(
        .fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "moe-serve did not start: \(printed)"])
    }

    /// `(status, body)` of a request.
    func request(_ method: String, _ path: String, _ body: String? = nil) async throws -> (Int, String) {
      var request = URLRequest(url: URL(string: base + path)!)
      request.httpMethod = method
      request.httpBody = body.map { Data($0.utf8) }
      request.timeoutInterval = 120
      let (data, response) = try await URLSession.shared.data(for: request)
      return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// The completion text of a non-streamed request.
    func completion(_ body: String) async throws -> String {
      let (status, text) = try await request("POST", "/v1/completions", body)
      let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
      let choices = object?["choices"] as? [[String: Any]]
      guard status == 200, let answer = choices?.first?["text"] as? String else {
        return "status \(status): \(text)"
      }
      return answer
    }

    /// Interrupts the server and returns its exit status and everything it printed.
    func interrupt() -> (Int32, String) {
      kill(process.processIdentifier, SIGINT)
      process.waitUntilExit()
      printed += String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      return (process.terminationStatus, printed)
    }
  }

  /// What greedy generation gives `text` alone, as the server should answer it.
  static func alone(_ loaded: HuggingFaceModel, _ text: String, tokens: Int) throws -> String {
    let prompt = try loaded.tokenizer!.encode(text, addSpecialTokens: true)
    let stop = Set(loaded.endOfSequence)
    let ids = try loaded.model.generate(prompt: prompt, count: tokens, stop: stop)
    var stream = TextStream(tokenizer: loaded.tokenizer!, continuing: true)
    return try ids.filter { !stop.contains($0) }.map { try stream.append($0) }.joined() + stream.finish()
  }

  /// Health and models; a greedy answer equal to generation alone, streamed or not; sixteen
  /// concurrent requests each answered as if alone; then Ctrl-C stops the server cleanly.
  @Test func servesCompletionsAsGenerationAloneDoes() async throws {
    let loaded = try HuggingFaceModel(folder: Self.model)
    let server = try Server(["--max-sequences", "8"])
    #expect(try await server.request("GET", "/health") == (200, #"{"status":"ok"}"#))
    let (status, models) = try await server.request("GET", "/v1/models")
    #expect(status == 200 && models.contains(#""id":"mixtral-small-F32""#))

    let expected = try Self.alone(loaded, "def main():", tokens: 10)
    #expect(
      try await server.completion(#"{"prompt": "def main():", "max_tokens": 10, "temperature": 0}"#)
        == expected)
    let (streamStatus, events) = try await server.request(
      "POST", "/v1/completions",
      #"{"prompt": "def main():", "max_tokens": 10, "temperature": 0, "stream": true}"#)
    let chunks = events.components(separatedBy: "\n\n").filter { !$0.isEmpty }
    #expect(streamStatus == 200 && chunks.last == "data: [DONE]")
    let streamed = try chunks.dropLast().map { chunk -> String in
      let object =
        try JSONSerialization.jsonObject(with: Data(chunk.dropFirst("data: ".count).utf8)) as? [String: Any]
      return ((object?["choices"] as? [[String: Any]])?.first?["text"] as? String) ?? "?"
    }
    #expect(streamed.joined() == expected)

    let prompts = (0..<16).map { "line \($0): x = \($0 * 7)" }
    let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
      for (i, prompt) in prompts.enumerated() {
        group.addTask {
          (i, try await server.completion(#"{"prompt": "\#(prompt)", "max_tokens": 6, "temperature": 0}"#))
        }
      }
      var answers = [String](repeating: "", count: prompts.count)
      for try await (i, answer) in group { answers[i] = answer }
      return answers
    }
    for (prompt, answer) in zip(prompts, answers) {
      #expect(answer == (try Self.alone(loaded, prompt, tokens: 6)), "\(prompt)")
    }
    let (_, metrics) = try await server.request("GET", "/metrics")
    #expect(metrics.contains(#"moekit_requests_total{endpoint="/v1/completions",status="200"} 18"#))
    let (exit, printed) = server.interrupt()
    #expect(exit == 0 && printed.contains("moe-serve: stopped"))
  }

  /// A chat request is rendered by the model's chat template (Qwen2.5's, in the folder's
  /// `tokenizer_config.json`) exactly as `ChatTemplate` renders it, answered as generation alone
  /// answers that prompt, streamed as `chat.completion.chunk`s; a message without content is
  /// an empty one.
  @Test func servesChatThroughTheModelsTemplate() async throws {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("ModelIOTests/Fixtures")
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-chat-\(UInt64.random(in: 0..<1 << 40))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    for file in ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json"] {
      try FileManager.default.copyItem(
        at: fixtures.appendingPathComponent("models/qwen2_moe/\(file)"),
        to: folder.appendingPathComponent(file))
    }
    let template = try String(
      contentsOf: fixtures.appendingPathComponent("chat_templates/qwen2.5.jinja"), encoding: .utf8)
    try JSONSerialization.data(withJSONObject: ["chat_template": template, "eos_token": "<|im_end|>"])
      .write(to: folder.appendingPathComponent("tokenizer_config.json"))
    let loaded = try HuggingFaceModel(folder: folder.path)
    let messages = [["role": "system", "content": "Be brief."], ["role": "user", "content": "Hello"]]
    let prompt = try #require(try ChatTemplate(folder: folder.path)).render(
      messages: messages, addGenerationPrompt: true)
    #expect(prompt.hasSuffix("<|im_start|>assistant\n"))
    let ids = try loaded.model.generate(
      prompt: try loaded.tokenizer!.encode(prompt), count: 6, stop: Set(loaded.endOfSequence))
    var stream = TextStream(tokenizer: loaded.tokenizer!, continuing: true)
    let expected =
      try ids.filter { !loaded.endOfSequence.contains($0) }.map { try stream.append($0) }.joined()
      + stream.finish()

    let server = try Server(["--model", folder.path])
    let body =
      #"{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}], "max_tokens": 6, "temperature": 0}"#
    let (status, text) = try await server.request("POST", "/v1/chat/completions", body)
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    let message = ((object?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])
    #expect(status == 200 && object?["object"] as? String == "chat.completion")
    #expect(message?["role"] as? String == "assistant" && message?["content"] as? String == expected)
    let (_, events) = try await server.request(
      "POST", "/v1/chat/completions", String(body.dropLast()) + #", "stream": true}"#)
    let deltas = try events.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }.map { chunk in
      let object =
        try JSONSerialization.jsonObject(with: Data(chunk.dropFirst("data: ".count).utf8)) as? [String: Any]
      return ((object?["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any]) ?? [:]
    }
    #expect(deltas.first?["role"] as? String == "assistant")
    #expect(deltas.compactMap { $0["content"] as? String }.joined() == expected)
    let (empty, _) = try await server.request(
      "POST", "/v1/chat/completions", #"{"messages": [{"role": "user"}], "max_tokens": 1}"#)
    #expect(empty == 200)
    #expect(server.interrupt().0 == 0)
  }

  /// Each bad request gets its 4xx (or 501) with an OpenAI error object, and the server keeps
  /// serving.
  @Test func badRequestsAreAnsweredAndTheServerKeepsServing() async throws {
    let server = try Server(["--max-body-bytes", "2048", "--max-context", "64"])
    for (body, status, param) in [
      ("{not json", 400, nil), (#"{"prompt": 5}"#, 400, "prompt"),
      (#"{"prompt": "a", "temperature": "hot"}"#, 400, "temperature"),
      (#"{"prompt": "a", "top_p": -1}"#, 400, "top_p"), (#"{"prompt": "a", "model": "gpt-4"}"#, 404, "model"),
      (#"{"prompt": "a", "max_tokens": 100}"#, 400, "max_tokens"), (#"{"prompt": [100000]}"#, 400, "prompt"),
      (#"{"prompt": "\#(String(repeating: "x", count: 4000))"}"#, 413, nil),
    ] as [(String, Int, String?)] {
      let (answered, text) = try await server.request("POST", "/v1/completions", body)
      let error = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [String: Any]])?[
        "error"]
      #expect(answered == status && error?["message"] is String, "\(body.prefix(60)): \(answered) \(text)")
      #expect(error?["param"] as? String == param, "\(body.prefix(60))")
    }
    let (chat, _) = try await server.request(
      "POST", "/v1/chat/completions", #"{"messages": [{"role": "user", "content": "hi"}]}"#)
    #expect(chat == 501)
    #expect(try await server.request("GET", "/health").0 == 200)
    #expect(try await server.completion(#"{"prompt": "ok", "max_tokens": 2}"#).hasPrefix("status") == false)
    #expect(server.interrupt().0 == 0)
  }

  @Test func badOptionsAreRefused() throws {
    for arguments in [
      ["--port", "70000"], ["--max-sequences", "0"], ["--prefill-chunk", "0"], ["--timeout", "0"],
    ] {
      let result = try ProductRunner.run("moe-serve", ["--model", Self.model] + arguments)
      #expect(result.refused(naming: arguments[0]), "\(arguments): \(result.errors)")
    }
    let missing = try ProductRunner.run("moe-serve", ["--model", "/nonexistent/model.gguf", "--port", "0"])
    #expect(missing.status != 0 && !missing.crashed)
  }

  /// serve-bench against moe-serve: every request answered, the table and JSON written; bad
  /// options refused by name.
  @Test func serveBenchMeasuresTheServer() async throws {
    let server = try Server([])
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-bench-\(UInt64.random(in: 0..<1 << 40))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let json = folder.appendingPathComponent("bench.json").path
    let result = try ProductRunner.run(
      "serve-bench",
      [
        "--url", server.base, "--clients", "1,3", "--duration", "1", "--mix", "8x4,16x2", "--json", json,
        "--chart",
        folder.appendingPathComponent("bench.svg").path,
      ])
    #expect(result.status == 0, "\(result.errors)")
    let records =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [[String: Any]]
    #expect(records?.map { $0["clients"] as? Int } == [1, 3])
    #expect(records?.allSatisfy { ($0["requests"] as? Int ?? 0) > 0 && $0["failures"] as? Int == 0 } == true)
    #expect(result.output.contains("$ per 1M tokens"))
    #expect(server.interrupt().0 == 0)
    for arguments in [
      ["--clients", "0"], ["--mix", "5"], ["--url", "ftp://x"], ["--duration", "0"],
      ["--price-per-hour", "-1"],
    ] {
      let refused = try ProductRunner.run("serve-bench", arguments)
      #expect(refused.refused(naming: arguments[0]), "\(arguments): \(refused.errors)")
    }
  }

  /// A raw request for an answer far longer than any test takes.
  static func longRequest(stream: Bool) -> String {
    let body = #"{"prompt": [1, 2, 3], "max_tokens": 150000, "ignore_eos": true, "stream": \#(stream)}"#
    return "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
  }

  /// Opens a connection to the server, sends `request` (if any), reads up to `read` bytes of the
  /// answer, and closes the connection.
  static func touch(_ base: String, _ request: String?, read: Int) {
    let port = UInt16(base.split(separator: ":").last!)!
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(port.bigEndian)
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard connected == 0 else { return }
    if let request {
      _ = request.utf8CString.withUnsafeBufferPointer {
        send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL))
      }
    }
    var buffer = [UInt8](repeating: 0, count: 4096)
    var total = 0
    while total < read {
      let n = recv(fd, &buffer, buffer.count, 0)
      if n <= 0 { break }
      total += n
    }
  }

  /// Two thousand connections opened and dropped — empty, half a request, and requests for
  /// answers far longer than the test, dropped while streamed or while waited for — leave no
  /// slot taken: with two slots, a request afterwards is answered at once, and the server
  /// still answers health checks.
  @Test func droppedConnectionsLeakNoSlot() async throws {
    let server = try Server(["--max-sequences", "2", "--max-context", "200000", "--queue-limit", "4000"])
    let (streamed, waited) = (Self.longRequest(stream: true), Self.longRequest(stream: false))
    DispatchQueue.concurrentPerform(iterations: 2000) { i in
      switch i % 4 {
      case 0: Self.touch(server.base, nil, read: 0)
      case 1:
        Self.touch(
          server.base, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"pro",
          read: 0)
      case 2:
        if i < 40 {
          Self.touch(server.base, streamed, read: 2000)
        } else {
          Self.touch(server.base, nil, read: 0)
        }
      default:
        if i < 40 {
          Self.touch(server.base, waited, read: 0)
        } else {
          Self.touch(server.base, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", read: 1)
        }
      }
    }
    #expect(try await server.request("GET", "/health").0 == 200)
    let started = Date()
    let answer = try await server.completion(#"{"prompt": "ok", "max_tokens": 4, "temperature": 0}"#)
    #expect(!answer.hasPrefix("status"), "\(answer)")
    #expect(Date().timeIntervalSince(started) < 60, "a dropped request held its slot")
    #expect(server.interrupt().0 == 0)
  }
}
