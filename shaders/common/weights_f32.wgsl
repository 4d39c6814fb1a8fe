// f32 weights; a GPU block is 4 elements (rows zero-padded to whole blocks).
const BLOCK_ELEMS: u32 = 4u;
const BLOCK_BYTES: u32 = 16u;

fn w_group(b: u32, j: u32) -> vec4<f32> {
    let i = b >> 2u;
    return bitcast<vec4<f32>>(vec4<u32>(w[i], w[i + 1u], w[i + 2u], w[i + 3u]));
}
