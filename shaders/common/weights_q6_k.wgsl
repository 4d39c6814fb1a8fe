// ggml Q6_K: { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d } (210 bytes), 256 weights in two
// halves n of 128, four quarters qt of 32 (the units): element 128n + 32qt + l has its low 4 bits
// in ql[64n + 32(qt & 1) + l] (high nibble when qt >= 2) and its top 2 bits at bit 2qt of
// qh[32n + l]; weight = d * scales[8n + 2qt + l / 16] * (q - 32).
const BLOCK_ELEMS: u32 = 256u;
const BLOCK_BYTES: u32 = 210u;

fn i8_at(o: u32) -> f32 {
    return f32((bitcast<i32>(w_u8(o)) << 24u) >> 24u);
}

fn q6(ql: u32, hi: bool, qh: u32, shift: u32) -> vec4<f32> {
    return codes4(nibbles4(ql, hi) | (((bytes4(qh) >> vec4<u32>(shift)) & vec4<u32>(3u)) << vec4<u32>(4u)));
}

// Unit u = quarter qt of half n: d * sc * (q - 32), sc changing after 16 weights.
fn unit_w(b: u32, u: u32) -> W32 {
    let n = u >> 2u;
    let qt = u & 3u;
    let hi = qt >= 2u;
    let ql = w_u32x8(b + 64u * n + 32u * (qt & 1u));
    let qh = w_u32x8(b + 128u + 32u * n);
    let sh = 2u * qt;
    let d = w_f16(b + 208u);
    let s0 = d * i8_at(b + 192u + 8u * n + 2u * qt);
    let s1 = d * i8_at(b + 193u + 8u * n + 2u * qt);
    return W32(s0 * (q6(ql.lo.x, hi, qh.lo.x, sh) - 32.0), s0 * (q6(ql.lo.y, hi, qh.lo.y, sh) - 32.0),
        s0 * (q6(ql.lo.z, hi, qh.lo.z, sh) - 32.0), s0 * (q6(ql.lo.w, hi, qh.lo.w, sh) - 32.0),
        s1 * (q6(ql.hi.x, hi, qh.hi.x, sh) - 32.0), s1 * (q6(ql.hi.y, hi, qh.hi.y, sh) - 32.0),
        s1 * (q6(ql.hi.z, hi, qh.hi.z, sh) - 32.0), s1 * (q6(ql.hi.w, hi, qh.hi.w, sh) - 32.0));
}
