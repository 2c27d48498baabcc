"""Compares MoEKit's MoE layer with transformers' on the same weights and inputs, then times
both in alternating rounds. Run through scripts/peer-compare.sh, which installs torch and
transformers into a throw-away virtual environment and builds moe-run.

For each shape a one-layer model is made with transformers (every parameter drawn from
N(0, 0.02), so no page is left untouched and no router is NaN), saved as float32
safetensors, and an input of T tokens is written as .npy. MoEKit runs the checkpoint's
layer-0 MoE block with `moe-run` (which also times it); transformers runs the same block of
the same checkpoint, loaded with `from_pretrained`. Outputs are compared first: a shape
whose relative difference exceeds 1e-4 is reported and not timed. Timing alternates rounds
(MoEKit, then each transformers experts implementation, then a dense torch SwiGLU network
of the MoE's active width, k·h + shared), each a warm-up and a few timed
calls; the table gives medians over rounds with the range.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import numpy as np
import torch
import transformers as t

# name, family, tokens, d, expert hidden, experts, k, shared expert hidden
SHAPES = {
    "C1": ("mixtral", 2048, 1024, 2816, 8, 2, 0),
    "C2": ("qwen2_moe", 2048, 1024, 704, 32, 8, 1408),
    "C3-T1": ("mixtral", 1, 4096, 14336, 8, 2, 0),
    "C3-T8": ("mixtral", 8, 4096, 14336, 8, 2, 0),
}
QUICK = {  # the same kinds, small enough for a smoke run
    "C1": ("mixtral", 64, 128, 256, 8, 2, 0),
    "C2": ("qwen2_moe", 64, 128, 64, 16, 4, 128),
    "C3-T1": ("mixtral", 1, 256, 512, 8, 2, 0),
}


def make_checkpoint(folder, family, d, h, experts, k, shared):
    common = dict(hidden_size=d, num_hidden_layers=1, num_attention_heads=max(1, d // 128),
                  num_key_value_heads=max(1, d // 128), vocab_size=256, tie_word_embeddings=False)
    if family == "mixtral":
        config = t.MixtralConfig(intermediate_size=h, num_local_experts=experts, num_experts_per_tok=k, **common)
        model = t.MixtralForCausalLM(config)
    else:
        config = t.Qwen2MoeConfig(intermediate_size=4 * d, moe_intermediate_size=h, num_experts=experts,
                                  num_experts_per_tok=k, shared_expert_intermediate_size=shared,
                                  norm_topk_prob=False, **common)
        model = t.Qwen2MoeForCausalLM(config)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.02)
    model.save_pretrained(folder)
    return config


class DenseFFN(torch.nn.Module):
    """A dense SwiGLU network of `hidden` features: the dense baseline of equal active size."""

    def __init__(self, d, hidden):
        super().__init__()
        self.gate = torch.nn.Linear(d, hidden, bias=False)
        self.up = torch.nn.Linear(d, hidden, bias=False)
        self.down = torch.nn.Linear(hidden, d, bias=False)
        with torch.no_grad():
            for p in self.parameters():
                p.normal_(0, 0.02)

    def forward(self, x):
        return self.down(torch.nn.functional.silu(self.gate(x)) * self.up(x))


def fastest_seconds(network, x, repetitions):
    """The fastest of `repetitions` calls of `network` on `x`, after one warm-up call."""
    with torch.no_grad():
        network(x)
        samples = []
        for _ in range(repetitions):
            start = time.perf_counter()
            network(x)
            samples.append(time.perf_counter() - start)
    return min(samples)


def peer_seconds(model, implementation, x, repetitions):
    model.set_experts_implementation(implementation)
    return fastest_seconds(model.model.layers[0].mlp, x, repetitions)


def moekit_seconds(moe_run, folder, x_path, y_path, threads, repetitions):
    out = subprocess.run(
        [moe_run, "--config", f"{folder}/config.json", "--weights", f"{folder}/model.safetensors",
         "--layer", "0", "--input", x_path, "--output", y_path, "--threads", str(threads),
         "--timed-repetitions", str(repetitions)], check=True, capture_output=True, text=True)
    return min(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--moe-run", required=True)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--shapes", default=None, help="comma-separated names (default: all)")
    args = parser.parse_args()
    shapes = QUICK if args.quick else SHAPES
    names = args.shapes.split(",") if args.shapes else list(shapes)
    threads = [int(n) for n in args.threads.split(",")]
    implementations = ["eager", "grouped_mm"]
    print(f"torch {torch.__version__}, transformers {t.__version__}; float32; {args.rounds} alternating "
          f"rounds of {args.repetitions} calls (fastest call per round; median over rounds, range)\n")
    header = "| shape | threads | max rel. diff | MoEKit ms | " + " | ".join(
        f"{i} ms | MoEKit ÷ {i}" for i in implementations) + " | torch dense =active ms | MoEKit ÷ dense |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name in names:
        family, tokens, d, h, experts, k, shared = shapes[name]
        with tempfile.TemporaryDirectory() as work:
            folder = os.path.join(work, "model")
            torch.manual_seed(0)
            make_checkpoint(folder, family, d, h, experts, k, shared)
            x = torch.randn(tokens, d) * 0.5
            x_path, y_path = os.path.join(work, "x.npy"), os.path.join(work, "y.npy")
            np.save(x_path, x.numpy())
            model = t.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
            dense = DenseFFN(d, k * h + shared).eval()
            subprocess.run([args.moe_run, "--config", f"{folder}/config.json", "--weights",
                            f"{folder}/model.safetensors", "--layer", "0", "--input", x_path,
                            "--output", y_path], check=True, capture_output=True)
            ours = torch.from_numpy(np.load(y_path))
            model.set_experts_implementation("eager")
            with torch.no_grad():
                result = model.model.layers[0].mlp(x.unsqueeze(0))
                theirs = (result[0] if isinstance(result, tuple) else result).squeeze(0)
            diff = float((ours - theirs).abs().max() / theirs.abs().max())
            for n in threads:
                torch.set_num_threads(n)
                if diff > 1e-4:
                    print(f"| {name} | {n} | {diff:.1e} (outputs disagree: not timed) |")
                    continue
                rounds = {"moekit": [], "dense": [], **{i: [] for i in implementations}}
                for _ in range(args.rounds):
                    rounds["moekit"].append(moekit_seconds(args.moe_run, folder, x_path, y_path, n,
                                                           args.repetitions))
                    for i in implementations:
                        rounds[i].append(peer_seconds(model, i, x.unsqueeze(0), args.repetitions))
                    rounds["dense"].append(fastest_seconds(dense, x, args.repetitions))
                def cell(samples):
                    return (f"{statistics.median(samples) * 1e3:.2f} "
                            f"({min(samples) * 1e3:.2f}–{max(samples) * 1e3:.2f})")
                ours_median = statistics.median(rounds["moekit"])
                cells = [cell(rounds["moekit"])]
                for i in implementations:
                    cells += [cell(rounds[i]), f"{ours_median / statistics.median(rounds[i]):.2f}"]
                cells += [cell(rounds["dense"]), f"{ours_median / statistics.median(rounds['dense']):.2f}"]
                print(f"| {name} | {n} | {diff:.1e} | " + " | ".join(cells) + " |")
                sys.stdout.flush()
            del model


if __name__ == "__main__":
    main()
