import Foundation

/// `config.json` files of published models, written out (fields as their model cards'
/// repositories give them; fields the importer does not read are left out).
enum PublishedModels {
  static let llama2_7B = """
    {"model_type": "llama", "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008,
     "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
     "tie_word_embeddings": false, "rms_norm_eps": 1e-05}
    """

  static let llama2_70B = """
    {"model_type": "llama", "vocab_size": 32000, "hidden_size": 8192, "intermediate_size": 28672,
     "num_hidden_layers": 80, "num_attention_heads": 64, "num_key_value_heads": 8}
    """

  static let mixtral8x7B = """
    {"model_type": "mixtral", "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 14336,
     "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
     "num_local_experts": 8, "num_experts_per_tok": 2, "tie_word_embeddings": false}
    """

  static let deepSeekV3 = """
    {"model_type": "deepseek_v3", "vocab_size": 129280, "hidden_size": 7168, "intermediate_size": 18432,
     "moe_intermediate_size": 2048, "num_hidden_layers": 61, "num_attention_heads": 128,
     "num_key_value_heads": 128, "n_shared_experts": 1, "n_routed_experts": 256,
     "num_experts_per_tok": 8, "n_group": 8, "topk_group": 4, "first_k_dense_replace": 3,
     "moe_layer_freq": 1, "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_nope_head_dim": 128,
     "qk_rope_head_dim": 64, "v_head_dim": 128, "num_nextn_predict_layers": 1,
     "routed_scaling_factor": 2.5, "norm_topk_prob": true, "tie_word_embeddings": false}
    """

  static let deepSeekMoE16B = """
    {"model_type": "deepseek", "vocab_size": 102400, "hidden_size": 2048, "intermediate_size": 10944,
     "moe_intermediate_size": 1408, "num_hidden_layers": 28, "num_attention_heads": 16,
     "num_key_value_heads": 16, "n_shared_experts": 2, "n_routed_experts": 64,
     "num_experts_per_tok": 6, "first_k_dense_replace": 1, "moe_layer_freq": 1}
    """

  static let qwen15MoE = """
    {"model_type": "qwen2_moe", "vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 5632,
     "moe_intermediate_size": 1408, "shared_expert_intermediate_size": 5632, "num_experts": 60,
     "num_experts_per_tok": 4, "num_hidden_layers": 24, "num_attention_heads": 16,
     "num_key_value_heads": 16, "decoder_sparse_step": 1, "mlp_only_layers": [], "tie_word_embeddings": false}
    """

  static let olmoe = """
    {"model_type": "olmoe", "vocab_size": 50304, "hidden_size": 2048, "intermediate_size": 1024,
     "num_hidden_layers": 16, "num_attention_heads": 16, "num_key_value_heads": 16,
     "num_experts": 64, "num_experts_per_tok": 8, "tie_word_embeddings": false}
    """

  static let qwen3_30B_A3B = """
    {"model_type": "qwen3_moe", "vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 6144,
     "moe_intermediate_size": 768, "num_experts": 128, "num_experts_per_tok": 8,
     "num_hidden_layers": 48, "num_attention_heads": 32, "num_key_value_heads": 4, "head_dim": 128,
     "decoder_sparse_step": 1, "mlp_only_layers": [], "tie_word_embeddings": false}
    """

  static func data(_ json: String) -> Data { Data(json.utf8) }
}
