// bfloat16 weights (the upper half of an f32), two per word. A GPU block is 32 elements.
const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 64u;

fn bf4(i: u32) -> vec4<f32> {
    let lo = w[i];
    let hi = w[i + 1u];
    return bitcast<vec4<f32>>(vec4<u32>(lo << 16u, lo & 0xffff0000u, hi << 16u, hi & 0xffff0000u));
}

fn unit_w(b: u32, u: u32) -> W32 {
    let i = b >> 2u;
    return W32(bf4(i), bf4(i + 2u), bf4(i + 4u), bf4(i + 6u), bf4(i + 8u), bf4(i + 10u), bf4(i + 12u), bf4(i + 14u));
}
