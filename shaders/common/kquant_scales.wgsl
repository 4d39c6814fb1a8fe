// The 6-bit scale and min of sub-block s (0..8) of a Q4_K / Q5_K block at byte offset b
// (`scales[12]` at b + 4), as ggml's get_scale_min_k4.
fn scale_min_k4(b: u32, s: u32) -> vec2<f32> {
    let o = b + 4u;
    if (s < 4u) {
        return vec2<f32>(f32(w_u8(o + s) & 63u), f32(w_u8(o + s + 4u) & 63u));
    }
    let sc = (w_u8(o + s + 4u) & 0xfu) | ((w_u8(o + s - 4u) >> 6u) << 4u);
    let m = (w_u8(o + s + 4u) >> 4u) | ((w_u8(o + s) >> 6u) << 4u);
    return vec2<f32>(f32(sc), f32(m));
}
