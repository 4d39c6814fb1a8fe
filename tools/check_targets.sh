#!/usr/bin/env bash
# Type-checks what this machine cannot run: the library and the CLI for Windows (DX12, Vulkan) and
# macOS on Apple silicon (Metal) with the C ABI (capi/) and the desktop app (examples/desktop), and the library alone for the browser (wasm32-unknown-unknown,
# wgpu's WebGPU backend; no CLI dependencies there). Installs the targets' std with rustup if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
for t in x86_64-pc-windows-gnu aarch64-apple-darwin wasm32-unknown-unknown; do
  rustup target list --installed | grep -qx "$t" || rustup target add "$t" >/dev/null
  if [ "$t" = wasm32-unknown-unknown ]; then
    cargo check --release --quiet --target "$t" --lib --no-default-features
  else
    cargo check --release --quiet --target "$t" --lib --bins
    cargo check --release --quiet --target "$t" -p llama4-wgpu-capi -p llama4-wgpu-desktop
  fi
  echo "cargo check --target $t: ok"
done
