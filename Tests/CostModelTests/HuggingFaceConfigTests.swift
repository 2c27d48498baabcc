import CostModel
import Foundation
import Testing

@Suite struct HuggingFaceConfigTests {
  func load(_ json: String) throws -> Architecture {
    try HuggingFaceConfig.architecture(json: PublishedModels.data(json))
  }

  func expectWithin(_ value: Int, _ published: Double, _ tolerance: Double, _ label: String) {
    let error = abs(Double(value) - published) / published
    #expect(error < tolerance, "\(label): \(value) vs published \(published) (\(error * 100) %)")
  }

  @Test func publishedModelsWithinOnePercent() throws {
    expectWithin(try load(PublishedModels.llama2_7B).totalParameters, 6.74e9, 0.01, "Llama-2-7B")
    expectWithin(try load(PublishedModels.llama2_70B).totalParameters, 68.98e9, 0.01, "Llama-2-70B")
    let mixtral = try load(PublishedModels.mixtral8x7B)
    expectWithin(mixtral.totalParameters, 46.7e9, 0.01, "Mixtral total")
    expectWithin(mixtral.activeParameters, 12.9e9, 0.01, "Mixtral active")
    let deepSeek = try load(PublishedModels.deepSeekMoE16B)
    expectWithin(deepSeek.totalParameters, 16.4e9, 0.01, "DeepSeek-MoE 16B total")
    expectWithin(deepSeek.activeParameters, 2.8e9, 0.015, "DeepSeek-MoE 16B active")
    let qwen = try load(PublishedModels.qwen15MoE)
    expectWithin(qwen.totalParameters, 14.3e9, 0.01, "Qwen1.5-MoE-A2.7B total")
    expectWithin(qwen.activeParameters, 2.7e9, 0.01, "Qwen1.5-MoE-A2.7B active")
    expectWithin(
      qwen.activeParametersExcludingEmbeddings, 2.0e9, 0.05, "Qwen1.5-MoE-A2.7B active non-embedding")
    let olmoe = try load(PublishedModels.olmoe)
    expectWithin(olmoe.totalParameters, 6.9e9, 0.01, "OLMoE total")
    expectWithin(olmoe.activeParameters, 1.3e9, 0.02, "OLMoE active")
    let qwen3 = try load(PublishedModels.qwen3_30B_A3B)
    expectWithin(qwen3.totalParameters, 30.5e9, 0.01, "Qwen3-30B-A3B total")
    expectWithin(qwen3.activeParameters, 3.3e9, 0.02, "Qwen3-30B-A3B active")
  }

  @Test func deepSeekV3ExactCounts() throws {
    let v3 = try load(PublishedModels.deepSeekV3)
    // Worked out from the config: 3 dense layers of 583,483,392 and 58 MoE layers of
    // 11,507,286,016 weights plus each router's 256-scalar correction bias, two
    // 926,679,040 embedding matrices and a 7,168 final norm.
    #expect(v3.totalParameters == 671_026_404_352 + 58 * 256)
    expectWithin(v3.totalParameters, 671e9, 0.01, "DeepSeek-V3 total")
    #expect(v3.activeParameters == 37_552_282_624 + 58 * 256)
    // The published "37B activated" is a rounded figure: 37.55B counting the embedding
    // table, 36.63B without the input embedding; both are within 1.5 %.
    expectWithin(v3.activeParameters, 37e9, 0.015, "DeepSeek-V3 active")
    expectWithin(
      v3.activeParameters - v3.embeddingParameters, 37e9, 0.015, "DeepSeek-V3 active w/o input embedding")
    // One MTP module: a MoE layer, a 2d×d projection, three norms: 11.61B, outside the total.
    #expect(v3.multiTokenPredictionParameters == 11_507_286_016 + 256 + 2 * 7168 * 7168 + 3 * 7168)
    #expect(v3.isMoELayer == ReferenceArchitectures.deepSeekV3.isMoELayer)
    #expect(v3.totalParameters == ReferenceArchitectures.deepSeekV3.totalParameters)
    // MLA caches 512 + 64 scalars per layer per token.
    #expect(v3.kvCacheBytesPerToken(.bf16) == 61 * 576 * 2)
  }

  @Test func layoutsFollowEachFamilysRule() throws {
    let deepSeek = try load(PublishedModels.deepSeekMoE16B)
    #expect(deepSeek.isMoELayer.first == false && deepSeek.moeLayers == 27)
    let qwen = try load(
      PublishedModels.qwen15MoE.replacingOccurrences(
        of: "\"decoder_sparse_step\": 1", with: "\"decoder_sparse_step\": 2"
      )
      .replacingOccurrences(of: "\"mlp_only_layers\": []", with: "\"mlp_only_layers\": [3]"))
    #expect(Array(qwen.isMoELayer.prefix(6)) == [false, true, false, false, false, true])
    // ERNIE 4.5 as transformers defaults it: MoE from layer 1, an end index of -1 meaning the last.
    let ernie = """
      {"model_type": "ernie4_5_moe", "vocab_size": 100, "hidden_size": 16, "intermediate_size": 32,
       "num_hidden_layers": 5, "num_attention_heads": 2, "moe_num_experts": 4, "moe_k": 2,
       "moe_intermediate_size": 8, "moe_layer_interval": 2
      """
    #expect(try load(ernie + "}").isMoELayer == [false, true, false, true, false])
    #expect(
      try load(ernie + ", \"moe_layer_end_index\": -1}").isMoELayer == [false, true, false, true, false])
    #expect(
      try load(ernie + ", \"moe_layer_end_index\": 2}").isMoELayer == [false, true, false, false, false])
    #expect(throws: ConfigError.self) { try load(ernie + ", \"moe_layer_end_index\": -2}") }
  }

  @Test func unsupportedModelTypeListsTheSupportedOnes() {
    #expect(
      throws: ConfigError.unsupportedModelType(
        "gpt2", architectures: ["GPT2LMHeadModel"], supported: HuggingFaceConfig.supportedModelTypes)
    ) {
      try load(#"{"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}"#)
    }
    let message =
      "\(ConfigError.unsupportedModelType("gpt2", architectures: ["GPT2LMHeadModel"], supported: HuggingFaceConfig.supportedModelTypes))"
    #expect(message.contains("mixtral") && message.contains("gpt2") && message.contains("GPT2LMHeadModel"))
  }

  /// A remote-code `model_type` (Kimi-K2's `kimi_k2`) is costed as the family its
  /// `architectures` names: exactly DeepSeek-V3's figures for DeepSeek-V3's sizes.
  @Test func remoteCodeModelTypesResolveThroughArchitectures() throws {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/zoo/DeepSeek-V3/config.json").path
    var object =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    let deepSeek = try HuggingFaceConfig.architecture(json: JSONSerialization.data(withJSONObject: object))
    object["model_type"] = "kimi_k2"
    object["architectures"] = ["DeepseekV3ForCausalLM"]
    let kimi = try HuggingFaceConfig.architecture(json: JSONSerialization.data(withJSONObject: object))
    #expect(
      kimi.totalParameters == deepSeek.totalParameters && kimi.activeParameters == deepSeek.activeParameters)
    #expect(
      try HuggingFaceConfig.modelType(of: ConfigFields(json: JSONSerialization.data(withJSONObject: object)))
        == "deepseek_v3")
    object["architectures"] = ["KimiK2ForCausalLM"]
    #expect(
      throws: ConfigError.unsupportedModelType(
        "kimi_k2", architectures: ["KimiK2ForCausalLM"], supported: HuggingFaceConfig.supportedModelTypes)
    ) { try HuggingFaceConfig.architecture(json: JSONSerialization.data(withJSONObject: object)) }
  }

  @Test(arguments: [
    (#"not json"#, "not valid JSON"),
    (#"[1, 2]"#, "top level"),
    (#"{"vocab_size": 10}"#, "model_type"),
    (
      #"{"model_type": "llama", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2}"#,
      "vocab_size"
    ),
    (
      #"{"model_type": "llama", "vocab_size": "32000", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2}"#,
      "vocab_size"
    ),
    (
      #"{"model_type": "llama", "vocab_size": 10.5, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2}"#,
      "vocab_size"
    ),
    (
      #"{"model_type": "llama", "vocab_size": 10, "hidden_size": 0, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2}"#,
      "hidden_size"
    ),
    (
      #"{"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 3}"#,
      "num_attention_heads"
    ),
    (
      #"{"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 3}"#,
      "num_key_value_heads"
    ),
    (
      #"{"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "tie_word_embeddings": 1}"#,
      "tie_word_embeddings"
    ),
    (
      #"{"model_type": "mixtral", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "num_local_experts": 2, "num_experts_per_tok": 3}"#,
      "num_experts_per_tok"
    ),
    (
      #"{"model_type": "qwen2_moe", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "moe_intermediate_size": 4, "num_hidden_layers": 2, "num_attention_heads": 2, "num_experts": 4, "num_experts_per_tok": 2, "mlp_only_layers": [5]}"#,
      "mlp_only_layers"
    ),
    (
      #"{"model_type": "deepseek_v3", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "moe_intermediate_size": 4, "num_hidden_layers": 2, "num_attention_heads": 2, "n_routed_experts": 6, "num_experts_per_tok": 2, "n_group": 4, "topk_group": 1, "kv_lora_rank": 4, "qk_nope_head_dim": 2, "qk_rope_head_dim": 1, "v_head_dim": 2}"#,
      "n_group"
    ),
    (
      #"{"model_type": "deepseek", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "moe_intermediate_size": 4, "num_hidden_layers": 2, "num_attention_heads": 2, "n_routed_experts": 4, "num_experts_per_tok": 2, "first_k_dense_replace": 3}"#,
      "first_k_dense_replace"
    ),
    (
      #"{"model_type": "deepseek_v2", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2}"#,
      "kv_lora_rank"
    ),
  ])
  func badConfigsNameTheField(json: String, field: String) {
    do {
      _ = try load(json)
      Issue.record("accepted a bad config: \(json)")
    } catch let error as ConfigError {
      #expect("\(error)".contains(field), "\(error)")
    } catch {
      Issue.record("unexpected error \(error)")
    }
  }

  @Test func missingFileIsATypedError() {
    #expect(throws: ConfigError.self) {
      try HuggingFaceConfig.architecture(contentsOfFile: "/nonexistent/config.json")
    }
  }

  @Test func deepSeekV2LiteWithoutQueryCompression() throws {
    let lite = try load(
      #"{"model_type": "deepseek_v2", "vocab_size": 102400, "hidden_size": 2048, "intermediate_size": 10944, "moe_intermediate_size": 1408, "num_hidden_layers": 27, "num_attention_heads": 16, "n_routed_experts": 64, "n_shared_experts": 2, "num_experts_per_tok": 6, "first_k_dense_replace": 1, "q_lora_rank": null, "kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128}"#
    )
    // DeepSeek-V2-Lite: 15.7B total, 2.4B activated. The report's activated count leaves
    // out the input embedding (2.45B); counting it, as `activeParameters` does, gives 2.66B.
    expectWithin(lite.totalParameters, 15.7e9, 0.01, "DeepSeek-V2-Lite total")
    expectWithin(lite.activeParameters - lite.embeddingParameters, 2.4e9, 0.025, "DeepSeek-V2-Lite active")
  }
}

@Suite struct CostModelReadmeExampleTests {
  /// The overview snippet of `CostModel.docc`, on a config file written here.
  @Test func glanceSnippetRuns() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-readme-\(UInt64.random(in: 0..<1 << 40)).json"
    ).path
    try Data(PublishedModels.mixtral8x7B.utf8).write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let mixtral = try HuggingFaceConfig.architecture(contentsOfFile: path)
    #expect(mixtral.totalParameters == 46_702_792_704 && mixtral.activeParameters == 12_879_925_248)
    let flops = mixtral.forwardFLOPsPerToken(context: 4096)
    let step = DecodeProjection(mixtral, on: .h100, batch: 8, context: 4096, dataType: .bf16)
    #expect(step.flops == 8 * flops && step.isMemoryBound)
  }
}

@Suite struct ConfigLimitsTests {
  /// A configuration at every limit must still be costed without overflowing.
  @Test func theLargestAcceptedConfigDoesNotOverflow() throws {
    let json =
      #"{"model_type": "deepseek_v3", "vocab_size": 16777216, "hidden_size": 65536, "intermediate_size": 1048576, "moe_intermediate_size": 1048576, "num_hidden_layers": 4096, "num_attention_heads": 4096, "n_shared_experts": 4096, "n_routed_experts": 4096, "num_experts_per_tok": 4096, "q_lora_rank": 65536, "kv_lora_rank": 65536, "qk_nope_head_dim": 4096, "qk_rope_head_dim": 4096, "v_head_dim": 4096, "num_nextn_predict_layers": 64}"#
    let a = try HuggingFaceConfig.architecture(json: Data(json.utf8))
    #expect(a.totalParameters > 0 && a.activeParameters > 0 && a.multiTokenPredictionParameters > 0)
    #expect(a.forwardFLOPsPerToken(context: 1 << 24).isFinite)
    #expect(a.bytesReadPerDecodeStep(batch: 1 << 20, context: 1 << 24, dataType: .fp32).isFinite)
  }
}
