"""Times transformers' MixtralSparseMoeBlock on the dense-vs-sparse shapes (C1 prefill,
C3 decode at T = 1 and 8) and prints MoEKit's time for the same shape beside it.

Run through scripts/peer-compare.sh, which installs torch and transformers into a
throw-away virtual environment and measures MoEKit first.
"""
import argparse
import json
import statistics
import time

import torch
from transformers import MixtralConfig
from transformers.models.mixtral.modeling_mixtral import MixtralSparseMoeBlock

SHAPES = [  # (config, tokens, d, expert hidden, experts, k)
    ("C1", 2048, 1024, 2816, 8, 2),
    ("C3", 1, 4096, 14336, 8, 2),
    ("C3", 8, 4096, 14336, 8, 2),
]


def median_ms(block, x, repetitions):
    with torch.no_grad():
        block(x)  # warm-up
        samples = []
        for _ in range(repetitions):
            start = time.perf_counter()
            block(x)
            samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--moekit", required=True, help="dense-vs-sparse --format json output")
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.moekit) as f:
        moekit = {(r["config"], r["tokens"]): r for r in json.load(f) if r["threads"] == args.threads}
    print(f"torch {torch.__version__}, {args.threads} threads, Float32, medians of {args.repetitions}")
    print("| config | T | transformers Mixtral block ms | MoEKit MoE ms | transformers / MoEKit |")
    print("|---|---:|---:|---:|---:|")
    built = {}
    for name, tokens, d, h, experts, k in SHAPES:
        key = (d, h, experts, k)
        if key not in built:
            built.clear()  # one set of weights at a time
            config = MixtralConfig(hidden_size=d, intermediate_size=h, num_local_experts=experts,
                                   num_experts_per_tok=k)
            built[key] = MixtralSparseMoeBlock(config).eval()
        x = torch.randn(1, tokens, d)
        ms = median_ms(built[key], x, args.repetitions)
        ours = moekit.get((name, tokens), {}).get("moe_ms")
        ratio = f"{ms / ours:.2f}" if ours else "—"
        print(f"| {name} | {tokens} | {ms:.2f} | {ours if ours else '—'} | {ratio} |")


if __name__ == "__main__":
    main()
