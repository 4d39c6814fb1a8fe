// Prepares q and k in place inside the fused qkv rows [T, (nh + 2 nkv) * d] (spec §2.2-2.4):
//   RoPE layers: interleaved-pair rotation (x[2j], x[2j+1]) by pos * f_j, then (use_qk_norm) a
//                weightless RMS norm over head_dim, on q heads and k heads.
//   NoPE layers: (attn_temperature_tuning) q *= temperature(pos); k untouched.
// One workgroup per (token, head); heads 0..nh are q heads, nh..nh+nkv are k heads.
// `table` holds this step's cos/sin per (token, pair) and `temps` the per-token temperature,
// both computed on the host in float32 exactly as torch does.

struct Params {
    nh: u32,
    nkv: u32,
    d: u32,
    width: u32,
    rope: u32,
    qk_norm: u32,
    temperature: u32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read> temps: array<f32>;

#if ROW_LANE
const WG: u32 = 8u; // CPU adapters: one SIMD batch a head (see norm/rmsnorm.wgsl)
#else
const WG: u32 = 64u;
#endif
var<workgroup> red: array<f32, WG>;

#include "common/reduce.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, lane: Lane) {
    let lid = lane.index;
    let t = wid.x;
    let head = wid.y;
    let base = t * p.width + head * p.d;
    let half = p.d / 2u;
    var ss = 0.0;
    for (var j = lid; j < half; j += WG) {
        var a = qkv[base + 2u * j];
        var b = qkv[base + 2u * j + 1u];
        if (p.rope != 0u) {
            let c = table[(t * half + j) * 2u];
            let s = table[(t * half + j) * 2u + 1u];
            let ra = a * c - b * s;
            let rb = a * s + b * c;
            a = ra;
            b = rb;
        } else if (p.temperature != 0u && head < p.nh) {
            a *= temps[t];
            b *= temps[t];
        }
        qkv[base + 2u * j] = a;
        qkv[base + 2u * j + 1u] = b;
        ss += a * a + b * b;
    }
    if (p.rope != 0u && p.qk_norm != 0u) {
        let scale = inverseSqrt(workgroup_sum(lane, ss) / f32(p.d) + p.eps);
        for (var j = lid; j < half; j += WG) {
            qkv[base + 2u * j] *= scale;
            qkv[base + 2u * j + 1u] *= scale;
        }
    }
}
