// IEEE f16 weights, two per word; a GPU block is 4 elements (rows zero-padded to whole blocks).
const BLOCK_ELEMS: u32 = 4u;
const BLOCK_BYTES: u32 = 8u;

fn w_group(b: u32, j: u32) -> vec4<f32> {
    let lo = w[b >> 2u];
    let hi = w[(b >> 2u) + 1u];
    return vec4<f32>(half_to_f32(lo & 0xffffu), half_to_f32(lo >> 16u), half_to_f32(hi & 0xffffu), half_to_f32(hi >> 16u));
}
