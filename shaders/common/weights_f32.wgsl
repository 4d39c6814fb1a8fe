// f32 weights. A GPU block is 32 elements (rows zero-padded to whole blocks).
const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 128u;

fn wf4(i: u32) -> vec4<f32> {
    return bitcast<vec4<f32>>(vec4<u32>(w[i], w[i + 1u], w[i + 2u], w[i + 3u]));
}

// The 32 weights of unit u of the block at byte b.
fn unit_w(b: u32, u: u32) -> W32 {
    let i = b >> 2u;
    return W32(wf4(i), wf4(i + 4u), wf4(i + 8u), wf4(i + 12u), wf4(i + 16u), wf4(i + 20u), wf4(i + 24u), wf4(i + 28u));
}
