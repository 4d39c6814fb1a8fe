// Weight access for IEEE f16 weights packed two per u32 (element 2j in the low half).
// Decoded with integer ops: needs neither shader-f16 nor the f16-in-f32 pack builtins (GL lacks them).
alias WElem = u32;

fn f16_to_f32(h: u32) -> f32 {
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

fn w_at(i: u32) -> f32 {
    let word = w[i >> 1u];
    return f16_to_f32(select(word & 0xffffu, word >> 16u, (i & 1u) == 1u));
}

// Elements i and i + 1 (i even): one word.
fn w_pair(i: u32) -> vec2<f32> {
    let word = w[i >> 1u];
    return vec2<f32>(f16_to_f32(word & 0xffffu), f16_to_f32(word >> 16u));
}
