// RMSNorm over rows (Llama4TextRMSNorm, spec §2.1): y = x * rsqrt(mean(x^2) + eps) * weight.
// One workgroup per row. Input row `in_row0 + r` goes to output row `r`.

struct Params {
    n: u32,
    eps: f32,
    in_row0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
#if X_VEC4
// rows of a multiple of 4: one 16-byte access per four elements (on CPU adapters each storage
// access is a pass over the SIMD lanes, whatever its width)
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> weight: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
const PER: u32 = 4u; // elements per access
fn sq(v: vec4<f32>) -> f32 {
    return dot(v, v);
}
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
const PER: u32 = 1u;
fn sq(v: f32) -> f32 {
    return v * v;
}
#endif

#if ROW_LANE
// CPU adapters: one SIMD batch a row (a 256-lane workgroup is 32 batches that take turns at
// every barrier, most of them idle on rows of a few hundred)
const WG: u32 = 8u;
#else
const WG: u32 = 256u;
#endif
var<workgroup> red: array<f32, WG>;

#include "common/reduce.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, lane: Lane) {
    let lid = lane.index;
    let n = p.n / PER; // accesses a row
    let src = (wid.x + p.in_row0) * n;
    let dst = wid.x * n;
    var ss = 0.0;
    for (var i = lid; i < n; i += WG) {
        let v = x[src + i];
        ss += sq(v);
    }
    let scale = inverseSqrt(workgroup_sum(lane, ss) / f32(p.n) + p.eps);
    for (var i = lid; i < n; i += WG) {
        out[dst + i] = (x[src + i] * scale) * weight[i];
    }
}
