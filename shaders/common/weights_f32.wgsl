// Weight access for f32 weights. The including shader declares `w: array<WElem>`.
alias WElem = f32;

fn w_at(i: u32) -> f32 {
    return w[i];
}
