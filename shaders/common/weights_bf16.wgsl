// Weight access for bfloat16 weights packed two per u32 (element 2j in the low half).
// A bf16 is the upper 16 bits of an f32.
alias WElem = u32;

fn w_at(i: u32) -> f32 {
    let word = w[i >> 1u];
    return bitcast<f32>(select(word << 16u, word & 0xffff0000u, (i & 1u) == 1u));
}

// Elements i and i + 1 (i even): one word.
fn w_pair(i: u32) -> vec2<f32> {
    let word = w[i >> 1u];
    return vec2<f32>(bitcast<f32>(word << 16u), bitcast<f32>(word & 0xffff0000u));
}
