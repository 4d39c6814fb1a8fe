#!/usr/bin/env python3
"""Writes the fixtures that pin quantize-on-load to ggml's reference quantizers.

Usage: python tools/make_quant_reference.py LLAMA_QUANTIZE [OUT_DIR]   (default: tests/fixtures/quant)
Needs: numpy, gguf (gguf-py), and llama.cpp's `llama-quantize` binary (../shared/peers/llama-cpp.md).
CI never runs this: its outputs are committed.

It saves `input_f32.gguf`, a one-layer `llama` GGUF whose f32 matrices hold rows chosen to reach
the quantizers' corner cases, and has `llama-quantize --pure` turn it into `q8_0.gguf`, `q4_0.gguf`
and `q4_k.gguf` (ftype Q4_K_S with --pure: every matrix Q4_K). The test quantizes the input rows
itself and compares the bytes with these files.
"""
import os, subprocess, sys, tempfile
import numpy as np
import gguf

QUANTIZE = sys.argv[1]
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "quant")
COLS = 512  # two Q4_K blocks, sixteen 32-blocks per row
rng = np.random.default_rng(20261124)


def corner_rows():
    """Rows that reach the quantizers' branches: zero and constant blocks, one sign only, an outlier,
    magnitudes where fp16 scales go subnormal or to zero, and heavy-tailed real-looking data."""
    rows = []
    g = lambda s=1.0: rng.standard_normal(COLS).astype(np.float32) * s
    rows.append(g(0.02))                                    # typical weight scale
    rows.append(g(1.0) * rng.uniform(0.1, 3.0, COLS).astype(np.float32))
    rows.append(np.zeros(COLS, np.float32))                 # all zero: d = 0
    rows.append(np.full(COLS, 0.25, np.float32))            # constant positive (max == min after min=0? no: min 0)
    rows.append(np.full(COLS, -0.125, np.float32))          # constant negative
    rows.append(np.abs(g(0.05)))                            # one sign: min clamps to 0
    rows.append(-np.abs(g(0.05)))                           # all negative
    r = g(0.01); r[7] = 3.0; r[300] = -5.0; rows.append(r)  # outliers
    rows.append(g(1e-6))                                    # fp16 scales subnormal
    rows.append(g(1e-10))                                   # fp16 scales flush to zero
    r = (np.arange(COLS) % 32 - 16).astype(np.float32) * 0.5; rows.append(r)   # ties on the grid
    r = np.round(g(4.0)) / 4; rows.append(r.astype(np.float32))                  # coarse values, many ties
    r = g(0.02); r[::32] = 0.0; r[1::64] = 1e-3; rows.append(r)
    r = rng.standard_t(3, COLS).astype(np.float32) * 0.03; rows.append(r)        # heavy tails
    r = g(0.02); r[:256] *= 1000; rows.append(r)            # blocks of very different scale in one row
    rows.append(rng.uniform(-1, 1, COLS).astype(np.float32))
    r = (np.arange(COLS) % 32 - 16).astype(np.float32) + 0.5; r[::32] = 127; rows.append(r)  # Q8_0 d = 1: exact .5 ties
    r = (np.arange(COLS) % 16).astype(np.float32) * (1 / 15); r[::32] = 1.0; rows.append(r)  # Q4_K grid points
    return np.stack(rows)


def main():
    os.makedirs(OUT, exist_ok=True)
    embd = corner_rows()
    q = rng.standard_normal((64, COLS)).astype(np.float32) * 0.02  # plain gaussian rows
    w = gguf.GGUFWriter(os.path.join(OUT, "input_f32.gguf"), "llama")
    w.add_context_length(64)
    w.add_embedding_length(COLS)
    w.add_block_count(1)
    w.add_feed_forward_length(COLS)
    w.add_head_count(8)
    w.add_head_count_kv(8)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(0)
    w.add_tensor("token_embd.weight", embd)
    w.add_tensor("output_norm.weight", np.ones(COLS, np.float32))
    w.add_tensor("blk.0.attn_q.weight", q)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    for ftype, name in [("Q8_0", "q8_0"), ("Q4_0", "q4_0"), ("Q4_K_S", "q4_k")]:
        subprocess.run([QUANTIZE, "--pure", os.path.join(OUT, "input_f32.gguf"), os.path.join(OUT, f"{name}.gguf"), ftype],
                       check=True, stdout=subprocess.DEVNULL)
        r = gguf.GGUFReader(os.path.join(OUT, f"{name}.gguf"))
        print(name, [(t.name, t.tensor_type.name) for t in r.tensors])


main()
