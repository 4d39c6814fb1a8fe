#!/usr/bin/env python3
"""llama.cpp's GGUF conversion of the tiny multimodal fixture: the text model and the multimodal
projector (`--mmproj`), as `llama-mtmd-cli -m model.gguf --mmproj mmproj.gguf` would take them.

Usage: python tools/make_vision_gguf_fixture.py LLAMA_CPP_DIR [FIXTURE_DIR]   (default: tests/fixtures/vision)
Run tools/make_vision_fixtures.py first. Needs llama.cpp's source tree (`convert_hf_to_gguf.py`, `gguf-py`;
../shared/peers/llama-cpp.md). CI never runs this: the outputs are committed.

Writes FIXTURE_DIR/model-f32.gguf and FIXTURE_DIR/mmproj-f32.gguf. As in make_llama4_gguf_fixture.py the
converter is told the tiny BPE's pre-tokenizer is "llama4"; nothing else about the conversion is changed.
"""
import os, subprocess, sys

LLAMA_CPP = os.path.abspath(sys.argv[1])
D = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "vision"))
for extra, out in [([], "model-f32.gguf"), (["--mmproj"], "mmproj-f32.gguf")]:
    runner = f"""
import sys
sys.path.insert(0, {os.path.join(LLAMA_CPP, 'gguf-py')!r}); sys.path.insert(0, {LLAMA_CPP!r})
from conversion import base
base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "llama4"
sys.argv = ["convert_hf_to_gguf.py", {D!r}, *{extra!r}, "--outtype", "f32", "--outfile", {os.path.join(D, out)!r}]
import runpy
runpy.run_path({os.path.join(LLAMA_CPP, 'convert_hf_to_gguf.py')!r}, run_name="__main__")
"""
    subprocess.run([sys.executable, "-c", runner], check=True, capture_output=True)
    print(f"{out}: {os.path.getsize(os.path.join(D, out)) / 1e6:.2f} MB")
