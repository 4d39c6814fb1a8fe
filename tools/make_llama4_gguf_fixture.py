#!/usr/bin/env python3
"""A tiny transformers Llama 4 checkpoint and llama.cpp's GGUF conversion of it, for GGUF/safetensors parity.

Usage: python tools/make_llama4_gguf_fixture.py LLAMA_CPP_DIR [OUT_DIR]   (default: tests/fixtures)
Needs: torch, transformers==5.23.0 (as tools/make_fixtures.py), and llama.cpp's source tree (its
`convert_hf_to_gguf.py` and `gguf-py`; ../shared/peers/llama-cpp.md). CI never runs this: outputs are committed.

Writes OUT_DIR/llama4_gguf/: the safetensors checkpoint with transformers' reference outputs (as every
fixture), and `model-f32.gguf`, what `convert_hf_to_gguf.py --outtype f32` makes of it. The model
uses Scout's attention constants (chunk 8192, floor_scale 8192, attn_scale 0.1), which llama.cpp's
llama4 metadata does not carry and assumes, QK norm, llama3 rope scaling (the converter writes it as
`rope_freqs.weight`), and MoE on every other layer (8 experts, top-1, shared expert) beside dense layers.

The converter identifies a BPE pre-tokenizer by hashing its output on a test text; the fixture's tiny
trained BPE is unknown to it, so this script tells it the model's pre-tokenizer is "llama4" (what it
writes for real Llama 4 checkpoints). Nothing else about the conversion is changed.
"""
import os, subprocess, sys

LLAMA_CPP = os.path.abspath(sys.argv[1])
OUT = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf

mf.OUT = OUT
NAME = "llama4_gguf"
mf.write_fixture(NAME, mf.text_config(
    num_hidden_layers=4, num_local_experts=8, num_experts_per_tok=1, interleave_moe_layer_step=2,
    intermediate_size=32, intermediate_size_mlp=96, use_qk_norm=True, attention_chunk_size=8192, max_position_embeddings=16384,
    attn_temperature_tuning=True, floor_scale=8192, attn_scale=0.1,
    rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 16.0, "low_freq_factor": 1.0,
                     "high_freq_factor": 1.0, "original_max_position_embeddings": 8192}),
    seed=11, prompt_len=24, new_tokens=8)

d = os.path.join(OUT, NAME)
runner = f"""
import sys
sys.path.insert(0, {os.path.join(LLAMA_CPP, 'gguf-py')!r}); sys.path.insert(0, {LLAMA_CPP!r})
from conversion import base
base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "llama4"
sys.argv = ["convert_hf_to_gguf.py", {d!r}, "--outtype", "f32", "--outfile", {os.path.join(d, 'model-f32.gguf')!r}]
import runpy
runpy.run_path({os.path.join(LLAMA_CPP, 'convert_hf_to_gguf.py')!r}, run_name="__main__")
"""
subprocess.run([sys.executable, "-c", runner], check=True)
print(f"{NAME}/model-f32.gguf: {os.path.getsize(os.path.join(d, 'model-f32.gguf')) / 1e6:.2f} MB")
