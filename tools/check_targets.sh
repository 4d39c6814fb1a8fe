#!/usr/bin/env bash
# Type-checks the library and the CLI for the desktop targets this machine cannot run: Windows
# (DX12, Vulkan) and macOS on Apple silicon (Metal). Installs the targets' std with rustup if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
for t in x86_64-pc-windows-gnu aarch64-apple-darwin; do
  rustup target list --installed | grep -qx "$t" || rustup target add "$t" >/dev/null
  cargo check --release --quiet --target "$t" --lib --bins
  echo "cargo check --target $t: ok"
done
