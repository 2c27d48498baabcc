import Testing

/// The examples, run as a user would run them.
@Suite struct ExamplesTests {
  @Test func moeTourPrintsEveryLayer() throws {
    let result = try ExampleRunner.run("moe-tour", ["--tokens", "64", "--dimensions", "16"])
    #expect(result.status == 0, "\(result.errors)")
    for layer in 0..<7 { #expect(result.output.contains("Layer \(layer):")) }
    #expect(result.output.contains("expert choice"))
    #expect(result.output.contains("dropped assignments"))
  }

  @Test func moeTourRejectsBadOptions() throws {
    let result = try ExampleRunner.run("moe-tour", ["--experts", "6"])
    #expect(result.status != 0)
    #expect(result.errors.contains("multiple of 4"))
    let k = try ExampleRunner.run("moe-tour", ["--top-k", "9"])
    #expect(k.status != 0 && k.errors.contains("--top-k"))
  }

  @Test func gemmBenchQuickRunPrintsItsTables() throws {
    let result = try ExampleRunner.run("gemm-bench", ["--quick", "--repetitions", "1"])
    #expect(result.status == 0, "\(result.errors)")
    #expect(result.output.contains("Linalg/direct"))
    #expect(result.output.contains("automatic picks"))
    #expect(result.output.contains("GEMV"))
    let bad = try ExampleRunner.run("gemm-bench", ["--threads", "0"])
    #expect(bad.status != 0 && bad.errors.contains("--threads"))
  }
}
