// Bidirectional multi-head attention of one tile (the vision encoder, spec §4.4): every token
// attends to every token, scale head_dim^-0.5. One workgroup per (query, head): the scores go to
// workgroup memory (at most MAX_KEYS tokens a tile), then softmax, then the weighted values.
// qkv rows are [q | k | v], `hidden` wide each; out rows are `hidden` wide.

struct Params {
    hidden: u32,
    head_dim: u32,
    tokens: u32,
    scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const WG: u32 = 64u;
const MAX_KEYS: u32 = 1024u;
var<workgroup> scores: array<f32, MAX_KEYS>;
var<workgroup> red: array<f32, WG>;

#include "common/reduce.wgsl"

fn workgroup_max(lid: u32, v: f32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red[lid] = max(red[lid], red[lid + s]);
        }
        workgroupBarrier();
    }
    let m = red[0];
    workgroupBarrier();
    return m;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, lane: Lane) {
    let qi = wid.x;
    let h = wid.y;
    let lid = lane.index;
    let row = 3u * p.hidden;
    let q0 = qi * row + h * p.head_dim;
    var m = -3.0e38;
    for (var j = lid; j < p.tokens; j += WG) {
        let k0 = j * row + p.hidden + h * p.head_dim;
        var s = 0.0;
        for (var d = 0u; d < p.head_dim; d++) {
            s += qkv[q0 + d] * qkv[k0 + d];
        }
        s *= p.scale;
        scores[j] = s;
        m = max(m, s);
    }
    m = workgroup_max(lid, m);
    var z = 0.0;
    for (var j = lid; j < p.tokens; j += WG) {
        let e = exp(scores[j] - m);
        scores[j] = e;
        z += e;
    }
    z = workgroup_sum(lane, z);
    for (var d = lid; d < p.head_dim; d += WG) {
        var acc = 0.0;
        for (var j = 0u; j < p.tokens; j++) {
            acc += scores[j] * qkv[j * row + 2u * p.hidden + h * p.head_dim + d];
        }
        out[qi * p.hidden + h * p.head_dim + d] = acc / z;
    }
}
