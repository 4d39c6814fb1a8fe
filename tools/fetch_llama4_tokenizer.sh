#!/usr/bin/env bash
# Puts Meta's Llama 4 `tokenizer.model` (from PyPI's llama-models 0.3.0 wheel) at
# target/llama4-tokenizer/tokenizer.model for tests/tokenizer_llama4.rs. Only pip is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/llama4-tokenizer
[ -s "$out/tokenizer.model" ] && exit 0
mkdir -p "$out"
tmp=$(mktemp -d)
python3 -m pip download --quiet --no-deps --only-binary :all: -d "$tmp" llama-models==0.3.0
python3 - "$tmp" "$out" <<'PY'
import sys, zipfile, glob
whl = glob.glob(sys.argv[1] + "/llama_models-*.whl")[0]
with zipfile.ZipFile(whl) as z:
    name = [n for n in z.namelist() if n.endswith("llama4/tokenizer.model")][0]
    open(sys.argv[2] + "/tokenizer.model", "wb").write(z.read(name))
PY
rm -rf "$tmp"
