#!/usr/bin/env python3
"""Writes the whole-model and tokenizer fixtures that prove MoEKit against `transformers`
and `tokenizers` themselves. Run from the repository root (scripts/make-model-fixtures.sh
makes the throw-away environment and calls this):

    python3 scripts/make-model-fixtures.py

For every family it builds a small random model (hidden 64, a few layers, vocabulary 512)
with `transformers`, writes it with `save_pretrained` (float32 safetensors + config.json,
the names a Hub checkpoint has), reloads it, and records in `reference.json` the prompt,
the greedy continuation and, in `logits.npy`, `model(input_ids).logits[0]` of the reloaded
model. Weights are drawn wider than the default initialiser so that routing and greedy
choices are decisive: a seed is kept only when every greedy step's best logit beats the
runner-up by a clear margin.

It also trains byte-level BPE tokenizers of the two kinds these families ship (GPT-2's
ByteLevel pre-tokenizer, and a Split regex + ByteLevel as in Llama 3 and Qwen2) on a
corpus of text lines, and records the ids `tokenizers` gives for each line.
"""
import json
import os
import random
import shutil
import sys
import unicodedata

import numpy as np
import safetensors.torch
import torch
import transformers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

OUT = "Tests/ModelIOTests/Fixtures/models"
TOKENIZERS = "Tests/ModelIOTests/Fixtures/tokenizers"
VOCAB = 512
PROMPT = [3, 17, 42, 99, 7, 256, 300, 11, 5, 480, 64, 128]
NEW_TOKENS = 8

common = dict(
    vocab_size=VOCAB, hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
    max_position_embeddings=256, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=0,
)

FAMILIES = {
    "llama": (transformers.LlamaConfig, dict(intermediate_size=96, head_dim=16)),
    "llama-llama3-rope": (transformers.LlamaConfig, dict(
        intermediate_size=96, tie_word_embeddings=True,
        rope_parameters=dict(rope_type="llama3", rope_theta=10000.0, factor=8.0, low_freq_factor=1.0,
                             high_freq_factor=4.0, original_max_position_embeddings=16))),
    "llama-linear-rope": (transformers.LlamaConfig, dict(
        intermediate_size=96, attention_bias=True,
        rope_parameters=dict(rope_type="linear", rope_theta=500.0, factor=4.0))),
    "llama-yarn-rope": (transformers.LlamaConfig, dict(
        intermediate_size=96,
        rope_parameters=dict(rope_type="yarn", rope_theta=10000.0, factor=4.0, original_max_position_embeddings=64))),
    "mistral": (transformers.MistralConfig, dict(intermediate_size=96, sliding_window=5, head_dim=16)),
    "mixtral": (transformers.MixtralConfig, dict(intermediate_size=48, num_local_experts=4, num_experts_per_tok=2)),
    "qwen2_moe": (transformers.Qwen2MoeConfig, dict(
        intermediate_size=96, moe_intermediate_size=32, shared_expert_intermediate_size=48, num_experts=8,
        num_experts_per_tok=2, decoder_sparse_step=1, mlp_only_layers=[1], norm_topk_prob=False)),
    "qwen3_moe": (transformers.Qwen3MoeConfig, dict(
        intermediate_size=96, moe_intermediate_size=32, num_experts=8, num_experts_per_tok=2, head_dim=16,
        norm_topk_prob=True, decoder_sparse_step=2, tie_word_embeddings=True)),
    "deepseek_v3": (transformers.DeepseekV3Config, dict(
        intermediate_size=96, moe_intermediate_size=32, n_routed_experts=8, n_shared_experts=1, num_experts_per_tok=2,
        n_group=2, topk_group=1, first_k_dense_replace=1, routed_scaling_factor=2.5, q_lora_rank=32, kv_lora_rank=16,
        qk_nope_head_dim=8, qk_rope_head_dim=8, v_head_dim=16, num_key_value_heads=4,
        rope_parameters=dict(rope_type="yarn", rope_theta=10000.0, factor=4.0, original_max_position_embeddings=64,
                             mscale=1.0, mscale_all_dim=1.0, beta_fast=32, beta_slow=1))),
    "deepseek_v3-no-q-lora": (transformers.DeepseekV3Config, dict(
        intermediate_size=96, moe_intermediate_size=32, n_routed_experts=8, n_shared_experts=2, num_experts_per_tok=3,
        n_group=4, topk_group=2, first_k_dense_replace=2, q_lora_rank=None, kv_lora_rank=16,
        qk_nope_head_dim=8, qk_rope_head_dim=4, v_head_dim=8, num_key_value_heads=4, tie_word_embeddings=True)),
    "deepseek_v2": (transformers.DeepseekV2Config, dict(
        intermediate_size=96, moe_intermediate_size=32, n_routed_experts=8, n_shared_experts=1, num_experts_per_tok=2,
        first_k_dense_replace=1, topk_method="group_limited_greedy", n_group=4, topk_group=2,
        routed_scaling_factor=1.5, q_lora_rank=None, kv_lora_rank=16, qk_nope_head_dim=8, qk_rope_head_dim=8,
        v_head_dim=16, num_key_value_heads=4)),
    "deepseek_v2-greedy-yarn": (transformers.DeepseekV2Config, dict(
        intermediate_size=96, moe_intermediate_size=32, n_routed_experts=4, n_shared_experts=2, num_experts_per_tok=2,
        first_k_dense_replace=0, topk_method="greedy", q_lora_rank=24, kv_lora_rank=16, qk_nope_head_dim=8,
        qk_rope_head_dim=8, v_head_dim=8, num_key_value_heads=4,
        rope_parameters=dict(rope_type="yarn", rope_theta=10000.0, factor=2.0, original_max_position_embeddings=64,
                             mscale=0.707, mscale_all_dim=0.707))),
    "glm4_moe": (transformers.Glm4MoeConfig, dict(
        intermediate_size=96, moe_intermediate_size=32, n_routed_experts=8, n_shared_experts=1, num_experts_per_tok=2,
        n_group=2, topk_group=1, first_k_dense_replace=1, routed_scaling_factor=1.8, head_dim=16, attention_bias=True,
        use_qk_norm=True, rope_parameters=dict(rope_type="default", rope_theta=10000.0, partial_rotary_factor=0.5))),
    "glm4_moe-no-qk-norm": (transformers.Glm4MoeConfig, dict(
        intermediate_size=96, moe_intermediate_size=32, n_routed_experts=4, n_shared_experts=1, num_experts_per_tok=2,
        first_k_dense_replace=0, head_dim=16, use_qk_norm=False, norm_topk_prob=False,
        rope_parameters=dict(rope_type="default", rope_theta=10000.0, partial_rotary_factor=0.75))),
    "deepseek_v2-lite": (transformers.DeepseekV2Config, dict(
        intermediate_size=96, moe_intermediate_size=32, n_routed_experts=8, n_shared_experts=2, num_experts_per_tok=3,
        first_k_dense_replace=1, topk_method="greedy", q_lora_rank=None, kv_lora_rank=16, qk_nope_head_dim=8,
        qk_rope_head_dim=8, v_head_dim=16, num_key_value_heads=4)),
    "olmoe": (transformers.OlmoeConfig, dict(
        intermediate_size=32, num_experts=8, num_experts_per_tok=2, clip_qkv=3.0)),
    "dots1": (transformers.Dots1Config, dict(
        intermediate_size=96, moe_intermediate_size=32, n_routed_experts=8, n_shared_experts=1, num_experts_per_tok=2,
        n_group=2, topk_group=1, first_k_dense_replace=1, norm_topk_prob=True, routed_scaling_factor=2.0,
        attention_bias=True, head_dim=16, sliding_window=5, max_window_layers=1)),
    "hunyuan_v1_moe": (transformers.HunYuanMoEV1Config, dict(
        intermediate_size=32, num_experts=8, moe_topk=2, head_dim=16, attention_bias=True,
        rope_parameters=dict(rope_type="dynamic", rope_theta=10000.0, alpha=50.0, factor=1.0))),
    # gpt-oss: sinks, alternating sliding and full layers, biases everywhere, top-k-then-softmax over a biased
    # router, the clamped SwiGLU (a low limit so that the clamps bite), YaRN without truncation.
    "gpt_oss": (transformers.GptOssConfig, dict(
        intermediate_size=32, num_local_experts=8, num_experts_per_tok=2, head_dim=16, sliding_window=5,
        swiglu_limit=1.5, rope_parameters=dict(rope_type="yarn", rope_theta=150000.0, factor=4.0,
                                               original_max_position_embeddings=64, beta_fast=32.0, beta_slow=1.0,
                                               truncate=False))),
    # Llama 4: MoE every second layer (a shared expert, sigmoid top-1 scaling the expert input), NoPE every
    # second layer with temperature tuning (a small floor_scale so that it moves), chunked attention on the RoPE
    # layers (chunks of 5), weightless q/k norms after RoPE, interleaved RoPE pairs.
    "llama4_text": (transformers.Llama4TextConfig, dict(
        num_hidden_layers=4, intermediate_size=32, intermediate_size_mlp=96, num_local_experts=4,
        num_experts_per_tok=1, interleave_moe_layer_step=2, no_rope_layer_interval=2, attention_chunk_size=5,
        floor_scale=4, attn_scale=0.1, use_qk_norm=True, head_dim=16,
        rope_parameters=dict(rope_type="default", rope_theta=500000.0))),
    # Granite MoE: the four multipliers (embedding, attention, residual, logits), top-k-then-softmax routing.
    "granitemoe": (transformers.GraniteMoeConfig, dict(
        intermediate_size=32, num_local_experts=8, num_experts_per_tok=2, embedding_multiplier=3.0,
        attention_multiplier=0.2, residual_multiplier=0.6, logits_scaling=2.5, attention_bias=True)),
    # Phi-3.5-MoE: LayerNorms with biases, the sparsemixer router (a large jitter_eps so that its masks bite),
    # biases on attention and the head.
    "phimoe": (transformers.PhimoeConfig, dict(
        intermediate_size=32, num_local_experts=8, num_experts_per_tok=2, attention_bias=True, lm_head_bias=True,
        router_jitter_noise=0.3, sliding_window=None)),
    # Qwen3-Next, the hybrid: Gated DeltaNet layers (more value than key heads) beside gated full attention
    # with partial RoPE and (1 + w) norms; Qwen2-MoE's MoE with a gated shared expert and a dense layer.
    "qwen3_next": (transformers.Qwen3NextConfig, dict(
        num_hidden_layers=4, intermediate_size=96, moe_intermediate_size=32, shared_expert_intermediate_size=32,
        num_experts=8, num_experts_per_tok=2, norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[1],
        head_dim=16, linear_num_key_heads=2, linear_num_value_heads=4, linear_key_head_dim=8,
        linear_value_head_dim=8, linear_conv_kernel_dim=4, partial_rotary_factor=0.5)),
    # Jamba: Mamba layers (dt/B/C RMSNorms, a biased convolution) beside attention without positions, MoE on
    # every second layer with unrenormalised softmax top-k.
    "jamba": (transformers.JambaConfig, dict(
        num_hidden_layers=4, intermediate_size=32, num_experts=4, num_experts_per_tok=2, attn_layer_period=2,
        attn_layer_offset=1, expert_layer_period=2, expert_layer_offset=1, mamba_d_state=8, mamba_d_conv=4,
        mamba_expand=2, mamba_dt_rank=8, use_mamba_kernels=False)),
    # The article's ERNIE 4.5 row: biases everywhere, interleaved RoPE, a tied head with a bias,
    # a dense first layer, softmax routing steered by the correction bias.
    "ernie4_5_moe": (transformers.Ernie4_5_MoeConfig, dict(
        intermediate_size=96, moe_intermediate_size=32, moe_num_experts=8, moe_k=2, moe_num_shared_experts=2,
        moe_layer_start_index=1, moe_layer_end_index=-1, moe_layer_interval=1, use_bias=True,
        tie_word_embeddings=True)),
}

# DeepSeek-MoE 16B (`deepseek`) ships as remote code, so transformers has no class for it: its
# fixture is a Llama (the same attention, as its modeling_deepseek.py copies Llama's) whose MoE
# layers are replaced by the module below, which follows modeling_deepseek.py's DeepseekMoE.
DEEPSEEK_MOE = dict(
    intermediate_size=96, moe_intermediate_size=32, n_routed_experts=8, num_experts_per_tok=3, n_shared_experts=2,
    first_k_dense_replace=1, moe_layer_freq=1, norm_topk_prob=False, num_key_value_heads=4, rope_theta=10000.0,
    rms_norm_eps=1e-6, attention_bias=False, hidden_act="silu", scoring_func="softmax", aux_loss_alpha=0.001,
    seq_aux=True, pretraining_tp=1,
)


class DeepseekMLP(torch.nn.Module):
    def __init__(self, hidden, intermediate):
        super().__init__()
        self.gate_proj = torch.nn.Linear(hidden, intermediate, bias=False)
        self.up_proj = torch.nn.Linear(hidden, intermediate, bias=False)
        self.down_proj = torch.nn.Linear(intermediate, hidden, bias=False)

    def forward(self, x):
        return self.down_proj(torch.nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


class DeepseekGate(torch.nn.Module):
    def __init__(self, experts, hidden):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(experts, hidden))


class DeepseekMoE(torch.nn.Module):
    """Softmax over the experts, top-k, renormalised only when norm_topk_prob and k > 1; the
    shared experts (one network of n_shared_experts * moe_intermediate_size) added unscaled."""

    def __init__(self, fields, hidden):
        super().__init__()
        self.k, self.normalize = fields["num_experts_per_tok"], fields["norm_topk_prob"]
        width = fields["moe_intermediate_size"]
        self.experts = torch.nn.ModuleList(DeepseekMLP(hidden, width) for _ in range(fields["n_routed_experts"]))
        self.gate = DeepseekGate(fields["n_routed_experts"], hidden)
        self.shared_experts = DeepseekMLP(hidden, width * fields["n_shared_experts"])

    def forward(self, x):
        shape = x.shape
        flat = x.reshape(-1, shape[-1])
        scores = torch.nn.functional.linear(flat, self.gate.weight).softmax(dim=-1)
        weights, chosen = torch.topk(scores, self.k, dim=-1)
        if self.k > 1 and self.normalize:
            weights = weights / (weights.sum(dim=-1, keepdim=True) + 1e-20)
        out = torch.zeros_like(flat)
        for slot in range(self.k):
            for e, expert in enumerate(self.experts):
                rows = chosen[:, slot] == e
                if rows.any():
                    out[rows] += weights[rows, slot, None] * expert(flat[rows])
        return (out + self.shared_experts(flat)).reshape(shape)


def deepseek_moe_model(seed):
    torch.manual_seed(seed)
    fields = DEEPSEEK_MOE
    config = transformers.LlamaConfig(**{**common, **{k: fields[k] for k in (
        "intermediate_size", "num_key_value_heads", "rms_norm_eps", "attention_bias", "hidden_act")}},
        rope_parameters=dict(rope_type="default", rope_theta=fields["rope_theta"]))
    model = transformers.LlamaForCausalLM(config)
    for i, layer in enumerate(model.model.layers):
        if i >= fields["first_k_dense_replace"] and i % fields["moe_layer_freq"] == 0:
            layer.mlp = DeepseekMoE(fields, config.hidden_size)
    model.eval()
    randomize(model)
    return model


def write_deepseek_moe(name="deepseek"):
    folder = f"{OUT}/{name}"
    seed, model, generated = decisive(name, deepseek_moe_model)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    config = {**common, **DEEPSEEK_MOE, "model_type": "deepseek", "architectures": ["DeepseekForCausalLM"],
              "auto_map": {"AutoConfig": "configuration_deepseek.DeepseekConfig",
                           "AutoModelForCausalLM": "modeling_deepseek.DeepseekForCausalLM"},
              "torch_dtype": "float32"}
    with open(f"{folder}/config.json", "w") as f:
        json.dump(config, f, indent=2)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    safetensors.torch.save_file(state, f"{folder}/model.safetensors", metadata={"format": "pt"})
    reloaded = deepseek_moe_model(seed)
    reloaded.load_state_dict(safetensors.torch.load_file(f"{folder}/model.safetensors"))
    record(name, seed, model, reloaded, generated, folder)


def randomize(model):
    """Weights wider than the default initialiser, so routing and greedy choices are decisive."""
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if "norm" in pname:
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif p.dim() == 1:
                p.copy_(0.2 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) / (p.shape[-1] ** 0.5) * 1.5)


def decisive_model(name, config_class, fields, seed):
    torch.manual_seed(seed)
    config = config_class(**{**common, **fields})
    model = transformers.AutoModelForCausalLM.from_config(
        config, attn_implementation="eager", experts_implementation="eager")
    model.eval()
    randomize(model)
    return config, model


def greedy(model, prompt):
    ids = torch.tensor([prompt])
    out = model.generate(ids, max_new_tokens=NEW_TOKENS, do_sample=False, pad_token_id=0, eos_token_id=None)
    return out[0, len(prompt):].tolist()


def margins(model, tokens):
    with torch.no_grad():
        logits = model(torch.tensor([tokens])).logits[0]
    top = torch.topk(logits, 2, dim=-1).values
    return ((top[:, 0] - top[:, 1]) / logits.abs().max()).min().item()


def decisive(name, build):
    """The first seed whose model (from `build(seed)`) makes decisive greedy choices, with the model
    and its greedy continuation."""
    for seed in range(50):
        model = build(seed)
        generated = greedy(model, PROMPT)
        if margins(model, PROMPT + generated) > 2e-3:
            return seed, model, generated
    sys.exit(f"{name}: no seed gave decisive greedy choices")


def write_family(name, config_class, fields):
    folder = f"{OUT}/{name}"
    seed, model, generated = decisive(name, lambda seed: decisive_model(name, config_class, fields, seed)[1])
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(folder)
    reloaded = transformers.AutoModelForCausalLM.from_pretrained(
        folder, attn_implementation="eager", experts_implementation="eager").eval()
    record(name, seed, model, reloaded, generated, folder)


def record(name, seed, model, reloaded, generated, folder):
    """Checks the reloaded model holds exactly the written weights and computes what the written
    one did, then writes the references (the reloaded model's logits: what the file gives). Fused
    expert weights come back with other strides, so the products may round differently: the
    logits are compared to a millionth of their largest."""
    saved, loaded = model.state_dict(), reloaded.state_dict()
    assert saved.keys() == loaded.keys(), f"{name}: parameters changed under reload"
    assert all(torch.equal(saved[k], loaded[k]) for k in saved), f"{name}: weights changed under reload"
    with torch.no_grad():
        logits = reloaded(torch.tensor([PROMPT])).logits[0].float().numpy()
        before = model(torch.tensor([PROMPT])).logits[0].float().numpy()
    assert np.abs(logits - before).max() <= 1e-6 * np.abs(before).max(), f"{name}: logits changed under reload"
    assert greedy(reloaded, PROMPT) == generated, f"{name}: greedy continuation changed under reload"
    np.save(f"{folder}/logits.npy", logits.astype(np.float32))
    with open(f"{folder}/reference.json", "w") as f:
        json.dump({"family": name, "seed": seed, "prompt": PROMPT, "generated": generated,
                   "transformers": transformers.__version__, "torch": torch.__version__}, f, indent=1)
    print(f"{name}: seed {seed}, generated {generated}")


# MARK: Tokenizers

def corpus_lines():
    """Text lines from the interpreter's own library, plus lines that stress Unicode."""
    lines = []
    library = os.path.dirname(os.__file__)
    for file in sorted(os.listdir(library)):
        if file.endswith(".py") and len(lines) < 3000:
            with open(os.path.join(library, file), encoding="utf-8", errors="replace") as f:
                lines += [line.rstrip("\n") for line in f if line.strip()][:60]
    lines += [
        "naïve café — déjà vu, Straße, Ångström, ﬁne ligatures",
        "日本語のテキストと中文文本，还有한국어 문장。",
        "emoji 😀😃🎉 👩‍👩‍👧‍👦 flags 🇫🇷🇯🇵 and skin tones 👍🏽",
        "digits 1234567890 3.14159 1e-9 0x1F600 ١٢٣٤ ४२",
        "tabs\tand\t\tspaces    runs      end   ",
        "   leading spaces and trailing newline\n",
        "Ελληνικά και русский текст, עברית ועברית, العربية",
        "it's they're we've I'm you'll he'd IT'S THEY'RE",
        "mixed\r\nline\rendings\n\n\nblank",
        "",
        " ",
        "<|endoftext|> inside text <|endoftext|>",
        "<s>a sentence</s> and <s> another with </s><unk> after",
        "</s>",
        "  two leading spaces, then <s>   three",
        "math ∑∫∂√∞ ≤ ≥ ≠ ± × ÷ and arrows → ← ⇒",
    ]
    return lines


def train_tokenizer(kind, lines):
    tokenizer = Tokenizer(models.BPE())
    if kind == "gpt2":
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        pattern = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                   r"|\s*[\r\n]+|\s+(?!\S)|\s+")
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB, special_tokens=["<|endoftext|>", "<|im_start|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(lines, trainer)
    return tokenizer


def train_sentencepiece_tokenizer(kind, lines):
    """A SentencePiece-converted BPE as Llama 2 ("llama2": Prepend and Replace normalizers, no
    pre-tokenizer) or Mistral v0.3 ("metaspace": the Metaspace pre-tokenizer and decoder) ship
    it: scalars over a limited alphabet, the others spelled by byte-fallback tokens <0x00>..<0xFF>
    (in the vocabulary, not added tokens), <unk>, <s> and </s>."""
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    if kind == "llama2":
        tokenizer.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        tokenizer.decoder = decoders.Sequence([
            decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    else:
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
        tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB + 256, special_tokens=["<unk>", "<s>", "</s>"] + byte_tokens, limit_alphabet=90,
        show_progress=False)
    training_lines = ["▁" + line.replace(" ", "▁") for line in lines] if kind == "llama2" else lines
    tokenizer.train_from_iterator(training_lines, trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)])
    # The byte tokens are vocabulary entries, as in the published files, not added tokens.
    spec = json.loads(tokenizer.to_str())
    spec["added_tokens"] = [t for t in spec["added_tokens"] if t["content"] not in byte_tokens]
    return Tokenizer.from_str(json.dumps(spec, ensure_ascii=False))


def write_tokenizers():
    os.makedirs(TOKENIZERS, exist_ok=True)
    lines = corpus_lines()
    random.Random(0).shuffle(lines)
    for kind in ["gpt2", "split-regex", "llama2", "metaspace"]:
        byte_level = kind in ["gpt2", "split-regex"]
        tokenizer = train_tokenizer(kind, lines) if byte_level else train_sentencepiece_tokenizer(kind, lines)
        tokenizer.save(f"{TOKENIZERS}/{kind}.json")
        cases = [{"text": line, "ids": tokenizer.encode(line, add_special_tokens=False).ids,
                  "decoded": tokenizer.decode(tokenizer.encode(line, add_special_tokens=False).ids,
                                              skip_special_tokens=False)} for line in lines]
        for case in cases:
            # Byte-level tokenizers give the text back. Llama 2's drops a leading space and puts one
            # after an added token (each span gets its own ▁); Mistral's Metaspace decoder leaves
            # byte-fallback tokens as they are.
            sentencepiece_spaces = not byte_level and ("<s>" in case["text"] or "</s>" in case["text"]
                                                        or "<unk>" in case["text"] or case["text"].startswith(" "))
            if kind != "metaspace" and not sentencepiece_spaces:
                assert case["decoded"] == case["text"], case
        assert any(f"<0x" in tokenizer.id_to_token(i) for c in cases for i in c["ids"]) or byte_level
        with open(f"{TOKENIZERS}/{kind}-cases.json", "w") as f:
            json.dump(cases, f, ensure_ascii=False, separators=(",", ":"))
        print(f"tokenizer {kind}: {tokenizer.get_vocab_size()} tokens, {len(cases)} lines")
    # The Qwen2-MoE fixture ships a tokenizer, so `moe-generate --prompt` runs on it.
    shutil.copy(f"{TOKENIZERS}/split-regex.json", f"{OUT}/qwen2_moe/tokenizer.json")


if __name__ == "__main__":
    only = sys.argv[1:]
    for name, (config_class, fields) in FAMILIES.items():
        if not only or name in only:
            write_family(name, config_class, fields)
    if not only or "deepseek" in only:
        write_deepseek_moe()
    if not only or "tokenizers" in only:
        write_tokenizers()
