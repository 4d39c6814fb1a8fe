#!/usr/bin/env bash
# Builds the browser demo into web/dist/ (a static site: serve it with any file server).
# Needs: rustup (adds wasm32-unknown-unknown), wasm-bindgen-cli at the lockfile's wasm-bindgen
# version (installed with cargo if missing), and npm for wasm-opt from npm's binaryen
# (web/node_modules/.bin/wasm-opt; Debian's wasm-opt breaks wasm-bindgen's externref table) and
# playwright-core for web/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown >/dev/null
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$want" ]; then
  echo "installing wasm-bindgen-cli $want (the lockfile's wasm-bindgen)" >&2
  cargo install --force wasm-bindgen-cli --version "$want" >&2
fi
# wasm-opt (npm's binaryen) and the browser-test driver (npm's playwright-core)
if command -v npm >/dev/null && [ ! -d web/node_modules/binaryen ]; then
  (cd web && npm install --no-audit --no-fund --silent)
fi
cargo build --release --target wasm32-unknown-unknown -p llama4-wgpu-web
rm -rf web/dist
mkdir -p web/dist
wasm-bindgen --target web --no-typescript --out-dir web/dist/pkg \
  target/wasm32-unknown-unknown/release/llama4_wgpu_web.wasm
if [ -x web/node_modules/.bin/wasm-opt ]; then
  web/node_modules/.bin/wasm-opt -O2 --enable-reference-types --enable-bulk-memory --enable-nontrapping-float-to-int \
    web/dist/pkg/llama4_wgpu_web_bg.wasm -o web/dist/pkg/llama4_wgpu_web_bg.wasm
fi
cp web/index.html web/app.js web/bench.js web/chat.js web/drop.js web/worker.js web/style.css web/dist/
echo "web/dist: $(du -sh web/dist | cut -f1) (serve it, e.g. python3 -m http.server -d web/dist)"
