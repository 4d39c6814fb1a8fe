// ggml Q5_1: { f16 d; f16 m; u8 qh[4]; u8 qs[16] } (24 bytes, always word aligned). Q5_0's codes;
// weight = q * d + m.
const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 24u;

fn unit_w(b: u32, u: u32) -> W32 {
    let i = b >> 2u;
    let dm = wd(i);
    let q = words4(i + 2u);
    let h = halves(dm);
    return nibble_w(q, wd(i + 1u), h.x, h.y);
}
