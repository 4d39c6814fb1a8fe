// ggml Q5_K: { f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] } (176 bytes): Q4_K's
// layout plus a fifth bit, bit 2c (low nibbles) or 2c + 1 (high nibbles) of qh[l].
const BLOCK_ELEMS: u32 = 256u;
const BLOCK_BYTES: u32 = 176u;

#include "common/kquant_scales.wgsl"

fn w_group(b: u32, j: u32) -> vec4<f32> {
    let c = j >> 4u;
    let hi = (j & 8u) != 0u;
    let l = 4u * (j & 7u);
    let sub = 2u * c + select(0u, 1u, hi);
    let sm = scale_min_k4(b, sub);
    let q = nibbles4(w_u8x4(b + 48u + 32u * c + l), hi) | (((bytes4(w_u8x4(b + 16u + l)) >> vec4<u32>(sub)) & vec4<u32>(1u)) << vec4<u32>(4u));
    return (w_f16(b) * sm.x) * vec4<f32>(q) - w_f16(b + 2u) * sm.y;
}
