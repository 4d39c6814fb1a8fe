// RMSNorm over rows (Llama4TextRMSNorm, spec §2.1): y = x * rsqrt(mean(x^2) + eps) * weight.
// One workgroup per row. Input row `in_row0 + r` goes to output row `r`.

struct Params {
    n: u32,
    eps: f32,
    in_row0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const WG: u32 = 256u;
var<workgroup> red: array<f32, WG>;

#include "common/reduce.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, lane: Lane) {
    let lid = lane.index;
    let src = (wid.x + p.in_row0) * p.n;
    let dst = wid.x * p.n;
    var ss = 0.0;
    for (var i = lid; i < p.n; i += WG) {
        let v = x[src + i];
        ss += v * v;
    }
    let scale = inverseSqrt(workgroup_sum(lane, ss) / f32(p.n) + p.eps);
    for (var i = lid; i < p.n; i += WG) {
        out[dst + i] = (x[src + i] * scale) * weight[i];
    }
}
