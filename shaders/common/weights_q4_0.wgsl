// ggml Q4_0: { f16 d; u8 qs[16] } (18 bytes). Element l < 16 is the low nibble of qs[l], element
// l + 16 the high nibble; weight = (q - 8) * d.
const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 18u;

fn w_group(b: u32, j: u32) -> vec4<f32> {
    let q = nibbles4(w_u8x4(b + 2u + 4u * (j & 3u)), j >= 4u);
    return (vec4<f32>(q) - 8.0) * w_f16(b);
}


fn unit_w(b: u32, u: u32) -> W32 {
    return nibble_w(w_u32x4(b + 2u), w_f16(b), -8.0 * w_f16(b));
}
