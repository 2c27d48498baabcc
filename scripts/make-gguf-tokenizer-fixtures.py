#!/usr/bin/env python3
"""Writes the SentencePiece GGUF tokenizer fixture: a BPE SentencePiece model trained on the
tokenizer fixtures' corpus (scripts/make-model-fixtures.py's lines; Llama's settings: no
normalization, spaces kept, a dummy prefix, byte fallback), converted by llama.cpp's own
`convert_hf_to_gguf.py --vocab-only` beside a tiny Llama config (`tokenizer.ggml.model`
"llama": tokens, scores, types), and every line tokenized and detokenized by llama.cpp itself
(scripts/peer/llama-tokens.c): `gguf/tokenizers/spm.gguf` and `spm-cases.json`. Run by
scripts/make-gguf-fixtures.sh (which sets LLAMACPP, LLAMACPP_BIN and LLAMA_TOKENS)."""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

import sentencepiece
import torch
import transformers

OUT = "Tests/ModelIOTests/Fixtures/gguf/tokenizers"
CONVERT = """
import os, sys
llamacpp = os.environ["LLAMACPP"]
sys.path[:0] = [llamacpp, os.path.join(llamacpp, "gguf-py")]
import convert_hf_to_gguf
sys.argv = ["convert_hf_to_gguf.py", *sys.argv[1:]]
convert_hf_to_gguf.main()
"""


def corpus_lines():
    spec = importlib.util.spec_from_file_location("fixtures", "scripts/make-model-fixtures.py")
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    # One line a case on llama.cpp's standard input: lines with a newline are left out.
    return [line for line in fixtures.corpus_lines() if "\n" not in line]


def main():
    os.makedirs(OUT, exist_ok=True)
    lines = corpus_lines()
    with tempfile.TemporaryDirectory() as folder:
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(lines), model_prefix=f"{folder}/tokenizer", vocab_size=700,
            model_type="bpe", byte_fallback=True, character_coverage=0.995, normalization_rule_name="identity",
            remove_extra_whitespaces=False, add_dummy_prefix=True, split_digits=True, minloglevel=2)
        processor = sentencepiece.SentencePieceProcessor(model_file=f"{folder}/tokenizer.model")
        config = transformers.LlamaConfig(
            vocab_size=processor.vocab_size(), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
            num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64, bos_token_id=1,
            eos_token_id=2)
        torch.manual_seed(0)
        transformers.LlamaForCausalLM(config).save_pretrained(folder)
        target = f"{OUT}/spm.gguf"
        subprocess.run([sys.executable, "-c", CONVERT, folder, "--vocab-only", "--outfile", target],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result = subprocess.run([os.environ["LLAMA_TOKENS"], target], input="\n".join(lines) + "\n",
                            capture_output=True, text=True, check=True,
                            env={**os.environ, "LD_LIBRARY_PATH": os.environ["LLAMACPP_BIN"]})
    outputs = result.stdout.split("\n")[:-1]
    assert len(outputs) == len(lines), (len(outputs), len(lines))
    cases, agree = [], 0
    for text, output in zip(lines, outputs):
        ids, decoded = output.split("\t")
        ids = [int(i) for i in ids.split()]
        cases.append(dict(text=text, ids=ids, decoded=bytes.fromhex(decoded).decode("utf-8", "replace")))
        agree += ids == processor.encode(text)
    assert any(processor.id_to_piece(i).startswith("<0x") for c in cases for i in c["ids"])
    with open(f"{OUT}/spm-cases.json", "w") as f:
        json.dump(cases, f, ensure_ascii=False, separators=(",", ":"))
    print(f"spm.gguf: {processor.vocab_size()} tokens, {len(cases)} lines; "
          f"llama.cpp's ids equal SentencePiece's on {agree} of them")


if __name__ == "__main__":
    main()
