#!/usr/bin/env python3
"""The ratio table of one bench/compare.sh run: ours against llama.cpp's Vulkan and CPU backends.

usage: bench/ratios.py RESULTS_DIR MODEL...   (reads ours-M.json, vulkan-M.json, cpu-M.json)
"""
import json
import platform
import subprocess
import sys
from pathlib import Path


def rows(path):
    """llama-bench / llama4-wgpu bench -o json rows by test name (pp512, tg128)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        sys.exit(f"{path}: {e}")
    out = {}
    for r in data:
        test = f"pp{r['n_prompt']}" if r["n_gen"] == 0 else f"tg{r['n_gen']}"
        out[test] = r
    return out


def cpu_name():
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    d = Path(sys.argv[1])
    print(f"Run {d.name}, {cpu_name()} ({subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores)\n")
    print("| model | test | llama4-wgpu t/s | llama.cpp Vulkan t/s | ratio | llama.cpp CPU t/s | ratio to CPU |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    adapter = None
    for m in sys.argv[2:]:
        ours, vk, cpu = rows(d / f"ours-{m}.json"), rows(d / f"vulkan-{m}.json"), rows(d / f"cpu-{m}.json")
        for test, o in ours.items():
            adapter = o.get("adapter", adapter)
            a = o["avg_ts"]
            cell = lambda r: f"{r['avg_ts']:.2f} ± {r['stddev_ts']:.2f}" if r else "-"
            ratio = lambda r: f"{a / r['avg_ts']:.2f}x" if r else "-"
            v, c = vk.get(test), cpu.get(test)
            print(f"| {m} | {test} | {a:.2f} ± {o['stddev_ts']:.2f} | {cell(v)} | {ratio(v)} | {cell(c)} | {ratio(c)} |")
    print(f"\nAdapter: {adapter}. Each engine ran its own warm-up, then the timed repetitions, alternating per file.")


main()
