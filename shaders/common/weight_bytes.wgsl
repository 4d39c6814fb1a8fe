// Byte access to a weight buffer `w: array<u32>` holding ggml blocks exactly as GGUF stores
// them (blocks sit at any even byte offset). Included before every `weights_*.wgsl`.

// Four bytes at byte offset o (any alignment), little-endian.
fn w_u8x4(o: u32) -> u32 {
    let i = o >> 2u;
    let s = (o & 3u) * 8u;
    let lo = w[i];
    if (s == 0u) {
        return lo;
    }
    return (lo >> s) | (w[i + 1u] << (32u - s));
}

fn w_u8(o: u32) -> u32 {
    return (w[o >> 2u] >> ((o & 3u) * 8u)) & 0xffu;
}

// 16 bits at an even byte offset.
fn w_u16(o: u32) -> u32 {
    return (w[o >> 2u] >> ((o & 2u) * 8u)) & 0xffffu;
}

// IEEE half bits -> f32 with integer ops (no shader-f16, no pack builtins: GL lacks them).
fn half_to_f32(h: u32) -> f32 {
    let sign = (h & 0x8000u) << 16u;
    let e = (h >> 10u) & 0x1fu;
    let man = h & 0x3ffu;
    if (e == 0u) {
        let v = f32(man) * 5.9604645e-8; // subnormal: man * 2^-24
        return select(v, -v, sign != 0u);
    }
    if (e == 31u) {
        return bitcast<f32>(sign | 0x7f800000u | (man << 13u));
    }
    return bitcast<f32>(sign | ((e + 112u) << 23u) | (man << 13u));
}

fn w_f16(o: u32) -> f32 {
    return half_to_f32(w_u16(o));
}

// The four bytes of a word, as unsigned values.
fn bytes4(v: u32) -> vec4<u32> {
    return (vec4<u32>(v) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
}

// Low (hi = false) or high nibbles of the four bytes of a word.
fn nibbles4(v: u32, hi: bool) -> vec4<u32> {
    return (bytes4(v) >> vec4<u32>(select(0u, 4u, hi))) & vec4<u32>(0xfu);
}
