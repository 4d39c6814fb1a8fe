// ggml Q5_0: { f16 d; u8 qh[4]; u8 qs[16] } (22 bytes, 2-byte aligned). Q4_0's nibbles, and bit
// l of qh is bit 4 of element l; weight = (q - 16) * d.
const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 22u;

fn unit_w(b: u32, u: u32) -> W32 {
    let d = w_f16(b);
    return nibble_w(w_u32x4(b + 6u), w_u16(b + 2u) | (w_u16(b + 4u) << 16u), d, -16.0 * d);
}
