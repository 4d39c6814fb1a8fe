#!/usr/bin/env bash
# Issue #9's discrete-GPU runs on random weights at Scout's shapes (no checkpoint needed): the
# conformance report, then bench's decode-against-context growth table, prefill against prompt
# length, three weight formats, prefill with the tiled GEMM against the GEMV (--gemm), norms
# fused into the matmuls against their own passes (--norm), decode greedy against sampled
# (top-k 40 / top-p 0.9 over Scout's 202048-token vocabulary), and decode with 16 against 128
# experts at equal active parameters. Raw output goes to DIR
# (default bench/results/discrete); a summary is printed.
#   bench/discrete.sh [DIR]        BIN=path/to/llama4-wgpu to use another binary
# Scout's 48 layers in q4_K are 57.8 GiB of weights: a GPU with 80 GB runs it all; pass
# LAYERS=N for smaller ones (the growth table then covers N layers).
set -u
cd "$(dirname "$0")/.."
B=${BIN:-target/release/llama4-wgpu}
DIR=${1:-bench/results/discrete}
LAYERS=${LAYERS:-48}
mkdir -p "$DIR"
start=$(date +%s)
step() { echo "[$(( $(date +%s) - start )) s] $*" >&2; }

step "doctor"
$B doctor --backend vulkan > "$DIR/doctor_vulkan.txt" 2>&1
tail -1 "$DIR/doctor_vulkan.txt"
step "Scout ${LAYERS}L q4_K: decode against context"
$B bench --synthetic scout --layers "$LAYERS" --quant q4_k -p 512 -n 32 -r 2 -d 0,512,4096,32768,65536 -o json \
    > "$DIR/scout_q4_k_depth.json" 2>> "$DIR/log.txt"
step "Scout ${LAYERS}L q4_K: prefill against prompt length"
$B bench --synthetic scout --layers "$LAYERS" --quant q4_k -p 128,512,2048,4096 -n 0 -r 1 --no-profile -o json \
    > "$DIR/scout_q4_k_prompts.json" 2>> "$DIR/log.txt"
for q in q4_k q8_0 bf16; do
    step "Scout 4L $q"
    $B bench --synthetic scout --layers 4 --quant $q -p 512 -n 64 -r 3 -o json > "$DIR/scout4_$q.json" 2>> "$DIR/log.txt"
done
for g in tiled rows; do
    step "Scout 4L q4_K prefill, --gemm $g (the tiled GEMM against the 8-token GEMV)"
    $B bench --synthetic scout --layers 4 --quant q4_k --gemm $g -p 512,2048 -n 0 -r 3 -o json \
        > "$DIR/gemm_$g.json" 2>> "$DIR/log.txt"
done
for n in fused pass; do
    step "Scout 4L q4_K, --norm $n (norms in the matmuls against their own passes)"
    $B bench --synthetic scout --layers 4 --quant q4_k --norm $n -p 512 -n 64 -r 3 -o json \
        > "$DIR/norm_$n.json" 2>> "$DIR/log.txt"
done
for s in "greedy:" "topk40:--temperature 0.8 --top-k 40" "topp09:--temperature 0.6 --top-p 0.9"; do
    step "Scout 4L q4_K decode, sampler ${s%%:*}"
    $B bench --synthetic scout --layers 4 --quant q4_k -p 0 -n 64 -r 3 ${s#*:} -o json \
        > "$DIR/sampler_${s%%:*}.json" 2>> "$DIR/log.txt"
done
for e in 16 128; do
    step "Scout 4L, $e experts"
    $B bench --synthetic scout --layers 4 --experts $e --quant q4_k -p 0 -n 64 -r 5 --no-profile -o json \
        > "$DIR/experts_$e.json" 2>> "$DIR/log.txt"
done
step "done"
python3 - "$DIR" <<'PY'
import glob, json, os, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    for r in json.load(open(f)):
        test = f"pp{r['n_prompt']}" if r["n_gen"] == 0 else f"tg{r['n_gen']}"
        rate = r.get("achieved_gbps") and f"{r['achieved_gbps']:.0f} GB/s" or r.get("achieved_gflops") and f"{r['achieved_gflops']:.0f} GFLOP/s"
        peaks = r.get("peaks") or {}
        print(f"{os.path.basename(f):24} {r['model']:28} {test:7} d{r['n_depth']:<6} {r['avg_ts']:9.2f} ± {r['stddev_ts']:6.2f} t/s  {rate}  (copy {peaks.get('copy_gbps', 0):.0f} GB/s, fma {peaks.get('fma_gflops', 0):.0f} GFLOP/s)")
PY
