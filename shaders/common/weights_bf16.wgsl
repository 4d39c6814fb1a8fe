// bfloat16 weights (the upper half of an f32), two per word. A GPU block is 32 elements.
const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 64u;

fn bf4(i: u32) -> vec4<f32> {
    let lo = w[i];
    let hi = w[i + 1u];
    return bitcast<vec4<f32>>(vec4<u32>(lo << 16u, lo & 0xffff0000u, hi << 16u, hi & 0xffff0000u));
}

fn w_group(b: u32, j: u32) -> vec4<f32> {
    return bf4((b >> 2u) + 2u * j);
}

fn unit_dot(b: u32, u: u32, xs: X32) -> f32 {
    let i = b >> 2u;
    return dot(bf4(i), xs.a0) + dot(bf4(i + 2u), xs.a1) + dot(bf4(i + 4u), xs.a2) + dot(bf4(i + 6u), xs.a3)
        + dot(bf4(i + 8u), xs.a4) + dot(bf4(i + 10u), xs.a5) + dot(bf4(i + 12u), xs.a6) + dot(bf4(i + 14u), xs.a7);
}
