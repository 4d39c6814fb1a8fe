// f32 weights. A GPU block is 32 elements (rows zero-padded to whole blocks).
const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 128u;

fn wf4(i: u32) -> vec4<f32> {
    return bitcast<vec4<f32>>(vec4<u32>(w[i], w[i + 1u], w[i + 2u], w[i + 3u]));
}

// Elements 4j .. 4j + 3 of the block at byte offset b.
fn w_group(b: u32, j: u32) -> vec4<f32> {
    return wf4((b >> 2u) + 4u * j);
}

// dot(32-element unit u of the block at byte b, xs).
fn unit_dot(b: u32, u: u32, xs: X32) -> f32 {
    let i = b >> 2u;
    return dot(wf4(i), xs.a0) + dot(wf4(i + 4u), xs.a1) + dot(wf4(i + 8u), xs.a2) + dot(wf4(i + 12u), xs.a3)
        + dot(wf4(i + 16u), xs.a4) + dot(wf4(i + 20u), xs.a5) + dot(wf4(i + 24u), xs.a6) + dot(wf4(i + 28u), xs.a7);
}
