// ggml Q5_K: { f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] } (176 bytes, word
// aligned): Q4_K's layout plus a fifth bit, bit u of qh[l] for element l of sub-block u.
const BLOCK_ELEMS: u32 = 256u;
const BLOCK_BYTES: u32 = 176u;

#include "common/kquant_scales.wgsl"

// The 5-bit codes of 4 elements: a nibble of `q` plus bit u of the bytes of `h`.
fn q5(q: u32, hi: bool, h: u32, u: u32) -> vec4<f32> {
    return codes4(nibbles4(q, hi) | (((bytes4(h) >> vec4<u32>(u)) & vec4<u32>(1u)) << vec4<u32>(4u)));
}

fn unit_w(b: u32, u: u32) -> W32 {
    let i = (b >> 2u) + 12u + 8u * (u >> 1u);
    let h = (b >> 2u) + 4u;
    let hi = (u & 1u) != 0u;
    let sm = scale_min_k4(b, u);
    let dd = w[b >> 2u];
    let dm = halves(dd);
    let s = dm.x * sm.x;
    let m = dm.y * sm.y;
    return W32(s * q5(w[i], hi, w[h], u) - m, s * q5(w[i + 1u], hi, w[h + 1u], u) - m,
        s * q5(w[i + 2u], hi, w[h + 2u], u) - m, s * q5(w[i + 3u], hi, w[h + 3u], u) - m,
        s * q5(w[i + 4u], hi, w[h + 4u], u) - m, s * q5(w[i + 5u], hi, w[h + 5u], u) - m,
        s * q5(w[i + 6u], hi, w[h + 6u], u) - m, s * q5(w[i + 7u], hi, w[h + 7u], u) - m);
}
