import CostModel
import Foundation
import Testing

/// The model zoo in `Fixtures/zoo` (written by `scripts/make-cost-fixtures.py`): every
/// config imports with exactly the total and active parameters of `transformers`' own
/// modules (instantiated on the meta device), and with the published figures within the
/// rounding the model cards use.
@Suite struct ZooTests {
  static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/zoo")

  struct Counts: Decodable {
    var total: Int
    var active: Int
    var moe_layers: Int
    var vision: Int?
  }

  static func counts() throws -> [String: Counts] {
    let data = try Data(
      contentsOf: folder.deletingLastPathComponent().appendingPathComponent("zoo-counts.json"))
    return try JSONDecoder().decode([String: Counts].self, from: data)
  }

  static func architecture(_ name: String) throws -> Architecture {
    try HuggingFaceConfig.architecture(
      contentsOfFile: folder.appendingPathComponent("\(name)/config.json").path)
  }

  static let models = [
    "gpt-oss-120b", "gpt-oss-20b", "Llama-4-Scout-17B-16E", "Llama-4-Maverick-17B-128E", "ERNIE-4.5-21B-A3B",
    "Phi-3.5-MoE", "Mixtral-8x7B", "DeepSeek-V3", "Qwen3-30B-A3B", "Qwen1.5-MoE-A2.7B", "OLMoE-1B-7B",
    "GLM-4.5-Air", "GLM-4.5", "DBRX", "dots.llm1", "Hunyuan-A13B", "granite-3.0-3b-a800m",
    "Qwen3-Next-80B-A3B",
    "Jamba-v0.1", "MiniMax-Text-01", "DeepSeek-V3.2", "GraniteMoeHybrid-defaults",
    "Llama-4-Scout-17B-16E-multimodal",
  ]

  /// Every model folder of the zoo has its counts, and every count its folder.
  @Test func everyZooConfigIsPinned() throws {
    let folders = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).sorted()
    #expect(folders == Self.models.sorted())
    #expect(try Self.counts().keys.sorted() == Self.models.sorted())
  }

  @Test(arguments: models) func countsEqualTransformersModules(name: String) throws {
    let expected = try #require(try Self.counts()[name])
    let a = try Self.architecture(name)
    #expect(a.totalParameters == expected.total, "\(name) total")
    #expect(a.activeParameters == expected.active, "\(name) active")
    #expect(a.moeLayers == expected.moe_layers, "\(name) MoE layers")
    #expect(a.visionTowerParameters == expected.vision ?? 0, "\(name) vision tower")
  }

  /// Published totals and active counts (model cards), with the convention each uses:
  /// OpenAI counts gpt-oss's active parameters without the input embedding (but with the
  /// head), Zhipu GLM-4.5's without embedding and head, Meta, Microsoft, Mistral, Qwen and
  /// AI2, Databricks, rednote and Tencent with everything (IBM's Granite without the tied
  /// table); ERNIE's card rounds 21.8B down to "21B" and 3.35B to "3B"
  /// (labels, not measurements); GLM-4.5's 355B includes its MTP layer; Qwen3-Next's "3B"
  /// and MiniMax's 45.9B leave out the embedding and the head; DeepSeek's "37B" rounds
  /// 37.6B (V3) and 38.4B (V3.2, whose indexer adds 0.85B) down.
  @Test func publishedFiguresAgree() throws {
    func near(_ value: Int, _ published: Double, within share: Double) -> Bool {
      abs(Double(value) - published) <= share * published
    }
    let big = try Self.architecture("gpt-oss-120b")
    #expect(near(big.totalParameters, 116.83e9, within: 0.001))
    #expect(near(big.activeParameters - big.embeddingParameters, 5.13e9, within: 0.002))
    let small = try Self.architecture("gpt-oss-20b")
    #expect(near(small.totalParameters, 20.91e9, within: 0.001))
    #expect(near(small.activeParameters - small.embeddingParameters, 3.61e9, within: 0.002))
    let scout = try Self.architecture("Llama-4-Scout-17B-16E")
    #expect(near(scout.activeParameters, 17e9, within: 0.02))
    let multimodal = try Self.architecture("Llama-4-Scout-17B-16E-multimodal")
    #expect(near(multimodal.totalParameters + multimodal.visionTowerParameters, 109e9, within: 0.01))
    let maverick = try Self.architecture("Llama-4-Maverick-17B-128E")
    #expect(
      near(maverick.totalParameters, 400e9, within: 0.01)
        && near(maverick.activeParameters, 17e9, within: 0.02))
    let phi = try Self.architecture("Phi-3.5-MoE")
    #expect(
      near(phi.totalParameters, 41.9e9, within: 0.001) && near(phi.activeParameters, 6.6e9, within: 0.01))
    let glm = try Self.architecture("GLM-4.5")
    #expect(
      near(glm.totalParameters, 355e9, within: 0.01)
        && near(glm.activeParametersExcludingEmbeddings, 32e9, within: 0.01))
    let air = try Self.architecture("GLM-4.5-Air")
    #expect(
      near(air.totalParameters, 106e9, within: 0.01)
        && near(air.activeParametersExcludingEmbeddings, 12e9, within: 0.02))
    let qwen3 = try Self.architecture("Qwen3-30B-A3B")
    #expect(
      near(qwen3.totalParameters, 30.5e9, within: 0.002) && near(qwen3.activeParameters, 3.3e9, within: 0.02))
    let qwen15 = try Self.architecture("Qwen1.5-MoE-A2.7B")
    #expect(
      near(qwen15.totalParameters, 14.3e9, within: 0.002)
        && near(qwen15.activeParameters, 2.7e9, within: 0.01))
    let olmoe = try Self.architecture("OLMoE-1B-7B")
    #expect(
      near(olmoe.totalParameters, 6.9e9, within: 0.003) && near(olmoe.activeParameters, 1.3e9, within: 0.02))
    let mixtral = try Self.architecture("Mixtral-8x7B")
    #expect(
      near(mixtral.totalParameters, 46.7e9, within: 0.001)
        && near(mixtral.activeParameters, 12.9e9, within: 0.002))
    let dbrx = try Self.architecture("DBRX")
    #expect(
      near(dbrx.totalParameters, 132e9, within: 0.005) && near(dbrx.activeParameters, 36e9, within: 0.015))
    let dots = try Self.architecture("dots.llm1")
    #expect(
      near(dots.totalParameters, 142e9, within: 0.006) && near(dots.activeParameters, 14e9, within: 0.002))
    let hunyuan = try Self.architecture("Hunyuan-A13B")
    #expect(
      near(hunyuan.totalParameters, 80e9, within: 0.005) && near(hunyuan.activeParameters, 13e9, within: 0.02)
    )
    let granite = try Self.architecture("granite-3.0-3b-a800m")  // 800M active without the (tied) table
    #expect(
      near(granite.totalParameters, 3.3e9, within: 0.001)
        && near(granite.activeParametersExcludingEmbeddings, 0.8e9, within: 0.01))
    let next = try Self.architecture("Qwen3-Next-80B-A3B")
    #expect(
      near(next.totalParameters, 80e9, within: 0.005)
        && near(next.activeParametersExcludingEmbeddings, 3e9, within: 0.1))
    let jamba = try Self.architecture("Jamba-v0.1")
    #expect(
      near(jamba.totalParameters, 52e9, within: 0.01) && near(jamba.activeParameters, 12e9, within: 0.01))
    let minimax = try Self.architecture("MiniMax-Text-01")
    #expect(
      near(minimax.totalParameters, 456e9, within: 0.001)
        && near(minimax.activeParametersExcludingEmbeddings, 45.9e9, within: 0.002))
    let v32 = try Self.architecture("DeepSeek-V3.2")
    #expect(near(v32.totalParameters, 671e9, within: 0.002) && near(v32.activeParameters, 37e9, within: 0.04))
    let ernie = try Self.architecture("ERNIE-4.5-21B-A3B")
    #expect(ernie.totalParameters / 1_000_000_000 == 21 && ernie.activeParameters / 1_000_000_000 == 3)
  }

  /// A quantized checkpoint's config, a sliding window the accounting does not follow and
  /// a multimodal Llama 4's vision tower are costed, and each is named as not modelled.
  @Test func fieldsTheFiguresDoNotFollowAreNamed() throws {
    let quantized = """
      {"model_type": "mixtral", "vocab_size": 32000, "hidden_size": 64, "intermediate_size": 128,
       "num_hidden_layers": 2, "num_attention_heads": 4, "num_local_experts": 4, "num_experts_per_tok": 2,
       "sliding_window": 4096, "quantization_config": {"quant_method": "mxfp4"}}
      """
    let a = try HuggingFaceConfig.architecture(json: Data(quantized.utf8))
    #expect(a.unmodelledFields.count == 2)
    #expect(a.unmodelledFields[0].hasPrefix("quantization_config (mxfp4)"))
    #expect(a.unmodelledFields[1].hasPrefix("sliding_window"))
    let scout = try Self.architecture("Llama-4-Scout-17B-16E")
    #expect(scout.unmodelledFields.isEmpty)
  }

  /// Recurrent layers keep a fixed state: Jamba's cache grows only in its 4 attention
  /// layers, and its Mamba layers cost the same at any context; DeepSeek-V3.2 attends at
  /// most 2,048 positions, so beyond that only its indexer's scoring grows.
  @Test func recurrentAndSparseLayersStopGrowing() throws {
    let jamba = try Self.architecture("Jamba-v0.1")
    let mambaState = 8192 * 16 + 8192 * 3
    let attention = 2 * 8 * 128
    #expect(
      jamba.cacheBytes(context: 1000, dataType: .bf16) == Double(2 * (28 * mambaState + 4 * attention * 1000))
    )
    #expect(jamba.attentionFLOPs(layer: 0, context: 100_000) == jamba.attentionFLOPs(layer: 0, context: 1))
    let v32 = try Self.architecture("DeepSeek-V3.2")
    let at4096 = v32.attentionFLOPs(layer: 0, context: 4096)
    let at8192 = v32.attentionFLOPs(layer: 0, context: 8192)
    #expect(at8192 - at4096 == 2 * Double(64 * 128 * 4096))  // the indexer's scores alone
  }

  /// gpt-oss's sliding layers stop caching at their window: at 8,192 tokens half its
  /// layers hold 128 positions, so the cache is a little over half the unwindowed one.
  @Test func windowedLayersCacheAtMostTheirWindow() throws {
    let a = try Self.architecture("gpt-oss-120b")
    let perLayer = 2 * 8 * 64  // keys and values of 8 KV heads of 64
    #expect(a.cacheBytes(context: 8192, dataType: .bf16) == Double(18 * perLayer * (8192 + 128) * 2))
    #expect(a.kvCacheBytesPerToken(.bf16) == Double(36 * perLayer * 2))
    // Scores and values of a windowed layer stop growing too.
    #expect(a.attentionFLOPs(layer: 0, context: 8192) == a.attentionFLOPs(layer: 0, context: 128))
    #expect(a.attentionFLOPs(layer: 1, context: 8192) > a.attentionFLOPs(layer: 1, context: 128))
  }
}
