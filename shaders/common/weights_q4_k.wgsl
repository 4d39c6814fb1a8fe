// ggml Q4_K: { f16 d; f16 dmin; u8 scales[12]; u8 qs[128] } (144 bytes, word aligned), 256
// weights in four 64-element chunks c: element 64c + l (l < 32) is the low nibble of qs[32c + l],
// element 64c + 32 + l the high nibble; weight = d * sc * q - dmin * m for its 32-element
// sub-block (= unit).
const BLOCK_ELEMS: u32 = 256u;
const BLOCK_BYTES: u32 = 144u;

#include "common/kquant_scales.wgsl"

// Sub-block u: d * sc * q - dmin * m.
fn unit_w(b: u32, u: u32) -> W32 {
    let i = (b >> 2u) + 4u + 8u * (u >> 1u);
    let hi = (u & 1u) != 0u;
    let sm = scale_min_k4(b, u);
    let dd = w[b >> 2u];
    let dm = halves(dd);
    let s = dm.x * sm.x;
    let m = dm.y * sm.y;
    return W32(k4(w[i], hi, s, m), k4(w[i + 1u], hi, s, m), k4(w[i + 2u], hi, s, m), k4(w[i + 3u], hi, s, m),
        k4(w[i + 4u], hi, s, m), k4(w[i + 5u], hi, s, m), k4(w[i + 6u], hi, s, m), k4(w[i + 7u], hi, s, m));
}

fn k4(q: u32, hi: bool, s: f32, m: f32) -> vec4<f32> {
    return s * codes4(nibbles4(q, hi)) - m;
}
