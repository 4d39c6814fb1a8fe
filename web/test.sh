#!/usr/bin/env bash
# The browser test: web/dist/ (from web/build.sh) in Debian's headless Chromium with WebGPU
# (SwiftShader: no shader-f16), driven by web/test.mjs through the page's test contract. Every
# transformers fixture (folders, and the llama.cpp GGUF) must give the reference greedy tokens,
# and SmolLM2 (tools/fetch_smollm2.sh) must answer a two-turn chat; a dropped model file loads, a
# model too large for a tab is refused before its download, a GGUF of an unknown architecture is
# refused from its header, a browser without WebGPU gets a clear message, and the benchmark card
# reports pp32 and tg8 on SmolLM2 (test-ui.mjs).
# Screenshots: web/test-artifacts/.
set -euo pipefail
cd "$(dirname "$0")"
[ -d dist ] || { echo "web/dist is missing: run web/build.sh first" >&2; exit 1; }
[ -d node_modules/playwright-core ] || npm install --no-audit --no-fund --silent
node test.mjs "${1:-scout,maverick,top2_gqa_tied_f16,hub_bf16_sharded,vlm_text,dense,llama4_gguf/model-f32.gguf,too-big,unknown-arch,no-webgpu,drop-gguf,smollm2-chat,bench-card}"
