// ggml Q4_1: { f16 d; f16 m; u8 qs[16] } (20 bytes, always word aligned), nibbles as Q4_0;
// weight = q * d + m.
const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 20u;

fn unit_w(b: u32, u: u32) -> W32 {
    let i = b >> 2u;
    let dm = wd(i);
    let q = words4(i + 1u);
    let h = halves(dm);
    return nibble_w(q, 0u, h.x, h.y);
}
