// A Q4_K / Q5_K block starts with 16 bytes { f16 d; f16 dmin; u8 scales[12] }: `head` is that
// vector (blocks of 144 and 176 bytes sit at 16-byte offsets).

// Byte j of `scales` in the block head.
fn k_scale_byte(head: vec4<u32>, j: u32) -> u32 {
    let word = select(select(head.w, head.z, j < 8u), head.y, j < 4u);
    return (word >> ((j & 3u) * 8u)) & 0xffu;
}

// The 6-bit scale and min of sub-block s (0..8), as ggml's get_scale_min_k4.
fn scale_min_k4(head: vec4<u32>, s: u32) -> vec2<f32> {
    if (s < 4u) {
        return vec2<f32>(f32(k_scale_byte(head, s) & 63u), f32(k_scale_byte(head, s + 4u) & 63u));
    }
    let sc = (k_scale_byte(head, s + 4u) & 0xfu) | ((k_scale_byte(head, s - 4u) >> 6u) << 4u);
    let m = (k_scale_byte(head, s + 4u) >> 4u) | ((k_scale_byte(head, s) >> 6u) << 4u);
    return vec2<f32>(f32(sc), f32(m));
}

// d * scale and dmin * min of sub-block s.
fn k_scale_min(head: vec4<u32>, s: u32) -> vec2<f32> {
    return halves(head.x) * scale_min_k4(head, s);
}
