"""Prints the logits transformers computes for a checkpoint folder and a list of token ids.

Usage: transformers_logits.py FOLDER OUTPUT.npy ID [ID ...]
Loads FOLDER with AutoModelForCausalLM in float32 on the CPU, runs the ids as one sequence
and writes the logits (T x vocab, float32) to OUTPUT.npy. Used by MoEKit's export test
(scripts/check-export.sh) to check that a model trained in MoEKit means the same thing in
transformers.
"""
import sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM


def main():
    folder, output, *ids = sys.argv[1:]
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        logits = model(torch.tensor([[int(i) for i in ids]])).logits[0]
    np.save(output, logits.numpy().astype(np.float32))


if __name__ == "__main__":
    main()
