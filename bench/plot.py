#!/usr/bin/env python3
"""Decode tok/s against context length, one line per `bench -o json` file, as an SVG.

    bench/plot.py OUT.svg "label=FILE.json" ...

Each file's tg rows (n_gen > 0) give one point per depth (n_depth + n_gen / 2, the middle of the
test). The x axis is logarithmic (depth 0 is drawn at 64), the y axis too: adapters a thousand
times apart share one plot. No plotting library: the SVG is written by hand.
"""

import json
import math
import sys

W, H, LEFT, RIGHT, TOP, BOTTOM = 760, 420, 70, 230, 30, 50
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def series(path):
    rows = [r for r in json.load(open(path)) if r["n_gen"] > 0]
    return sorted((max(r["n_depth"] + r["n_gen"] / 2, 64), r["avg_ts"]) for r in rows)


def main():
    out, specs = sys.argv[1], sys.argv[2:]
    if not specs:
        sys.exit(__doc__)
    lines = [(s.split("=", 1)[0], series(s.split("=", 1)[1])) for s in specs]
    xs = [x for _, pts in lines for x, _ in pts]
    ys = [y for _, pts in lines for _, y in pts]
    x0, x1 = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    px = lambda x: LEFT + (math.log10(x) - x0) / (x1 - x0) * (W - LEFT - RIGHT)
    py = lambda y: H - BOTTOM - (math.log10(y) - y0) / (y1 - y0) * (H - TOP - BOTTOM)
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{LEFT}" y="18" font-size="14">Decode speed against context (llama4-wgpu bench -d)</text>',
    ]
    for e in range(x0, x1 + 1):
        x = px(10**e)
        svg.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{H - BOTTOM}" stroke="#ddd"/>')
        svg.append(f'<text x="{x:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{10**e:g}</text>')
    for e in range(y0, y1 + 1):
        y = py(10**e)
        svg.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>')
        svg.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{10**e:g}</text>')
    svg.append(f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 12}" text-anchor="middle">context (tokens in the KV cache)</text>')
    svg.append(f'<text x="16" y="{(TOP + H - BOTTOM) / 2}" transform="rotate(-90 16 {(TOP + H - BOTTOM) / 2})" '
               'text-anchor="middle">decode tok/s</text>')
    for i, (label, pts) in enumerate(lines):
        c = COLORS[i % len(COLORS)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        svg.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"/>')
        svg += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{c}"/>' for x, y in pts]
        ly = TOP + 10 + 18 * i
        svg.append(f'<line x1="{W - RIGHT + 12}" y1="{ly}" x2="{W - RIGHT + 32}" y2="{ly}" stroke="{c}" stroke-width="2"/>')
        svg.append(f'<text x="{W - RIGHT + 38}" y="{ly + 4}">{label}</text>')
    svg.append("</svg>")
    open(out, "w").write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
