// bfloat16 weights (the upper half of an f32), two per word. A GPU block is 32 elements.
const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 64u;

// The four bfloat16 values of words lo, hi.
fn bf4(lo: u32, hi: u32) -> vec4<f32> {
    return bitcast<vec4<f32>>(vec4<u32>(lo << 16u, lo & 0xffff0000u, hi << 16u, hi & 0xffff0000u));
}

// The block at byte b (a multiple of 16: blocks of 64 bytes) is four vectors.
fn unit_w(b: u32, u: u32) -> W32 {
    let i = b >> 4u;
    let a = wq(i);
    let c = wq(i + 1u);
    let d = wq(i + 2u);
    let e = wq(i + 3u);
    return W32(bf4(a.x, a.y), bf4(a.z, a.w), bf4(c.x, c.y), bf4(c.z, c.w), bf4(d.x, d.y), bf4(d.z, d.w),
        bf4(e.x, e.y), bf4(e.z, e.w));
}
