// ggml Q6_K: { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d } (210 bytes), 256 weights in two
// halves n of 128, four quarters qt of 32: element 128n + 32qt + l has its low 4 bits in
// ql[64n + 32(qt & 1) + l] (high nibble when qt >= 2) and its top 2 bits at bit 2qt of
// qh[32n + l]; weight = d * scales[8n + l / 16 + 2qt] * (q - 32).
const BLOCK_ELEMS: u32 = 256u;
const BLOCK_BYTES: u32 = 210u;

fn w_group(b: u32, j: u32) -> vec4<f32> {
    let n = j >> 5u;
    let qt = (j >> 3u) & 3u;
    let l = 4u * (j & 7u);
    let lo = nibbles4(w_u8x4(b + 64u * n + 32u * (qt & 1u) + l), qt >= 2u);
    let top = (bytes4(w_u8x4(b + 128u + 32u * n + l)) >> vec4<u32>(2u * qt)) & vec4<u32>(3u);
    let q = vec4<f32>(vec4<i32>(lo | (top << vec4<u32>(4u)))) - 32.0;
    let sc = f32((bitcast<i32>(w_u8(b + 192u + 8u * n + l / 16u + 2u * qt)) << 24u) >> 24u);
    return (w_f16(b + 208u) * sc) * q;
}
