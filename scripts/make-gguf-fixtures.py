#!/usr/bin/env python3
"""Writes the GGUF fixtures that prove MoEKit's GGUF reader and ggml block decoding against the
`gguf` package (which implements ggml's formats in NumPy). Run from the repository root in the
fixtures environment (scripts/make-gguf-fixtures.sh makes it):

    python3 scripts/make-gguf-fixtures.py

`types.gguf` holds one 3 × 512 tensor of every type MoEKit reads (random values quantized by
`gguf.quants.quantize`, or stored as F32/F16/BF16), a vector, a 3-D tensor, and metadata of
every value type; `types-expected.safetensors` holds `gguf.quants.dequantize` of each tensor
as float32, which MoEKit must reproduce bit for bit.
"""
import os
from importlib.metadata import version

import gguf
import numpy as np
import safetensors.numpy

OUT = "Tests/ModelIOTests/Fixtures/gguf"
TYPES = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K", "MXFP4"]


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)
    writer = gguf.GGUFWriter(f"{OUT}/types.gguf", arch="llama")
    writer.add_uint8("test.u8", 200)
    writer.add_int8("test.i8", -100)
    writer.add_uint16("test.u16", 60000)
    writer.add_int16("test.i16", -30000)
    writer.add_uint32("test.u32", 4_000_000_000)
    writer.add_int32("test.i32", -2_000_000_000)
    writer.add_float32("test.f32", 0.25)
    writer.add_bool("test.bool", True)
    writer.add_string("test.string", "héllo ▁wörld")
    writer.add_uint64("test.u64", 2**63 + 5)
    writer.add_int64("test.i64", -(2**62))
    writer.add_float64("test.f64", -1.5e300)
    writer.add_array("test.strings", ["a", "bc", ""])
    writer.add_array("test.ints", [1, -2, 3])
    expected = {}
    for name in TYPES:
        qtype = gguf.GGMLQuantizationType[name]
        values = (rng.standard_normal((3, 512)) * rng.uniform(0.01, 3, (3, 1))).astype(np.float32)
        values[1, 7] = 40.0  # an outlier in one block
        if name == "F32":
            data, stored = values, values
        elif name == "F16":
            data = values.astype(np.float16)
            stored = data.astype(np.float32)
        elif name in ["Q4_K", "Q5_K", "Q6_K"]:
            # The package decodes these but does not encode them: random blocks with finite scales.
            block_size, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
            data = rng.integers(0, 256, (3, 512 // block_size, block_bytes), dtype=np.uint8)
            scales = rng.uniform(0.001, 0.1, (3, 512 // block_size, 2)).astype(np.float16).view(np.uint8)
            if name == "Q6_K":
                data[..., -2:] = scales[..., 0:2]  # d, the last field
            else:
                data[..., 0:4] = scales  # d and dmin, the first fields
            data = data.reshape(3, -1)
            stored = gguf.quants.dequantize(data, qtype).astype(np.float32)
        else:
            data = gguf.quants.quantize(values, qtype)
            stored = gguf.quants.dequantize(data, qtype).astype(np.float32)
        writer.add_tensor(name.lower(), data, raw_dtype=qtype)
        expected[name.lower()] = np.ascontiguousarray(stored)
    vector = rng.standard_normal(64).astype(np.float32)
    writer.add_tensor("vector", vector)
    expected["vector"] = vector.reshape(1, 64)
    writer.add_tensor("cube", rng.standard_normal((2, 3, 32)).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    safetensors.numpy.save_file(expected, f"{OUT}/types-expected.safetensors")
    print(f"wrote {OUT}/types.gguf ({os.path.getsize(f'{OUT}/types.gguf')} bytes) with gguf {version('gguf')}")
    write_fuzz_seed(rng)


def write_fuzz_seed(rng, path="Fuzz/Corpus/gguf/tiny-mixtral.gguf"):
    """A whole Mixtral-shaped model of a few kilobytes (width 8, one layer, two experts, a
    vocabulary of 16 with a byte-level tokenizer), so that fuzzing reaches the model mapping."""
    writer = gguf.GGUFWriter(path, arch="llama")
    for key, value in [("block_count", 1), ("context_length", 32), ("embedding_length", 8),
                       ("feed_forward_length", 8), ("attention.head_count", 2), ("attention.head_count_kv", 1),
                       ("expert_count", 2), ("expert_used_count", 1)]:
        writer.add_uint32(f"llama.{key}", value)
    writer.add_float32("llama.rope.freq_base", 10000.0)
    writer.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-5)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(["a", "b", "c", "ab", "bc", "abc", "Ġ", "Ġa"] + [f"t{i}" for i in range(8)])
    writer.add_token_types([1] * 16)
    writer.add_token_merges(["a b", "b c", "ab c", "Ġ a"])
    shapes = {"token_embd.weight": (16, 8), "output_norm.weight": (8,), "output.weight": (16, 8),
              "blk.0.attn_norm.weight": (8,), "blk.0.attn_q.weight": (8, 8), "blk.0.attn_k.weight": (4, 8),
              "blk.0.attn_v.weight": (4, 8), "blk.0.attn_output.weight": (8, 8), "blk.0.ffn_norm.weight": (8,),
              "blk.0.ffn_gate_inp.weight": (2, 8), "blk.0.ffn_gate_exps.weight": (2, 8, 8),
              "blk.0.ffn_up_exps.weight": (2, 8, 8), "blk.0.ffn_down_exps.weight": (2, 8, 8)}
    for name, shape in shapes.items():
        writer.add_tensor(name, rng.standard_normal(shape).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
