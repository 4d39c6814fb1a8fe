// ggml Q8_0: { f16 d; i8 qs[32] } (34 bytes), weight = q * d.
const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 34u;

// Elements 4j .. 4j + 3 of the block at byte offset b.
fn w_group(b: u32, j: u32) -> vec4<f32> {
    return sbytes4(w_u8x4(b + 2u + 4u * j)) * w_f16(b);
}

fn unit_dot(b: u32, u: u32, xs: X32) -> f32 {
    let q = w_u32x8(b + 2u);
    let s = dot(sbytes4(q.lo.x), xs.a0) + dot(sbytes4(q.lo.y), xs.a1) + dot(sbytes4(q.lo.z), xs.a2)
        + dot(sbytes4(q.lo.w), xs.a3) + dot(sbytes4(q.hi.x), xs.a4) + dot(sbytes4(q.hi.y), xs.a5)
        + dot(sbytes4(q.hi.z), xs.a6) + dot(sbytes4(q.hi.w), xs.a7);
    return w_f16(b) * s;
}
