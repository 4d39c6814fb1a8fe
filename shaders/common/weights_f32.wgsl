// f32 weights. A GPU block is 32 elements (rows zero-padded to whole blocks).
const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 128u;

fn wf4(i4: u32) -> vec4<f32> {
    return bitcast<vec4<f32>>(wq(i4));
}

// The 32 weights of unit u of the block at byte b (a multiple of 16: blocks of 128 bytes).
fn unit_w(b: u32, u: u32) -> W32 {
    let i = b >> 4u;
    return W32(wf4(i), wf4(i + 1u), wf4(i + 2u), wf4(i + 3u), wf4(i + 4u), wf4(i + 5u), wf4(i + 6u), wf4(i + 7u));
}
