// IEEE f16 weights, two per word. A GPU block is 32 elements (rows zero-padded to whole blocks).
const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 64u;

// The eight halves of a 16-byte vector, as two vec4.
fn h8(q: vec4<u32>) -> array<vec4<f32>, 2> {
    return array<vec4<f32>, 2>(vec4<f32>(halves(q.x), halves(q.y)), vec4<f32>(halves(q.z), halves(q.w)));
}

// The block at byte b (a multiple of 16: blocks of 64 bytes) is four vectors.
fn unit_w(b: u32, u: u32) -> W32 {
    let i = b >> 4u;
    let a = h8(wq(i));
    let c = h8(wq(i + 1u));
    let d = h8(wq(i + 2u));
    let e = h8(wq(i + 3u));
    return W32(a[0], a[1], c[0], c[1], d[0], d[1], e[0], e[1]);
}
