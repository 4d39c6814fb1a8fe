// IEEE f16 weights, two per word. A GPU block is 32 elements (rows zero-padded to whole blocks).
const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 64u;

// The four halves in words i and i + 1.
fn h4(i: u32) -> vec4<f32> {
    let lo = w[i];
    let hi = w[i + 1u];
    return vec4<f32>(half_to_f32(lo & 0xffffu), half_to_f32(lo >> 16u), half_to_f32(hi & 0xffffu), half_to_f32(hi >> 16u));
}

fn w_group(b: u32, j: u32) -> vec4<f32> {
    return h4((b >> 2u) + 2u * j);
}

fn unit_dot(b: u32, u: u32, xs: X32) -> f32 {
    let i = b >> 2u;
    return dot(h4(i), xs.a0) + dot(h4(i + 2u), xs.a1) + dot(h4(i + 4u), xs.a2) + dot(h4(i + 6u), xs.a3)
        + dot(h4(i + 8u), xs.a4) + dot(h4(i + 10u), xs.a5) + dot(h4(i + 12u), xs.a6) + dot(h4(i + 14u), xs.a7);
}
