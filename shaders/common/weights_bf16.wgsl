// bfloat16 weights (the upper half of an f32), two per word; a GPU block is 4 elements.
const BLOCK_ELEMS: u32 = 4u;
const BLOCK_BYTES: u32 = 8u;

fn w_group(b: u32, j: u32) -> vec4<f32> {
    let lo = w[b >> 2u];
    let hi = w[(b >> 2u) + 1u];
    return bitcast<vec4<f32>>(vec4<u32>(lo << 16u, lo & 0xffff0000u, hi << 16u, hi & 0xffff0000u));
}
