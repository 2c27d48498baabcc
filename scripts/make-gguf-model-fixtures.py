#!/usr/bin/env python3
"""Writes the GGUF model fixtures that prove MoEKit's GGUF loading against llama.cpp itself.
Run by scripts/make-gguf-fixtures.sh (which builds llama.cpp and sets LLAMACPP, LLAMACPP_BIN
and LLAMA_LOGITS).

For each family a small random model (widths of 256, so every product can be a K-quant; float32
files at widths of 64) is made with `transformers` beside the gpt2-style tokenizer fixture, converted by llama.cpp's own
`convert_hf_to_gguf.py` (its pre-tokenizer check is told "gpt-2", the fixture tokenizer's
scheme, as the tokenizer is not a published one), quantized by `llama-quantize`, and run by
llama.cpp (scripts/peer/llama-logits.c) on a prompt: `<family>-<type>.gguf` and
`<family>-<type>.logits.npy` (prompt positions × vocabulary, float32), with the prompt and
versions in `reference.json`. The other way, MoEKit's `moe-generate --save-gguf` writes each model
held in several formats, llama.cpp runs those files, and `reference.json` records how far its
logits are from MoEKit's on the same file (`written`).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import version

import numpy as np
import torch
import transformers

LLAMACPP = os.environ["LLAMACPP"]
BIN = os.environ["LLAMACPP_BIN"]
LOGITS = os.environ["LLAMA_LOGITS"]
MOE_GENERATE = os.environ["MOE_GENERATE"]
OUT = "Tests/ModelIOTests/Fixtures/gguf/models"
TOKENIZER = "Tests/ModelIOTests/Fixtures/tokenizers/gpt2.json"
PROMPT = [3, 17, 42, 99, 7, 256, 300, 11, 5, 480, 64, 128]

common = dict(
    vocab_size=512, hidden_size=256, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
    max_position_embeddings=256, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
)
FAMILIES = {
    # Float32 files at the fixtures' small widths: llama.cpp then rounds nothing but its float
    # arithmetic, so these prove the mapping (names, query/key order, routing, norms) tightly.
    "mixtral-small": (transformers.MixtralConfig, dict(
        hidden_size=64, intermediate_size=48, num_local_experts=4, num_experts_per_tok=2,
        rope_parameters=dict(rope_type="default", rope_theta=1e6)), ["F32"]),
    "qwen3_moe-small": (transformers.Qwen3MoeConfig, dict(
        hidden_size=64, intermediate_size=48, moe_intermediate_size=48, num_experts=4, num_experts_per_tok=2,
        head_dim=16, decoder_sparse_step=1, mlp_only_layers=[], norm_topk_prob=True, tie_word_embeddings=True),
        ["F32"]),
    # llama.cpp's "llama" architecture: q and k rows permuted to interleaved rotary pairs.
    "mixtral": (transformers.MixtralConfig, dict(
        intermediate_size=256, num_local_experts=4, num_experts_per_tok=2,
        rope_parameters=dict(rope_type="default", rope_theta=1e6)), ["Q8_0", "Q4_K_M"]),
    # "qwen3moe": per-head q/k norms, rotary halves as transformers has them.
    # "gpt-oss": attention sinks, sliding layers, biases everywhere, the clamped SwiGLU at
    # llama.cpp's fixed limit of 7, YaRN; experts in MXFP4 as llama-quantize's MXFP4_MOE writes.
    "gpt_oss-small": (transformers.GptOssConfig, dict(
        hidden_size=64, intermediate_size=64, num_local_experts=4, num_experts_per_tok=2, head_dim=16,
        num_hidden_layers=3, sliding_window=5, swiglu_limit=7.0,
        layer_types=["sliding_attention", "full_attention", "sliding_attention"],
        rope_parameters=dict(rope_type="yarn", rope_theta=150000.0, factor=4.0, original_max_position_embeddings=64,
                             beta_fast=32.0, beta_slow=1.0, truncate=False)), ["F32", "MXFP4_MOE"]),
    # "glm4moe": DeepSeek-V3's sigmoid routing with a selection bias and a scale, a shared expert, a
    # leading dense layer, q/k/v biases, per-head q/k norms, RoPE on half of each head, and a
    # multi-token-prediction layer counted in the file's blocks. One group: llama.cpp's GLM graph
    # routes without groups, as GLM-4.5 is published.
    "glm4_moe-small": (transformers.Glm4MoeConfig, dict(
        hidden_size=64, intermediate_size=96, moe_intermediate_size=32, n_routed_experts=4, num_experts_per_tok=2,
        n_shared_experts=1, first_k_dense_replace=1, num_hidden_layers=3, n_group=1, topk_group=1,
        routed_scaling_factor=1.8, norm_topk_prob=True, use_qk_norm=True, head_dim=16, attention_bias=True,
        num_nextn_predict_layers=1,
        rope_parameters=dict(rope_type="default", rope_theta=10000.0, partial_rotary_factor=0.5)), ["F32"]),
    # "deepseek2": multi-head latent attention (kv_b_proj split by the converter into k_b and v_b),
    # interleaved rotary features, a query rank (llama.cpp takes a file without one for the Lite
    # model only at its 26 or 27 layers), shared experts, a dense first layer. DeepSeek-V2:
    # softmax gates, greedy top-k. DeepSeek-V3: sigmoid gates
    # with a selection bias, two groups, a routed scale, and YaRN with DeepSeek's mscale.
    "deepseek_v2-small": (transformers.DeepseekV2Config, dict(
        hidden_size=64, intermediate_size=96, moe_intermediate_size=32, n_routed_experts=4, num_experts_per_tok=2,
        n_shared_experts=2, first_k_dense_replace=1, num_hidden_layers=3, num_key_value_heads=4,
        q_lora_rank=24, kv_lora_rank=16, qk_nope_head_dim=8, qk_rope_head_dim=8, v_head_dim=16, head_dim=8,
        topk_method="greedy", norm_topk_prob=False, routed_scaling_factor=1.0,
        rope_parameters=dict(rope_type="default", rope_theta=10000.0)), ["F32"]),
    "deepseek_v3-small": (transformers.DeepseekV3Config, dict(
        hidden_size=64, intermediate_size=96, moe_intermediate_size=32, n_routed_experts=4, num_experts_per_tok=2,
        n_shared_experts=1, first_k_dense_replace=1, num_hidden_layers=3, num_key_value_heads=4,
        q_lora_rank=32, kv_lora_rank=16, qk_nope_head_dim=8, qk_rope_head_dim=8, v_head_dim=16, head_dim=8,
        n_group=2, topk_group=1, norm_topk_prob=True, routed_scaling_factor=2.5, scoring_func="sigmoid",
        rope_interleave=True,
        rope_parameters=dict(rope_type="yarn", rope_theta=10000.0, factor=4.0, original_max_position_embeddings=64,
                             beta_fast=32.0, beta_slow=1.0, mscale=0.707, mscale_all_dim=0.707)), ["F32"]),
    "qwen3_moe": (transformers.Qwen3MoeConfig, dict(
        intermediate_size=256, moe_intermediate_size=256, num_experts=4, num_experts_per_tok=2, head_dim=64,
        decoder_sparse_step=1, mlp_only_layers=[], norm_topk_prob=True, tie_word_embeddings=True), ["Q4_K_M"]),
}


# llama.cpp's converter, in a process of its own, with its pre-tokenizer check answered "gpt-2".
CONVERT = """
import os, sys
llamacpp = os.environ["LLAMACPP"]
sys.path[:0] = [llamacpp, os.path.join(llamacpp, "gguf-py")]
import convert_hf_to_gguf
from conversion import base, glm
base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "gpt-2"
# GLM's vocabulary step looks up GLM's own special tokens, which the fixture tokenizer lacks.
glm.Glm4MoeModel.set_vocab = lambda self: self._set_vocab_gpt2()
sys.argv = ["convert_hf_to_gguf.py", *sys.argv[1:]]
convert_hf_to_gguf.main()
"""

# What MoEKit writes as GGUF from each model, for llama.cpp to run (not committed: the numbers
# go to reference.json).
WRITTEN = {
    "mixtral-small": ["float32"], "qwen3_moe-small": ["float32", "bf16"],
    "mixtral": ["q8", "q4", "q4_K", "q5_K", "q6_K"], "qwen3_moe": ["q4_K", "q6_K"],
}


def main():
    """Makes every family's files, or only those named as arguments (the others' stay as they are)."""
    os.makedirs(OUT, exist_ok=True)
    only = sys.argv[1:]
    reference = dict(prompt=PROMPT, transformers=version("transformers"), torch=version("torch"),
                     llama_cpp_python=os.environ.get("LLAMACPP_VERSION", ""), models={}, written={})
    if only:
        with open(f"{OUT}/reference.json") as f:
            kept = json.load(f)
        reference["models"], reference["written"] = kept["models"], kept["written"]
    for name, (config_class, fields, types) in FAMILIES.items():
        if only and name not in only:
            continue
        torch.manual_seed(11)
        config = config_class(**{**common, **fields})
        model = transformers.AutoModelForCausalLM.from_config(config)
        with torch.no_grad():
            for pname, p in model.named_parameters():
                if "norm" in pname:
                    p.copy_(1 + 0.2 * torch.randn_like(p))
                elif p.dim() > 1:
                    p.copy_(torch.randn_like(p) / (p.shape[-1] ** 0.5) * 1.5)
            # DeepSeek-style selection biases are buffers: made to matter too.
            for bname, b in model.named_buffers():
                if "e_score_correction_bias" in bname:
                    b.copy_(0.5 * torch.randn_like(b))
        with tempfile.TemporaryDirectory() as folder:
            model.save_pretrained(folder)
            shutil.copy(TOKENIZER, os.path.join(folder, "tokenizer.json"))
            full = os.path.join(folder, "model-f32.gguf")
            subprocess.run([sys.executable, "-c", CONVERT, folder, "--outfile", full, "--outtype", "f32",
                            "--model-name", name],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for gguf_type in types:
                target = f"{OUT}/{name}-{gguf_type}.gguf"
                if gguf_type == "F32":
                    shutil.copy(full, target)
                else:
                    subprocess.run([f"{BIN}/llama-quantize", full, target, gguf_type], check=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env={**os.environ, "LD_LIBRARY_PATH": BIN})
                raw = f"{folder}/logits.f32"
                subprocess.run([LOGITS, target, raw, *map(str, PROMPT)], check=True,
                               env={**os.environ, "LD_LIBRARY_PATH": BIN})
                logits = np.fromfile(raw, dtype="<f4").reshape(len(PROMPT), -1)
                np.save(f"{OUT}/{name}-{gguf_type}.logits.npy", logits)
                reference["models"][f"{name}-{gguf_type}"] = dict(
                    greedy=[int(i) for i in logits.argmax(axis=1)], bytes=os.path.getsize(target))
                print(f"{name}-{gguf_type}: {os.path.getsize(target)} bytes")
            # The other way: MoEKit writes the model as GGUF, held in each of its formats that the
            # widths allow, and llama.cpp runs the file MoEKit wrote.
            for held in WRITTEN.get(name, []):
                written = f"{folder}/moekit-{held}.gguf"
                subprocess.run([MOE_GENERATE, "--model", folder, "--weight-format", held, "--save-gguf", written],
                               check=True, stdout=subprocess.DEVNULL)
                raw, ours = f"{folder}/written.f32", f"{folder}/ours.npy"
                subprocess.run([LOGITS, written, raw, *map(str, PROMPT)], check=True,
                               env={**os.environ, "LD_LIBRARY_PATH": BIN})
                theirs = np.fromfile(raw, dtype="<f4").reshape(len(PROMPT), -1)
                subprocess.run([MOE_GENERATE, "--model", written, "--token-ids", ",".join(map(str, PROMPT)),
                                "--logits", ours], check=True, stdout=subprocess.DEVNULL)
                mine = np.load(ours)
                error = float(np.abs(mine - theirs).max() / np.abs(theirs).max())
                reference["written"][f"{name}-{held}"] = dict(
                    relative_error=error, top1_agreement=float((mine.argmax(1) == theirs.argmax(1)).mean()))
                print(f"MoEKit-written {name} held as {held}: llama.cpp's logits within {error:.2e} of the largest")
    with open(f"{OUT}/reference.json", "w") as f:
        json.dump(reference, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
