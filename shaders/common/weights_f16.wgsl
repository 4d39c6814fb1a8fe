// IEEE f16 weights, two per word. A GPU block is 32 elements (rows zero-padded to whole blocks).
const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 64u;

// The four halves in words i and i + 1.
fn h4(i: u32) -> vec4<f32> {
    return vec4<f32>(halves(w[i]), halves(w[i + 1u]));
}

fn unit_w(b: u32, u: u32) -> W32 {
    let i = b >> 2u;
    return W32(h4(i), h4(i + 2u), h4(i + 4u), h4(i + 6u), h4(i + 8u), h4(i + 10u), h4(i + 12u), h4(i + 14u));
}
