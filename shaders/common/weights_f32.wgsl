// Weight access for f32 weights. The including shader declares `w: array<WElem>`.
alias WElem = f32;

fn w_at(i: u32) -> f32 {
    return w[i];
}

// Elements i and i + 1 (i even).
fn w_pair(i: u32) -> vec2<f32> {
    return vec2<f32>(w[i], w[i + 1u]);
}
