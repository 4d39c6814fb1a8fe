// Causal attention for one layer, one workgroup per (query token, query head), GQA by head groups.
// Query t sits at absolute position pos = past + t and sees keys s in [lo, pos] where
//   chunked (RoPE) layers: lo = floor(pos / chunk) * chunk   (its own chunk only, spec §2.5)
//   global (NoPE) layers:  lo = 0                             (chunk = 0)
// Keys s < past come from the KV cache (slot s % cap), keys s >= past from this step's qkv rows.
// Softmax runs online over tiles of WG keys (running max and sum), all in float32.

#include "common/attention_shape.wgsl"

#include "common/step.wgsl"

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> k_cache: array<f32>;
@group(0) @binding(3) var<storage, read> v_cache: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> step: Step;

const WG: u32 = 64u;
const MAX_D: u32 = 256u;
const NEG: f32 = -3.0e38;

var<workgroup> q: array<f32, MAX_D>;
var<workgroup> sc: array<f32, WG>;

fn key(s: u32, kvh: u32, i: u32) -> f32 {
    if (s < step.past) {
        return k_cache[((s % p.cap) * p.nkv + kvh) * p.d + i];
    }
    return qkv[(s - step.past) * p.width + (p.nh + kvh) * p.d + i];
}

fn value(s: u32, kvh: u32, i: u32) -> f32 {
    if (s < step.past) {
        return v_cache[((s % p.cap) * p.nkv + kvh) * p.d + i];
    }
    return qkv[(s - step.past) * p.width + (p.nh + p.nkv + kvh) * p.d + i];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let t = wid.x;
    let h = wid.y;
    let pos = step.past + t;
    let kvh = h / (p.nh / p.nkv);
    var lo = 0u;
    if (p.chunk != 0u) {
        lo = (pos / p.chunk) * p.chunk;
    }
    for (var i = lid; i < p.d; i += WG) {
        q[i] = qkv[t * p.width + h * p.d + i];
    }
    workgroupBarrier();

    var m = NEG;
    var l = 0.0;
    var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0); // dims lid, lid + WG, ... (d <= 256)
    for (var s0 = lo; s0 <= pos; s0 += WG) {
        let s = s0 + lid;
        var score = NEG;
        if (s <= pos) {
            var dot = 0.0;
            for (var i = 0u; i < p.d; i++) {
                dot += q[i] * key(s, kvh, i);
            }
            score = dot * p.scale;
        }
        sc[lid] = score;
        workgroupBarrier();
        var tile_max = NEG;
        let n = min(WG, pos - s0 + 1u);
        for (var j = 0u; j < n; j++) {
            tile_max = max(tile_max, sc[j]);
        }
        let m_new = max(m, tile_max);
        let corr = exp(m - m_new);
        l *= corr;
        for (var a = 0u; a < 4u; a++) {
            acc[a] *= corr;
        }
        for (var j = 0u; j < n; j++) {
            let pj = exp(sc[j] - m_new);
            l += pj;
            for (var a = 0u; a < 4u; a++) {
                let dim = lid + a * WG;
                if (dim < p.d) {
                    acc[a] += pj * value(s0 + j, kvh, dim);
                }
            }
        }
        m = m_new;
        workgroupBarrier();
    }
    for (var a = 0u; a < 4u; a++) {
        let dim = lid + a * WG;
        if (dim < p.d) {
            out[(t * p.nh + h) * p.d + dim] = acc[a] / l;
        }
    }
}
