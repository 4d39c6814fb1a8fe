// ggml Q6_K: { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d } (210 bytes), 256 weights in two
// halves n of 128, four quarters qt of 32 (the units): element 128n + 32qt + l has its low 4 bits
// in ql[64n + 32(qt & 1) + l] (high nibble when qt >= 2) and its top 2 bits at bit 2qt of
// qh[32n + l]; weight = d * scales[8n + 2qt + l / 16] * (q - 32).
const BLOCK_ELEMS: u32 = 256u;
const BLOCK_BYTES: u32 = 210u;

fn i8_at(o: u32) -> f32 {
    return f32((bitcast<i32>(w_u8(o)) << 24u) >> 24u);
}

fn w_group(b: u32, j: u32) -> vec4<f32> {
    let n = j >> 5u;
    let qt = (j >> 3u) & 3u;
    let l = 4u * (j & 7u);
    let lo = nibbles4(w_u8x4(b + 64u * n + 32u * (qt & 1u) + l), qt >= 2u);
    let top = (bytes4(w_u8x4(b + 128u + 32u * n + l)) >> vec4<u32>(2u * qt)) & vec4<u32>(3u);
    let q = vec4<f32>(vec4<i32>(lo | (top << vec4<u32>(4u)))) - 32.0;
    return (w_f16(b + 208u) * i8_at(b + 192u + 8u * n + l / 16u + 2u * qt)) * q;
}

fn q6(ql: u32, hi: bool, qh: u32, shift: u32) -> vec4<f32> {
    return vec4<f32>(nibbles4(ql, hi) | (((bytes4(qh) >> vec4<u32>(shift)) & vec4<u32>(3u)) << vec4<u32>(4u)));
}

// d * (sc0 * sum_{l<16} q x + sc1 * sum_{l>=16} q x) - 32 d (sc0 sum_{l<16} x + sc1 sum_{l>=16} x)
fn unit_dot(b: u32, u: u32, xs: X32) -> f32 {
    let n = u >> 2u;
    let qt = u & 3u;
    let hi = qt >= 2u;
    let ql = w_u32x8(b + 64u * n + 32u * (qt & 1u));
    let qh = w_u32x8(b + 128u + 32u * n);
    let sh = 2u * qt;
    let s0 = dot(q6(ql.lo.x, hi, qh.lo.x, sh), xs.a0) + dot(q6(ql.lo.y, hi, qh.lo.y, sh), xs.a1)
        + dot(q6(ql.lo.z, hi, qh.lo.z, sh), xs.a2) + dot(q6(ql.lo.w, hi, qh.lo.w, sh), xs.a3);
    let s1 = dot(q6(ql.hi.x, hi, qh.hi.x, sh), xs.a4) + dot(q6(ql.hi.y, hi, qh.hi.y, sh), xs.a5)
        + dot(q6(ql.hi.z, hi, qh.hi.z, sh), xs.a6) + dot(q6(ql.hi.w, hi, qh.hi.w, sh), xs.a7);
    let x0 = dot((xs.a0 + xs.a1) + (xs.a2 + xs.a3), vec4<f32>(1.0));
    let x1 = xs.sum - x0;
    let sc0 = i8_at(b + 192u + 8u * n + 2u * qt);
    let sc1 = i8_at(b + 193u + 8u * n + 2u * qt);
    return w_f16(b + 208u) * (sc0 * (s0 - 32.0 * x0) + sc1 * (s1 - 32.0 * x1));
}
