import Foundation

/// What a server counts, rendered in Prometheus' text format (version 0.0.4): requests by
/// outcome, tokens in and out, the queue and the running batch, and histograms of the batch
/// size, time to first token and inter-token latency. Safe to update from any thread.
public final class ServingMetrics: @unchecked Sendable {
  /// A cumulative histogram: how many observations fell at or below each bound.
  struct Histogram {
    let bounds: [Double]
    var counts: [Int]
    var sum = 0.0
    var count = 0

    init(bounds: [Double]) { (self.bounds, counts) = (bounds, Array(repeating: 0, count: bounds.count)) }

    mutating func observe(_ value: Double) {
      for i in bounds.indices where value <= bounds[i] { counts[i] += 1 }
      (sum, count) = (sum + value, count + 1)
    }
  }

  private let lock = NSLock()
  private var requests: [String: Int] = [:]
  private var promptTokens = 0
  private var generatedTokens = 0
  private var queued = 0
  private var running = 0
  private var batchSize = Histogram(bounds: [1, 2, 4, 8, 16, 32, 64, 128])
  private var firstToken = Histogram(bounds: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60])
  private var interToken = Histogram(bounds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5])

  /// Empty metrics.
  public init() {}

  private func update(_ change: (ServingMetrics) -> Void) {
    lock.lock()
    defer { lock.unlock() }
    change(self)
  }

  /// A request answered with HTTP `status` on `endpoint`.
  public func requestAnswered(endpoint: String, status: Int) {
    update { $0.requests["\(endpoint)|\(status)", default: 0] += 1 }
  }

  /// A request's prompt was admitted.
  func admitted(promptTokens n: Int) { update { $0.promptTokens += n } }

  /// A token was generated, `latency` seconds after the request's previous token (or after
  /// it was submitted, for its first).
  func generated(first: Bool, latency: Double) {
    update {
      $0.generatedTokens += 1
      if first { $0.firstToken.observe(latency) } else { $0.interToken.observe(latency) }
    }
  }

  /// One step ran `sequences` sequences.
  func stepped(sequences: Int) {
    update {
      $0.batchSize.observe(Double(sequences))
      $0.running = sequences
    }
  }

  /// `waiting` requests are queued now.
  func queued(_ waiting: Int) { update { $0.queued = waiting } }

  /// Every metric in Prometheus' text format.
  public func prometheusText() -> String {
    lock.lock()
    defer { lock.unlock() }
    var lines: [String] = []
    func family(_ name: String, _ type: String, _ help: String) {
      lines += ["# HELP \(name) \(help)", "# TYPE \(name) \(type)"]
    }
    family("moekit_requests_total", "counter", "HTTP requests answered, by endpoint and status.")
    for key in requests.keys.sorted() {
      let parts = key.split(separator: "|", maxSplits: 1)
      lines.append("moekit_requests_total{endpoint=\"\(parts[0])\",status=\"\(parts[1])\"} \(requests[key]!)")
    }
    family("moekit_prompt_tokens_total", "counter", "Prompt tokens admitted.")
    lines.append("moekit_prompt_tokens_total \(promptTokens)")
    family("moekit_generated_tokens_total", "counter", "Tokens generated.")
    lines.append("moekit_generated_tokens_total \(generatedTokens)")
    family("moekit_queue_length", "gauge", "Requests waiting for a slot.")
    lines.append("moekit_queue_length \(queued)")
    family("moekit_running_sequences", "gauge", "Sequences in the last decode step.")
    lines.append("moekit_running_sequences \(running)")
    for (name, help, histogram) in [
      ("moekit_batch_size", "Sequences per decode step.", batchSize),
      ("moekit_time_to_first_token_seconds", "From submission to the first generated token.", firstToken),
      ("moekit_inter_token_latency_seconds", "Between a request's consecutive tokens.", interToken),
    ] {
      family(name, "histogram", help)
      for (bound, count) in zip(histogram.bounds, histogram.counts) {
        lines.append("\(name)_bucket{le=\"\(bound)\"} \(count)")
      }
      lines += [
        "\(name)_bucket{le=\"+Inf\"} \(histogram.count)", "\(name)_sum \(histogram.sum)",
        "\(name)_count \(histogram.count)",
      ]
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
