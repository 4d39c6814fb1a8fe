// The sampler's first pass, over many workgroups: workgroup s finds the largest logit of slice s
// (ids s * slice .. (s + 1) * slice; ties: lowest id) and writes its bits and id to part[2 s],
// part[2 s + 1]. sample.wgsl reduces the partials, so no single workgroup walks a 202048-token
// vocabulary for the argmax (greedy decoding's whole sampler).

struct Params {
    vocab: u32,
    row0: u32,
    slice: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<u32>;

#if ROW_LANE
const WG: u32 = 8u; // CPU adapters: one SIMD batch a slice
#else
const WG: u32 = 256u;
#endif

#include "common/argmax.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let lo = wid.x * p.slice;
    let hi = min(p.vocab, lo + p.slice);
    var best = 0.0;
    var best_i = NO_ID;
    for (var i = lo + lid; i < hi; i += WG) {
        let v = logits[p.row0 + i];
        if (beats(v, i, best, best_i)) {
            best = v;
            best_i = i;
        }
    }
    let top = workgroup_argmax(lid, best, best_i);
    if (lid == 0u) {
        part[2u * wid.x] = bitcast<u32>(top.v);
        part[2u * wid.x + 1u] = top.i;
    }
}
