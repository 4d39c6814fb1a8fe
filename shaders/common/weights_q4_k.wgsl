// ggml Q4_K: { f16 d; f16 dmin; u8 scales[12]; u8 qs[128] } (144 bytes, word aligned), 256
// weights in four 64-element chunks c: element 64c + l (l < 32) is the low nibble of qs[32c + l],
// element 64c + 32 + l the high nibble; weight = d * sc * q - dmin * m for its 32-element
// sub-block (= unit).
const BLOCK_ELEMS: u32 = 256u;
const BLOCK_BYTES: u32 = 144u;

#include "common/kquant_scales.wgsl"

// Sub-block u: d * sc * q - dmin * m. Three 16-byte vectors: the head and the 32 bytes of qs
// whose low (even u) or high (odd u) nibbles are this sub-block.
fn unit_w(b: u32, u: u32) -> W32 {
    let i = b >> 4u;
    let sm = k_scale_min(wq(i), u);
    let q0 = wq(i + 1u + 2u * (u >> 1u));
    let q1 = wq(i + 2u + 2u * (u >> 1u));
    let hi = (u & 1u) != 0u;
    let s = sm.x;
    let m = sm.y;
    return W32(k4(q0.x, hi, s, m), k4(q0.y, hi, s, m), k4(q0.z, hi, s, m), k4(q0.w, hi, s, m),
        k4(q1.x, hi, s, m), k4(q1.y, hi, s, m), k4(q1.z, hi, s, m), k4(q1.w, hi, s, m));
}

fn k4(q: u32, hi: bool, s: f32, m: f32) -> vec4<f32> {
    return s * codes4(nibbles4(q, hi)) - m;
}
