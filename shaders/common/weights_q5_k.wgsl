// ggml Q5_K: { f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] } (176 bytes, word
// aligned): Q4_K's layout plus a fifth bit, bit u of qh[l] for element l of sub-block u.
const BLOCK_ELEMS: u32 = 256u;
const BLOCK_BYTES: u32 = 176u;

#include "common/kquant_scales.wgsl"

// The 5-bit codes of 4 elements: a nibble of `q` plus bit u of the bytes of `h`.
fn q5(q: u32, hi: bool, h: u32, u: u32) -> vec4<f32> {
    return codes4(nibbles4(q, hi) | (((bytes4(h) >> vec4<u32>(u)) & vec4<u32>(1u)) << vec4<u32>(4u)));
}

// Sub-block u: the head, qh (two vectors) and the 32 bytes of qs of its nibbles (two vectors).
fn unit_w(b: u32, u: u32) -> W32 {
    let i = b >> 4u;
    let sm = k_scale_min(wq(i), u);
    let h0 = wq(i + 1u);
    let h1 = wq(i + 2u);
    let q0 = wq(i + 3u + 2u * (u >> 1u));
    let q1 = wq(i + 4u + 2u * (u >> 1u));
    let hi = (u & 1u) != 0u;
    let s = sm.x;
    let m = sm.y;
    return W32(s * q5(q0.x, hi, h0.x, u) - m, s * q5(q0.y, hi, h0.y, u) - m, s * q5(q0.z, hi, h0.z, u) - m,
        s * q5(q0.w, hi, h0.w, u) - m, s * q5(q1.x, hi, h1.x, u) - m, s * q5(q1.y, hi, h1.y, u) - m,
        s * q5(q1.z, hi, h1.z, u) - m, s * q5(q1.w, hi, h1.w, u) - m);
}
