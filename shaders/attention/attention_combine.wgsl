// Merges SPLIT attention's slices (flash-decoding's second pass): slice j of (query t, head h)
// left its unnormalized output a_j (d floats), its running max m_j and sum l_j. With M the
// largest m_j: out = sum_j exp(m_j - M) a_j / sum_j exp(m_j - M) l_j. Empty slices (m_j = NEG,
// l_j = 0) add nothing. One workgroup per (t, h); lanes stride over the d outputs.

#include "common/attention_shape.wgsl"

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

#if ROW_LANE
// CPU adapters: one SIMD batch per (t, h) (64 lanes are 8 batches taking turns at the barriers)
const WG: u32 = 8u;
#else
const WG: u32 = 64u;
#endif
const MAX_SPLITS: u32 = 64u; // at least the most slices (MAX_SPLITS on the host)
const NEG: f32 = -3.0e38;

var<workgroup> maxes: array<f32, MAX_SPLITS>;
var<workgroup> sums: array<f32, MAX_SPLITS>;
// each slice's weight exp(m_j - M) / sum_k exp(m_k - M) l_k
var<workgroup> weights: array<f32, MAX_SPLITS>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let t = wid.x;
    let h = wid.y;
    let stride = p.d + 2u;
    let base = (t * p.nh + h) * p.splits * stride;
    // each slice's max and sum loaded once, by one lane (not split by split in every lane)
    for (var j = lid; j < p.splits; j += WG) {
        maxes[j] = part[base + j * stride + p.d];
        sums[j] = part[base + j * stride + p.d + 1u];
    }
    workgroupBarrier();
    var big = NEG;
    for (var j = 0u; j < p.splits; j++) {
        big = max(big, maxes[j]);
    }
    var sum = 0.0;
    for (var j = 0u; j < p.splits; j++) {
        sum += exp(maxes[j] - big) * sums[j];
    }
    for (var j = lid; j < p.splits; j += WG) {
        weights[j] = exp(maxes[j] - big) / sum;
    }
    workgroupBarrier();
    for (var i = lid; i < p.d; i += WG) {
        var a = 0.0;
        for (var j = 0u; j < p.splits; j++) {
            a += weights[j] * part[base + j * stride + i];
        }
        out[(t * p.nh + h) * p.d + i] = a;
    }
}
