"""Writes the cost-table zoo: one folder per model under Tests/CostModelTests/Fixtures/zoo
with its config.json, and zoo-counts.json with the exact total and active parameters of
transformers' own modules, instantiated on the meta device (no memory, no weights).

Each config is the default of its transformers configuration class — which transformers
documents as a released model's — or that default with the fields of another released
model set (see SOURCES). Totals count every parameter and every persistent buffer a
checkpoint stores; active = total − Σ over MoE layers of (experts − k) × one routed
expert's parameters (read from the modules' shapes).

Run through scripts/make-model-fixtures.sh's venv:  MOEKIT_FIXTURE_SCRIPT=... or
  /tmp/moekit-fixtures-venv/bin/python scripts/make-cost-fixtures.py
"""
import json, os, re, sys
import torch
import transformers as t

ROOT = os.path.join(os.path.dirname(__file__), "..", "Tests", "CostModelTests", "Fixtures", "zoo")

# name: (config class, overrides, experts per token field, source)
SOURCES = {
    "gpt-oss-120b": ("GptOssConfig", {}, "num_experts_per_tok",
                     "transformers GptOssConfig() defaults (gpt-oss-120b)"),
    "gpt-oss-20b": ("GptOssConfig", {"num_hidden_layers": 24, "num_local_experts": 32,
                                      "layer_types": ["sliding_attention", "full_attention"] * 12},
                    "num_experts_per_tok", "gpt-oss-120b defaults with gpt-oss-20b's 24 layers and 32 experts"),
    "Llama-4-Scout-17B-16E": ("Llama4TextConfig", {}, "num_experts_per_tok",
                              "transformers Llama4TextConfig() defaults (Llama 4 Scout text tower)"),
    "Llama-4-Maverick-17B-128E": ("Llama4TextConfig", {"num_local_experts": 128, "interleave_moe_layer_step": 2,
                                                       "moe_layers": None},
                                  "num_experts_per_tok", "Scout defaults with Maverick's 128 experts on every other layer"),
    "Llama-4-Scout-17B-16E-multimodal": ("Llama4Config", {}, "num_experts_per_tok",
                                         "transformers Llama4Config() defaults (Llama 4 Scout with its vision tower)"),
    "ERNIE-4.5-21B-A3B": ("Ernie4_5_MoeConfig", {}, "moe_k",
                          "transformers Ernie4_5_MoeConfig() defaults (ERNIE-4.5-21B-A3B)"),
    "Phi-3.5-MoE": ("PhimoeConfig", {}, "num_experts_per_tok",
                    "transformers PhimoeConfig() defaults (Phi-3.5-MoE-instruct)"),
    "Mixtral-8x7B": ("MixtralConfig", {}, "num_experts_per_tok", "transformers MixtralConfig() defaults (Mixtral-8x7B)"),
    "DeepSeek-V3": ("DeepseekV3Config", {}, "num_experts_per_tok",
                    "transformers DeepseekV3Config() defaults (DeepSeek-V3; its MTP layer is not a module there)"),
    "Qwen3-30B-A3B": ("Qwen3MoeConfig", {"hidden_size": 2048, "num_hidden_layers": 48, "num_experts": 128,
                                         "num_experts_per_tok": 8, "moe_intermediate_size": 768,
                                         "intermediate_size": 6144, "num_attention_heads": 32,
                                         "num_key_value_heads": 4, "head_dim": 128, "vocab_size": 151936},
                      "num_experts_per_tok", "Qwen3MoeConfig with Qwen3-30B-A3B's published sizes"),
    "Qwen1.5-MoE-A2.7B": ("Qwen2MoeConfig", {}, "num_experts_per_tok",
                          "transformers Qwen2MoeConfig() defaults (Qwen1.5-MoE-A2.7B)"),
    "OLMoE-1B-7B": ("OlmoeConfig", {"intermediate_size": 1024}, "num_experts_per_tok",
                    "OlmoeConfig() defaults with OLMoE-1B-7B's expert width 1024"),
    "GLM-4.5-Air": ("Glm4MoeConfig", {"head_dim": 128}, "num_experts_per_tok",
                    "Glm4MoeConfig() defaults (GLM-4.5-Air) with its explicit head_dim 128"),
    "DBRX": ("DbrxConfig", {"d_model": 6144, "n_heads": 48, "n_layers": 40, "max_seq_len": 32768,
                            "vocab_size": 100352,
                            "attn_config": {"clip_qkv": 8, "kv_n_heads": 8, "rope_theta": 500000},
                            "ffn_config": {"ffn_hidden_size": 10752, "moe_num_experts": 16, "moe_top_k": 4}},
             "ffn_config.moe_top_k", "DbrxConfig with DBRX's published sizes (databricks/dbrx-base)"),
    "dots.llm1": ("Dots1Config", {"hidden_size": 4096, "num_hidden_layers": 62, "intermediate_size": 10944,
                                  "moe_intermediate_size": 1408, "num_attention_heads": 32,
                                  "num_key_value_heads": 32, "head_dim": 128, "n_routed_experts": 128,
                                  "n_shared_experts": 2, "num_experts_per_tok": 6, "first_k_dense_replace": 1,
                                  "vocab_size": 152064, "layer_types": None},
                  "num_experts_per_tok", "Dots1Config with dots.llm1's published sizes"),
    "Hunyuan-A13B": ("HunYuanMoEV1Config", {"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32,
                                            "num_key_value_heads": 8, "head_dim": 128, "intermediate_size": 3072,
                                            "num_experts": 64, "moe_topk": 8, "vocab_size": 128167,
                                            "tie_word_embeddings": True},
                     "moe_topk", "HunYuanMoEV1Config with Hunyuan-A13B's published sizes"),
    "granite-3.0-3b-a800m": ("GraniteMoeConfig", {"hidden_size": 1536, "num_hidden_layers": 32,
                                                  "num_attention_heads": 24, "num_key_value_heads": 8,
                                                  "intermediate_size": 512, "num_local_experts": 40,
                                                  "num_experts_per_tok": 8, "vocab_size": 49155,
                                                  "tie_word_embeddings": True},
                             "num_experts_per_tok", "GraniteMoeConfig with granite-3.0-3b-a800m's published sizes"),
    "Qwen3-Next-80B-A3B": ("Qwen3NextConfig", {}, "num_experts_per_tok",
                           "transformers Qwen3NextConfig() defaults (Qwen3-Next-80B-A3B)"),
    "Jamba-v0.1": ("JambaConfig", {}, "num_experts_per_tok", "transformers JambaConfig() defaults (Jamba-v0.1)"),
    "MiniMax-Text-01": ("MiniMaxConfig", {"hidden_size": 6144, "num_hidden_layers": 80, "num_attention_heads": 64,
                                          "num_key_value_heads": 8, "head_dim": 128, "intermediate_size": 9216,
                                          "num_local_experts": 32, "num_experts_per_tok": 2, "vocab_size": 200064,
                                          "layer_types": ["full_attention" if (i + 1) % 8 == 0 else "linear_attention"
                                                          for i in range(80)]},
                        "num_experts_per_tok", "MiniMaxConfig with MiniMax-Text-01's published sizes"),
    "DeepSeek-V3.2": ("DeepseekV32Config", {}, "num_experts_per_tok",
                      "transformers DeepseekV32Config() defaults (DeepSeek-V3.2; MTP not a module there)"),
    "GraniteMoeHybrid-defaults": ("GraniteMoeHybridConfig",
                                  {"layer_types": ["full_attention" if (i + 1) % 8 == 0 else "linear_attention"
                                                   for i in range(32)]},
                                  "num_experts_per_tok",
                                  "transformers GraniteMoeHybridConfig() defaults with every 8th layer attention "
                                  "(no released model; pins the Mamba-2 and shared-MLP accounting)"),
    "GLM-4.5": ("Glm4MoeConfig", {"head_dim": 128, "hidden_size": 5120, "num_hidden_layers": 92,
                                  "num_key_value_heads": 8, "intermediate_size": 12288,
                                  "moe_intermediate_size": 1536, "n_routed_experts": 160,
                                  "first_k_dense_replace": 3},
                "num_experts_per_tok", "Glm4MoeConfig with GLM-4.5's published sizes"),
}

def experts_of(config, name):
    for key in ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts"):
        if getattr(config, key, None):
            return getattr(config, key)
    ffn = getattr(config, "ffn_config", None)
    if ffn is not None:
        return ffn.moe_num_experts if not isinstance(ffn, dict) else ffn["moe_num_experts"]
    raise SystemExit(f"{name}: no expert count")

def count(config, k_field, name):
    multimodal = getattr(config, "vision_config", None) is not None
    with torch.device("meta"):
        model = (t.Llama4ForConditionalGeneration(config) if multimodal
                 else t.AutoModelForCausalLM.from_config(config))
    vision = 0
    if multimodal:  # the text model's counts; the vision tower and projector apart
        vision = sum(p.numel() for n, p in model.named_parameters() if "language_model" not in n)
        config = config.text_config
    state = set(model.state_dict().keys())
    total = sum(p.numel() for p in model.parameters()) - vision
    # Persistent buffers a checkpoint stores (DeepSeek's correction bias), but not derived
    # constants (MiniMax's decay tables).
    total += sum(b.numel() for n, b in model.named_buffers() if n in state and not re.search(r"decay|slope_rate", n))
    experts = experts_of(config, name)
    k = config
    for part in k_field.split("."):
        k = k[part] if isinstance(k, dict) else getattr(k, part)
    per_layer = {}
    for n, p in model.named_parameters():
        if re.search(r"\.experts\.", n) and not re.search(r"shared_experts?\.", n):
            layer = int(re.search(r"(?:layers|blocks)\.(\d+)\.", n).group(1))
            per_layer[layer] = per_layer.get(layer, 0) + p.numel()
    inactive = sum((experts - k) * (v // experts) for v in per_layer.values())
    result = {"total": total, "active": total - inactive, "moe_layers": len(per_layer)}
    if vision:
        result["vision"] = vision
    return result

def main(names):
    counts_path = os.path.join(ROOT, "..", "zoo-counts.json")
    counts = json.load(open(counts_path)) if os.path.exists(counts_path) else {}
    for name in names or SOURCES:
        cls, overrides, k_field, source = SOURCES[name]
        config = getattr(t, cls)(**overrides)
        folder = os.path.join(ROOT, name)
        os.makedirs(folder, exist_ok=True)
        config.to_json_file(os.path.join(folder, "config.json"), use_diff=False)
        counts[name] = dict(count(config, k_field, name), source=source, transformers=t.__version__)
        print(name, counts[name])
    with open(counts_path, "w") as f:
        json.dump(counts, f, indent=1, sort_keys=True)
        f.write("\n")

if __name__ == "__main__":
    main(sys.argv[1:])
