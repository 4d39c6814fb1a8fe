// LayerNorm over rows (torch's nn.LayerNorm, the vision tower): y = (x - mean) * rsqrt(var + eps)
// * weight + bias, the variance biased. One workgroup per row; rows `0..` of x into rows of out.

struct Params {
    n: u32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const WG: u32 = 64u;
var<workgroup> red: array<f32, WG>;

#include "common/reduce.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, lane: Lane) {
    let base = wid.x * p.n;
    var s = 0.0;
    for (var i = lane.index; i < p.n; i += WG) {
        s += x[base + i];
    }
    let mean = workgroup_sum(lane, s) / f32(p.n);
    var ss = 0.0;
    for (var i = lane.index; i < p.n; i += WG) {
        let d = x[base + i] - mean;
        ss += d * d;
    }
    let scale = inverseSqrt(workgroup_sum(lane, ss) / f32(p.n) + p.eps);
    for (var i = lane.index; i < p.n; i += WG) {
        out[base + i] = (x[base + i] - mean) * scale * weight[i] + bias[i];
    }
}
