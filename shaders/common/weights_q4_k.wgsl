// ggml Q4_K: { f16 d; f16 dmin; u8 scales[12]; u8 qs[128] } (144 bytes, word aligned), 256
// weights in four 64-element chunks c: element 64c + l (l < 32) is the low nibble of qs[32c + l],
// element 64c + 32 + l the high nibble; weight = d * sc * q - dmin * m for its 32-element
// sub-block (= unit).
const BLOCK_ELEMS: u32 = 256u;
const BLOCK_BYTES: u32 = 144u;

#include "common/kquant_scales.wgsl"

fn w_group(b: u32, j: u32) -> vec4<f32> {
    let c = j >> 4u;         // 64-element chunk
    let hi = (j & 8u) != 0u; // second sub-block of the chunk
    let l = 4u * (j & 7u);
    let sm = scale_min_k4(b, 2u * c + select(0u, 1u, hi));
    let q = nibbles4(w_u8x4(b + 16u + 32u * c + l), hi);
    return (w_f16(b) * sm.x) * vec4<f32>(q) - w_f16(b + 2u) * sm.y;
}

// Sub-block u: d * sc * sum(q x) - dmin * m * sum(x).
fn unit_dot(b: u32, u: u32, xs: X32) -> f32 {
    let i = (b >> 2u) + 4u + 8u * (u >> 1u);
    let hi = (u & 1u) != 0u;
    let q0 = vec4<u32>(w[i], w[i + 1u], w[i + 2u], w[i + 3u]);
    let q1 = vec4<u32>(w[i + 4u], w[i + 5u], w[i + 6u], w[i + 7u]);
    let s = nibble_dot32(q0, q1, hi, xs);
    let sm = scale_min_k4(b, u);
    let dd = w[b >> 2u];
    return half_to_f32(dd & 0xffffu) * sm.x * s - half_to_f32(dd >> 16u) * sm.y * xs.sum;
}
