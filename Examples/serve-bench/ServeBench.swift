import ArgumentParser
import Foundation
import Linalg
import Report

/// A load generator for OpenAI-compatible servers (`moe-serve`, `llama-server`): N concurrent
/// clients send streamed completions of a fixed prompt/answer mix for a fixed time, at each
/// concurrency asked for, and the run reports output tokens/s, time to first token and
/// inter-token latency (p50, p99), and what a million output tokens cost at a machine's price.
@main
struct ServeBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serve-bench",
    abstract: "Load an OpenAI-compatible server with concurrent streamed completions and measure it.",
    discussion: """
      Each client sends, one after another until --duration ends, completions of prompts made of \
      random token ids (seeded) with the --mix lengths, temperature 0 and ignore_eos, so every \
      answer has the length asked for. A token is a streamed chunk whose finish_reason is null. \
      Cost per 1M output tokens = --price-per-hour / 3600 / (tokens/s) × 10⁶.
      """)

  @Option(help: "The server (http://HOST:PORT).")
  var url = "http://127.0.0.1:8080"

  @Option(help: "The model name to send (default: none, the server's own).")
  var model: String?

  @Option(help: "Concurrent clients, comma-separated (each 1…1024).")
  var clients = "1,4,16"

  @Option(help: "Seconds of load at each concurrency (1…3600).")
  var duration = 20.0

  @Option(help: "Prompt × answer tokens, comma-separated (e.g. 64x64,256x32), taken in turn.")
  var mix = "64x64"

  @Option(help: "Prompt token ids are drawn from 1..<N (below the model's vocabulary).")
  var vocabulary = 256

  @Option(help: "US dollars per machine-hour, for the cost of a million output tokens.")
  var pricePerHour = 1.0

  @Option(help: "The series' name in the table, JSON and chart.")
  var label = "server"

  @Option(help: "Write the measurements as JSON records to this file.")
  var json: String?

  @Option(help: "Write an SVG chart of output tokens/s against concurrent clients to this file.")
  var chart: String?

  /// The concurrency levels.
  func levels() throws -> [Int] {
    let parts = clients.split(separator: ",")
    let levels = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard levels.count == parts.count, !levels.isEmpty, levels.allSatisfy({ (1...1024).contains($0) }) else {
      throw ValidationError(
        "--clients must be comma-separated whole numbers from 1 to 1024, got \"\(clients)\"")
    }
    return levels
  }

  /// The prompt × answer lengths.
  func shapes() throws -> [(prompt: Int, answer: Int)] {
    let parts = mix.split(separator: ",")
    let shapes = parts.compactMap { part -> (Int, Int)? in
      let sides = part.split(separator: "x").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
      guard sides.count == 2, (1...65536).contains(sides[0]), (1...65536).contains(sides[1]) else {
        return nil
      }
      return (sides[0], sides[1])
    }
    guard shapes.count == parts.count, !shapes.isEmpty else {
      throw ValidationError("--mix must be PROMPTxANSWER lengths (1…65536), comma-separated, got \"\(mix)\"")
    }
    return shapes
  }

  func validate() throws {
    _ = try levels()
    _ = try shapes()
    _ = try StreamingClient(url: url)
    try OptionLimits.check("--duration", duration, in: 1...3600)
    try OptionLimits.check("--vocabulary", vocabulary, in: 2...(1 << 24))
    guard pricePerHour > 0, pricePerHour.isFinite else {
      throw ValidationError("--price-per-hour must be a positive number, got \(pricePerHour)")
    }
    _ = try OutputBatch(outputs: [json, chart].compactMap { $0 }, inputs: [])
  }

  /// One request's measurements.
  struct Sample {
    var tokens: Int
    var firstToken: Double?
    var gaps: [Double]
  }

  /// What one concurrency level measured.
  struct Level {
    var clients: Int
    var requests: Int
    var failures: Int
    var tokensPerSecond: Double
    var firstToken: (p50: Double, p99: Double)
    var interToken: (p50: Double, p99: Double)
    var costPerMillion: Double
  }

  func run() throws {
    let client = try StreamingClient(url: url)
    let shapes = try shapes()
    var results: [Level] = []
    var table = Table(header: [
      "clients", "requests", "failed", "output tokens/s", "TTFT p50 ms", "TTFT p99 ms", "ITL p50 ms",
      "ITL p99 ms",
      "$ per 1M tokens",
    ])
    for level in try levels() {
      let result = try measure(client, clients: level, shapes: shapes)
      results.append(result)
      table.append([
        "\(level)", "\(result.requests)", "\(result.failures)",
        String(format: "%.1f", result.tokensPerSecond),
        String(format: "%.0f", result.firstToken.p50 * 1000),
        String(format: "%.0f", result.firstToken.p99 * 1000),
        String(format: "%.1f", result.interToken.p50 * 1000),
        String(format: "%.1f", result.interToken.p99 * 1000),
        String(format: "%.2f", result.costPerMillion),
      ])
      FileHandle.standardError.write(
        Data(
          "serve-bench: \(level) clients: \(String(format: "%.1f", result.tokensPerSecond)) tokens/s\n".utf8))
    }
    print("\(label), mix \(mix), \(Int(duration)) s per level, $\(pricePerHour) per hour:")
    print(table.markdown)
    let batch = try OutputBatch(outputs: [json, chart].compactMap { $0 }, inputs: [])
    if let json {
      var records = Table(header: [
        "label", "clients", "requests", "failures", "tokens_per_second", "ttft_p50_s", "ttft_p99_s",
        "itl_p50_s", "itl_p99_s", "cost_per_million",
      ])
      for r in results {
        records.append([
          label, "\(r.clients)", "\(r.requests)", "\(r.failures)", "\(r.tokensPerSecond)",
          "\(r.firstToken.p50)", "\(r.firstToken.p99)", "\(r.interToken.p50)", "\(r.interToken.p99)",
          "\(r.costPerMillion)",
        ])
      }
      try batch.stage(
        Data(records.jsonRecords(numericColumns: Set(records.header.dropFirst())).utf8), to: json)
    }
    if let chart {
      let svg = LineChart(
        title: "\(label): output tokens/s against concurrent clients", xLabel: "concurrent clients",
        yLabel: "output tokens/s",
        series: [
          .init(
            name: label, values: results.map(\.tokensPerSecond), positions: results.map { Double($0.clients) }
          )
        ]
      ).svg
      try batch.stage(Data(svg.utf8), to: chart)
    }
    try batch.commit()
  }

  /// What the clients of one level measured, gathered under a lock.
  final class Collector: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var samples: [Sample] = []
    private(set) var failures: [String] = []

    func add(_ sample: Sample) {
      lock.lock()
      defer { lock.unlock() }
      samples.append(sample)
    }

    func fail(_ reason: String) {
      lock.lock()
      defer { lock.unlock() }
      failures.append(reason)
    }
  }

  /// `clients` clients sending requests for `duration` seconds.
  func measure(_ client: StreamingClient, clients: Int, shapes: [(prompt: Int, answer: Int)]) throws -> Level
  {
    let collector = Collector()
    let start = Date()
    let deadline = start.addingTimeInterval(duration)
    let group = DispatchGroup()
    let (vocabulary, model) = (self.vocabulary, self.model)
    for c in 0..<clients {
      group.enter()
      let thread = Thread {
        var generator = Xoshiro256StarStar(seed: UInt64(c + 1))
        var turn = c
        while Date() < deadline {
          let shape = shapes[turn % shapes.count]
          turn += 1
          let prompt = (0..<shape.prompt).map { _ in Int.random(in: 1..<vocabulary, using: &generator) }
          var body: [String: Any] = [
            "prompt": prompt, "max_tokens": shape.answer, "temperature": 0, "stream": true,
            "ignore_eos": true,
          ]
          if let model { body["model"] = model }
          do {
            let answer = try client.post("/v1/completions", try JSONSerialization.data(withJSONObject: body))
            let times = answer.events.filter { $0.data.contains("\"finish_reason\":null") }.map(\.seconds)
            if answer.status == 200 {
              collector.add(
                Sample(
                  tokens: times.count, firstToken: times.first,
                  gaps: zip(times.dropFirst(), times).map { $0 - $1 }))
            } else {
              collector.fail("status \(answer.status): \(answer.events.first?.data.prefix(200) ?? "")")
            }
          } catch {
            collector.fail("\(error)")
          }
        }
        group.leave()
      }
      thread.start()
    }
    group.wait()
    let elapsed = Date().timeIntervalSince(start)
    let (samples, failures) = (collector.samples, collector.failures)
    if let first = failures.first {
      FileHandle.standardError.write(
        Data("serve-bench: \(failures.count) requests failed, first: \(first)\n".utf8))
    }
    let tokens = samples.reduce(0) { $0 + $1.tokens }
    let perSecond = Double(tokens) / elapsed
    return Level(
      clients: clients, requests: samples.count, failures: failures.count, tokensPerSecond: perSecond,
      firstToken: Self.percentiles(samples.compactMap(\.firstToken)),
      interToken: Self.percentiles(samples.flatMap(\.gaps)),
      costPerMillion: perSecond > 0 ? pricePerHour / 3600 / perSecond * 1e6 : .infinity)
  }

  /// The median and 99th percentile (nearest rank), or NaN without values.
  static func percentiles(_ values: [Double]) -> (p50: Double, p99: Double) {
    guard !values.isEmpty else { return (.nan, .nan) }
    let sorted = values.sorted()
    func rank(_ q: Double) -> Double {
      sorted[min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.up)) - 1)]
    }
    return (rank(0.5), rank(0.99))
  }
}
