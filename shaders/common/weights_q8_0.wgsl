// ggml Q8_0: { f16 d; i8 qs[32] } (34 bytes), weight = q * d.
const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 34u;

// Elements 4j .. 4j + 3 of the block at byte offset b.
fn w_group(b: u32, j: u32) -> vec4<f32> {
    let v = w_u8x4(b + 2u + 4u * j);
    let q = bitcast<vec4<i32>>(vec4<u32>(v << 24u, v << 16u, v << 8u, v)) >> vec4<u32>(24u);
    return vec4<f32>(q) * w_f16(b);
}
