"""Whole-model peer comparison: MoEKit's `moe-generate` against transformers' `generate` on
the same checkpoint, greedy, the tokens compared before the speeds are read.

The checkpoint is an OLMoE-1B-7B-shaped model cut to --layers layers, made by transformers
with every weight drawn from N(0, 0.02) (nothing left untouched) and saved as float32
safetensors. Both sides get the same random prompt and generate --new-tokens tokens without
stopping at an end token. MoEKit reports its own prefill and decode speeds; transformers is
timed the same way: one forward pass over the prompt (prefill), and generate's time minus
that prefill over the tokens after the first (decode). Rounds alternate; medians with range.
Run through scripts/peer-compare.sh --whole-model.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import torch
import transformers as t


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--moe-generate", required=True)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = t.OlmoeConfig(num_hidden_layers=args.layers, intermediate_size=1024)  # OLMoE-1B-7B's sizes
    with tempfile.TemporaryDirectory() as work:
        folder = os.path.join(work, "model")
        model = t.OlmoeForCausalLM(config)
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0, 0.02)
        model.save_pretrained(folder)
        model = t.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
        prompt = torch.randint(0, config.vocab_size, (1, args.prompt_tokens))
        ids = ",".join(str(i) for i in prompt[0].tolist())
        rows = {"moekit_prefill": [], "moekit_decode": [], "peer_prefill": [], "peer_decode": []}
        agree = None
        for _ in range(args.rounds):
            out = subprocess.run(
                [args.moe_generate, "--model", folder, "--token-ids", ids, "--max-new-tokens",
                 str(args.new_tokens), "--ignore-eos", "--format", "json"],
                check=True, capture_output=True, text=True, env={**os.environ})
            ours = json.loads(out.stdout)
            rows["moekit_prefill"].append(ours["prefill_tokens_per_second"])
            rows["moekit_decode"].append(ours["decode_tokens_per_second"])
            with torch.no_grad():
                start = time.perf_counter()
                model(prompt)
                prefill = time.perf_counter() - start
                start = time.perf_counter()
                generated = model.generate(prompt, max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens,
                                           do_sample=False, eos_token_id=None, pad_token_id=0)
                total = time.perf_counter() - start
            theirs = generated[0, args.prompt_tokens:].tolist()
            same = 0
            for a, b in zip(ours["generated"], theirs):
                if a != b:
                    break
                same += 1
            agree = same
            rows["peer_prefill"].append(args.prompt_tokens / prefill)
            rows["peer_decode"].append((args.new_tokens - 1) / max(total - prefill, 1e-9))
        print(f"torch {torch.__version__}, transformers {t.__version__}; OLMoE-1B-7B shape, {args.layers} layers, "
              f"float32, {args.threads} threads; {args.prompt_tokens}-token prompt, {args.new_tokens} greedy tokens; "
              f"{args.rounds} alternating rounds (median, range)\n")
        print(f"greedy tokens identical for the first {agree} of {args.new_tokens}\n")
        print("| measure | MoEKit tokens/s | transformers tokens/s | MoEKit ÷ transformers |")
        print("|---|---:|---:|---:|")
        for measure in ["prefill", "decode"]:
            ours, theirs = rows[f"moekit_{measure}"], rows[f"peer_{measure}"]
            def cell(s):
                return f"{statistics.median(s):.1f} ({min(s):.1f}–{max(s):.1f})"
            print(f"| {measure} | {cell(ours)} | {cell(theirs)} | "
                  f"{statistics.median(ours) / statistics.median(theirs):.2f} |")


if __name__ == "__main__":
    main()
