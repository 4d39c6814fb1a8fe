// ggml Q4_0: { f16 d; u8 qs[16] } (18 bytes). Element l < 16 is the low nibble of qs[l], element
// l + 16 the high nibble; weight = (q - 8) * d.
const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 18u;

fn unit_w(b: u32, u: u32) -> W32 {
    let d = w_f16(b);
    return nibble_w(w_u32x4(b + 2u), 0u, d, -8.0 * d);
}
