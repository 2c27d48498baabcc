import ArgumentParser
import CostModel
import Foundation
import Linalg
import MoE
import Report
import _ExampleSupport

/// Attention on this machine: decode latency against context for MHA, GQA and MLA of equal
/// width, the KV cache each keeps (measured from the cache, beside `CostModel`'s figure),
/// greedy generation with whole random models, and prefill throughput with a fraction of
/// the heads running.
@main
struct AttentionBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "attention-bench",
    abstract: "Decode latency and KV-cache size of MHA, GQA and MLA; prefill with head-sparse attention.")

  @OptionGroup var threading: ThreadsOption

  @Option(help: "Contexts for the decode measurements, comma-separated.")
  var contexts = "128,512,1024,2048,4096"

  @Option(help: "Model width d (16 heads of d/16 for MHA and GQA).")
  var dimensions = 2048

  @Option(help: "Key/value heads of the GQA layer.")
  var kvHeads = 4

  @Option(help: "Tokens in the prefill measurement.")
  var prefillTokens = 2048

  @Option(help: "Fractions of heads active in the prefill measurement, comma-separated.")
  var fractions = "1,0.85,0.4"

  @Option(help: "Timed repetitions per figure; the median is reported.")
  var repetitions = 5

  @Flag(help: "Small sizes: a smoke run of a few seconds.")
  var quick = false

  static let heads = 16

  func validate() throws {
    _ = try contextList()
    _ = try fractionList()
    // 16 heads of an even width, and MLA's RoPE head d/32 even too.
    guard (64...8192).contains(dimensions), dimensions % 64 == 0 else {
      throw ValidationError(
        "--dimensions must be a multiple of 64 in 64...8192 (MLA's RoPE head d/32 must be even), got \(dimensions)"
      )
    }
    guard kvHeads >= 1, Self.heads % kvHeads == 0 else {
      throw ValidationError("--kv-heads must divide \(Self.heads), got \(kvHeads)")
    }
    try OptionLimits.check("--prefill-tokens", prefillTokens, in: 1...65536)
    try OptionLimits.check("--repetitions", repetitions, in: 1...1000)
    // Prefill holds every head's T × T scores; decode a cache of the longest context
    // (keys and values, three kinds at once); the projections are a few d × d.
    let (t, d, c) = (Double(prefillTokens), Double(dimensions), Double(try contextList().max() ?? 1))
    try OptionLimits.checkMemory(
      4 * (Double(Self.heads) * t * t + 12 * t * d + 6 * c * d + 16 * d * d),
      for: "--prefill-tokens \(prefillTokens), --dimensions \(dimensions) and the longest of --contexts")
  }

  func contextList() throws -> [Int] {
    let values = contexts.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 1 << 20 }) else {
      throw ValidationError(
        "--contexts takes positive integers up to 2^20 separated by commas, got '\(contexts)'")
    }
    return values.map { $0! }
  }

  func fractionList() throws -> [Double] {
    let values = fractions.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 && ($0 ?? 2) <= 1 }) else {
      throw ValidationError("--fractions takes numbers in (0, 1] separated by commas, got '\(fractions)'")
    }
    return values.map { $0! }
  }

  func run() throws {
    threading.apply()
    BLAS.warnIfGenericKernels()
    let d = quick ? 128 : dimensions
    let contexts = quick ? [16, 64] : try contextList()
    let tokens = quick ? 64 : prefillTokens
    print("OpenBLAS: \(BLAS.configuration); \(BLAS.threadCount) threads; Float; medians of \(repetitions)\n")
    let kinds = AttentionKindUnderTest.all(dimensions: d, heads: Self.heads, kvHeads: kvHeads)
    // Phases on standard error: decode, generation, prefill.
    var progress = ProgressBar(total: 3, stage: "attention-bench")
    let decode = DecodeMeasurement(kinds: kinds, contexts: contexts, repetitions: repetitions).report()
    progress.advance(label: "decode measured; generation")
    print(decode)
    let generation =
      (GenerationMeasurement(
        kinds: quick
          ? kinds : AttentionKindUnderTest.all(dimensions: 1024, heads: Self.heads, kvHeads: kvHeads),
        dimensions: quick ? d : 1024, layers: quick ? 2 : 4, promptTokens: quick ? 8 : 128,
        newTokens: quick ? 4 : 32, repetitions: repetitions
      ).report())
    progress.advance(label: "generation measured; prefill")
    print(generation)
    let prefill = PrefillMeasurement(
      dimensions: d, heads: Self.heads, tokens: tokens, fractions: quick ? [1, 0.4] : try fractionList(),
      repetitions: repetitions
    ).report()
    progress.advance(label: "done")
    progress.finish()
    print(prefill)
  }
}

/// One attention layer measured at decode, with its `CostModel` description.
struct AttentionKindUnderTest {
  var name: String
  var cost: AttentionKind
  var make: (inout Xoshiro256StarStar) -> AttentionSublayer<Float>

  /// MHA and GQA with 16 heads of `d/16`; MLA with DeepSeek-V2-Lite's proportions scaled
  /// to the width (latent rank `d/4`, RoPE head `d/32`, 16 heads of `d/16`).
  static func all(dimensions d: Int, heads: Int, kvHeads: Int) -> [AttentionKindUnderTest] {
    let hd = d / heads
    let (rank, rope) = (d / 4, d / 32)
    return [
      AttentionKindUnderTest(name: "MHA", cost: .mha(heads: heads, headDim: hd)) { g in
        .grouped(MultiHeadAttention(dimensions: d, heads: heads, using: &g))
      },
      AttentionKindUnderTest(
        name: "GQA (\(kvHeads) KV heads)", cost: .gqa(heads: heads, kvHeads: kvHeads, headDim: hd)
      ) {
        g in .grouped(MultiHeadAttention(dimensions: d, heads: heads, kvHeads: kvHeads, using: &g))
      },
      AttentionKindUnderTest(
        name: "MLA (r \(rank), RoPE \(rope))",
        cost: .latent(
          heads: heads, qLoRARank: nil, kvLoRARank: rank, nopeHeadDim: hd, ropeHeadDim: rope, vHeadDim: hd)
      ) { g in
        .latent(
          MultiHeadLatentAttention(
            dimensions: d, heads: heads, queryRank: nil, latentRank: rank, nopeDimensions: hd,
            ropeDimensions: rope,
            valueDimensions: hd, using: &g))
      },
    ]
  }
}
