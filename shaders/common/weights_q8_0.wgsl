// ggml Q8_0: { f16 d; i8 qs[32] } (34 bytes), weight = q * d.
const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 34u;

fn unit_w(b: u32, u: u32) -> W32 {
    let q = w_u32x8(b + 2u);
    let d = w_f16(b);
    return W32(sbytes4(q.lo.x) * d, sbytes4(q.lo.y) * d, sbytes4(q.lo.z) * d, sbytes4(q.lo.w) * d,
        sbytes4(q.hi.x) * d, sbytes4(q.hi.y) * d, sbytes4(q.hi.z) * d, sbytes4(q.hi.w) * d);
}
