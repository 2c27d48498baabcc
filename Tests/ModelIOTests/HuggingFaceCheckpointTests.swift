import CostModel
import Foundation
import Linalg
import MoE
import ModelIO
import Testing

/// Checkpoints written in each naming scheme from layers built directly must load into
/// layers that compute the same outputs.
@Suite struct HuggingFaceCheckpointTests {
  static let (d, h, e, k) = (8, 6, 4, 2)

  /// The tensors of `network` under `prefix` with the given projection names.
  static func tensors(
    _ network: FeedForward<Float>, _ prefix: String,
    names: (String, String, String) = ("gate_proj", "up_proj", "down_proj")
  ) -> [String: Tensor] {
    [
      "\(prefix).\(names.0).weight": Tensor(network.gate!.weight.value, as: .f32),
      "\(prefix).\(names.1).weight": Tensor(network.up.weight.value, as: .f32),
      "\(prefix).\(names.2).weight": Tensor(network.down.weight.value, as: .f32),
    ]
  }

  static func config(_ fields: String) -> Data {
    Data(
      "{\"hidden_size\": \(d), \"num_hidden_layers\": 3, \"vocab_size\": 32, \"num_attention_heads\": 2, \"hidden_act\": \"silu\", \(fields)}"
        .utf8)
  }

  func load(_ tensors: [String: Tensor], config: Data) throws -> HuggingFaceCheckpoint {
    let folder = TemporaryFolder()
    try SafeTensorsWriter.write(tensors, to: folder.path("model.safetensors"))
    return try HuggingFaceCheckpoint(
      config: config, weights: SafeTensorsFile(contentsOfFile: folder.path("model.safetensors")))
  }

  func expectSameOutputs(_ loaded: FeedForwardSublayer<Float>, _ direct: MoELayer<Float>, _ label: String) {
    var g = Xoshiro256StarStar(seed: 9)
    let x = Matrix<Float>.normal(rows: 11, columns: Self.d, using: &g)
    guard case .moe(let layer) = loaded else {
      Issue.record("\(label): loaded a dense block")
      return
    }
    #expect(layer(x) == direct(x), "\(label)")
  }

  func experts(using g: inout Xoshiro256StarStar) -> [FeedForward<Float>] {
    (0..<Self.e).map { _ in FeedForward<Float>(dimensions: Self.d, hiddenDimensions: Self.h, using: &g) }
  }

  @Test func mixtral() throws {
    var g = Xoshiro256StarStar(seed: 1)
    let gate = Linear<Float>.routerGate(dimensions: Self.d, expertCount: Self.e, using: &g)
    let direct = MoELayer(router: TopKSoftmaxRouter(gate: gate, k: Self.k), experts: experts(using: &g))
    var tensors: [String: Tensor] = [
      "model.layers.1.block_sparse_moe.gate.weight": Tensor(gate.weight.value, as: .f32)
    ]
    for (j, expert) in direct.experts.enumerated() {
      tensors.merge(
        Self.tensors(expert, "model.layers.1.block_sparse_moe.experts.\(j)", names: ("w1", "w3", "w2"))
      ) { $1 }
    }
    let checkpoint = try load(
      tensors,
      config: Self.config(
        #""model_type": "mixtral", "intermediate_size": 6, "num_local_experts": 4, "num_experts_per_tok": 2"#)
    )
    expectSameOutputs(try checkpoint.feedForward(layer: 1, as: Float.self), direct, "mixtral")
  }

  @Test(arguments: [true, false])
  func qwenMoE(sharedExpert: Bool) throws {
    var g = Xoshiro256StarStar(seed: 2)
    let gate = Linear<Float>.routerGate(dimensions: Self.d, expertCount: Self.e, using: &g)
    let shared = SharedExpert(
      network: FeedForward<Float>(dimensions: Self.d, hiddenDimensions: 10, using: &g),
      gate: Linear(inputDimensions: Self.d, outputDimensions: 1, bias: false, using: &g))
    let direct = MoELayer(
      router: TopKSoftmaxRouter(gate: gate, k: Self.k, normalizeTopK: false), experts: experts(using: &g),
      sharedExpert: sharedExpert ? shared : nil)
    var tensors: [String: Tensor] = ["model.layers.1.mlp.gate.weight": Tensor(gate.weight.value, as: .f32)]
    for (j, expert) in direct.experts.enumerated() {
      tensors.merge(Self.tensors(expert, "model.layers.1.mlp.experts.\(j)")) { $1 }
    }
    if sharedExpert {
      tensors.merge(Self.tensors(shared.network, "model.layers.1.mlp.shared_expert")) { $1 }
      tensors["model.layers.1.mlp.shared_expert_gate.weight"] = Tensor(shared.gate!.weight.value, as: .f32)
    }
    let dense = FeedForward<Float>(dimensions: Self.d, hiddenDimensions: 12, using: &g)
    tensors.merge(Self.tensors(dense, "model.layers.0.mlp")) { $1 }
    let type = sharedExpert ? "qwen2_moe" : "qwen3_moe"
    let checkpoint = try load(
      tensors,
      config: Self.config(
        #""model_type": "\#(type)", "intermediate_size": 12, "moe_intermediate_size": 6, "shared_expert_intermediate_size": \#(sharedExpert ? 10 : 0), "num_experts": 4, "num_experts_per_tok": 2, "decoder_sparse_step": 1, "mlp_only_layers": [0], "norm_topk_prob": false"#
      ))
    expectSameOutputs(try checkpoint.feedForward(layer: 1, as: Float.self), direct, type)
    #expect(try !checkpoint.isMoE(layer: 0))
    guard case .dense(let loaded) = try checkpoint.feedForward(layer: 0, as: Float.self) else {
      Issue.record("layer 0 should be dense")
      return
    }
    let x = Matrix<Float>.normal(rows: 3, columns: Self.d, using: &g)
    #expect(loaded(x) == dense(x))
  }

  @Test func deepSeekV3() throws {
    var g = Xoshiro256StarStar(seed: 3)
    let gate = Linear<Float>.routerGate(dimensions: Self.d, expertCount: Self.e, using: &g)
    let bias = Matrix<Float>([[0.05, -0.1, 0.2, 0]])
    var router = GroupLimitedRouter(
      gate: gate, k: Self.k, selectionBias: bias, groupCount: 2, topKGroup: 1, normalizeTopK: true,
      routedScalingFactor: 2.5)
    router.ineligibleScore = 0
    let shared = SharedExpert(
      network: FeedForward<Float>(dimensions: Self.d, hiddenDimensions: 2 * Self.h, using: &g))
    let direct = MoELayer(router: router, experts: experts(using: &g), sharedExpert: shared)
    var tensors: [String: Tensor] = [
      "model.layers.2.mlp.gate.weight": Tensor(gate.weight.value, as: .f32),
      "model.layers.2.mlp.gate.e_score_correction_bias": Tensor(bias, shape: [4], as: .f32),
    ]
    for (j, expert) in direct.experts.enumerated() {
      tensors.merge(Self.tensors(expert, "model.layers.2.mlp.experts.\(j)")) { $1 }
    }
    tensors.merge(Self.tensors(shared.network, "model.layers.2.mlp.shared_experts")) { $1 }
    let checkpoint = try load(
      tensors,
      config: Self.config(
        #""model_type": "deepseek_v3", "kv_lora_rank": 4, "qk_nope_head_dim": 2, "qk_rope_head_dim": 2, "v_head_dim": 2, "intermediate_size": 12, "moe_intermediate_size": 6, "n_routed_experts": 4, "n_shared_experts": 2, "num_experts_per_tok": 2, "n_group": 2, "topk_group": 1, "first_k_dense_replace": 1, "routed_scaling_factor": 2.5, "norm_topk_prob": true"#
      ))
    expectSameOutputs(try checkpoint.feedForward(layer: 2, as: Float.self), direct, "deepseek_v3")
    #expect(try !checkpoint.isMoE(layer: 0) && checkpoint.isMoE(layer: 1))
  }

  @Test func shardedCheckpoints() throws {
    let folder = TemporaryFolder()
    var g = Xoshiro256StarStar(seed: 4)
    let network = FeedForward<Float>(dimensions: Self.d, hiddenDimensions: 12, using: &g)
    let all = Self.tensors(network, "model.layers.0.mlp")
    let names = all.keys.sorted()
    try SafeTensorsWriter.write([names[0]: all[names[0]]!], to: folder.path("a.safetensors"))
    try SafeTensorsWriter.write(
      [names[1]: all[names[1]]!, names[2]: all[names[2]]!], to: folder.path("b.safetensors"))
    let index =
      #"{"metadata": {}, "weight_map": {"\#(names[0])": "a.safetensors", "\#(names[1])": "b.safetensors", "\#(names[2])": "b.safetensors"}}"#
    _ = FileManager.default.createFile(
      atPath: folder.path("model.safetensors.index.json"), contents: Data(index.utf8))
    let config = Self.config(
      #""model_type": "llama", "intermediate_size": 12"#)
    _ = FileManager.default.createFile(atPath: folder.path("config.json"), contents: config)
    let checkpoint = try HuggingFaceCheckpoint(
      configFile: folder.path("config.json"), weightsFile: folder.path("model.safetensors.index.json"))
    guard case .dense(let loaded) = try checkpoint.feedForward(layer: 0, as: Float.self) else {
      Issue.record("expected a dense block")
      return
    }
    let x = Matrix<Float>.normal(rows: 2, columns: Self.d, using: &g)
    #expect(loaded(x) == network(x))
  }

  @Test func errorsNameTheTensorOrField() throws {
    var g = Xoshiro256StarStar(seed: 5)
    let network = FeedForward<Float>(dimensions: Self.d, hiddenDimensions: 12, using: &g)
    let tensors = Self.tensors(network, "model.layers.0.mlp")
    let qwen = #""model_type": "llama""#
    let wrongWidth = try load(tensors, config: Self.config(qwen + #", "intermediate_size": 10"#))
    #expect(
      throws: CheckpointError.shapeMismatch(
        name: "model.layers.0.mlp.gate_proj.weight", expected: [10, 8], found: [12, 8])
    ) { try wrongWidth.feedForward(layer: 0, as: Float.self) }
    let fine = try load(tensors, config: Self.config(qwen + #", "intermediate_size": 12"#))
    #expect(throws: CheckpointError.missingTensor("model.layers.1.mlp.gate_proj.weight")) {
      try fine.feedForward(layer: 1, as: Float.self)
    }
    #expect(throws: CheckpointError.layerOutOfRange(layer: 3, layers: 3)) {
      try fine.feedForward(layer: 3, as: Float.self)
    }
    #expect(
      throws: CheckpointError.unsupportedModelType(
        "gemma", architectures: [], supported: ModelFamilyRegistry.modelTypes)
    ) {
      try load(tensors, config: Self.config(#""model_type": "gemma""#))
    }
    #expect(throws: CheckpointError.config(.missingField("intermediate_size"))) {
      try load(tensors, config: Self.config(qwen))
    }
    let act = try load(
      tensors,
      config: Data(
        #"{"model_type": "llama", "hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 32, "num_attention_heads": 2, "hidden_act": "mish", "intermediate_size": 12}"#
          .utf8))
    #expect(throws: CheckpointError.unsupportedActivation("mish")) {
      try act.feedForward(layer: 0, as: Float.self)
    }
  }
}

@Suite struct ModelIOReadmeExampleTests {
  /// The overview snippet of `ModelIO.docc`, on files written here.
  @Test func glanceSnippetRuns() throws {
    let folder = TemporaryFolder()
    var g = Xoshiro256StarStar(seed: 6)
    let gate = Linear<Float>.routerGate(dimensions: 8, expertCount: 2, using: &g)
    var tensors: [String: Tensor] = ["model.layers.1.mlp.gate.weight": Tensor(gate.weight.value, as: .f32)]
    for j in 0..<2 {
      let expert = FeedForward<Float>(dimensions: 8, hiddenDimensions: 4, using: &g)
      tensors.merge(HuggingFaceCheckpointTests.tensors(expert, "model.layers.1.mlp.experts.\(j)")) { $1 }
    }
    try SafeTensorsWriter.write(tensors, to: folder.path("model.safetensors"))
    let config =
      #"{"model_type": "qwen3_moe", "hidden_size": 8, "num_hidden_layers": 2, "vocab_size": 32, "num_attention_heads": 2, "intermediate_size": 4, "moe_intermediate_size": 4, "num_experts": 2, "num_experts_per_tok": 1}"#
    _ = FileManager.default.createFile(atPath: folder.path("config.json"), contents: Data(config.utf8))
    try NpyArray(Matrix<Float>.normal(rows: 3, columns: 8, using: &g)).write(to: folder.path("x.npy"))

    let file = try SafeTensorsFile(contentsOfFile: folder.path("model.safetensors"))
    let loadedGate = try file.matrix("model.layers.1.mlp.gate.weight", as: Float.self)
    try SafeTensorsWriter.write(["w": Tensor(loadedGate, as: .bf16)], to: folder.path("out.safetensors"))
    let x = try NpyArray(contentsOfFile: folder.path("x.npy")).matrix(as: Float.self)
    let checkpoint = try HuggingFaceCheckpoint(
      configFile: folder.path("config.json"), weightsFile: folder.path("model.safetensors"))
    guard case .moe(let layer) = try checkpoint.feedForward(layer: 1, as: Float.self) else {
      Issue.record("layer 1 should be MoE")
      return
    }
    #expect(layer(x).shape == (3, 8))
    #expect(loadedGate == gate.weight.value)
  }
}
