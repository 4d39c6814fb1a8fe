// Byte access to a weight chunk holding ggml blocks exactly as GGUF stores them (blocks sit at
// any even byte offset). Included before every `weights_*.wgsl`. The chunk is `w: array<u32>`;
// with W_VEC4 (GPU layout, formats whose blocks are whole 16-byte vectors) `w4:
// array<vec4<u32>>`, read 16 bytes a load; with W_TEX (CPU adapters) `wt`, a texture of 16-byte
// texels in rows of TEX_W (a chunk of one row may be narrower). `wd` and `wq` read any of them.

#if W_TEX
const TEX_W: u32 = 1024u; // texels per texture row (gpu::weight_store::TEX_WIDTH)

// Texel i4: bytes 16 i4 .. 16 i4 + 16 of the chunk.
fn wq(i4: u32) -> vec4<u32> {
    return textureLoad(wt, vec2<u32>(i4 & (TEX_W - 1u), i4 / TEX_W), 0);
}

fn wd(i: u32) -> u32 {
    return wq(i >> 2u)[i & 3u];
}
#else
// Word i.
fn wd(i: u32) -> u32 {
#if W_VEC4
    return w4[i >> 2u][i & 3u];
#else
    return w[i];
#endif
}

// Words 4 i4 .. 4 i4 + 4 (a 16-byte aligned vector: only blocks at 16-byte offsets use it).
fn wq(i4: u32) -> vec4<u32> {
#if W_VEC4
    return w4[i4];
#else
    let i = 4u * i4;
    return vec4<u32>(w[i], w[i + 1u], w[i + 2u], w[i + 3u]);
#endif
}
#endif

fn w_u8(o: u32) -> u32 {
    return (wd(o >> 2u) >> ((o & 3u) * 8u)) & 0xffu;
}

// 16 bits at an even byte offset.
fn w_u16(o: u32) -> u32 {
    return (wd(o >> 2u) >> ((o & 2u) * 8u)) & 0xffffu;
}

// IEEE half bits -> f32 with integer ops (for adapters without the f16 pack builtins, such as
// Mesa's lavapipe without shader-f16).
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

// The two IEEE halves of a word (low half first) as f32, exactly: the pack builtin (HALF_PACK,
// where the adapter has it) or the integer ops above. (A native `bitcast<vec2<f16>>(v)` variant
// was tried: `doctor` found it wrong on Mesa lavapipe 22.3 for every format, so it is not used.)
fn halves(v: u32) -> vec2<f32> {
#if HALF_PACK
    return unpack2x16float(v);
#else
    return vec2<f32>(half_to_f32(v & 0xffffu), half_to_f32(v >> 16u));
#endif
}

// The half at an even byte offset.
fn w_f16(o: u32) -> f32 {
    let h = halves(wd(o >> 2u));
    return select(h.x, h.y, (o & 2u) != 0u);
}

// The four bytes of a word, as unsigned values.
fn bytes4(v: u32) -> vec4<u32> {
    return (vec4<u32>(v) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
}

// Small unsigned codes (< 2^31) as floats through i32: CPU adapters convert i32 in one vector
// instruction and u32 in several (AVX2 has no unsigned convert).
fn codes4(v: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(vec4<i32>(v));
}

// Low (hi = false) or high nibbles of the four bytes of a word.
fn nibbles4(v: u32, hi: bool) -> vec4<u32> {
    return (bytes4(v) >> vec4<u32>(select(0u, 4u, hi))) & vec4<u32>(0xfu);
}

// Signed bytes of a word.
fn sbytes4(v: u32) -> vec4<f32> {
    return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(v << 24u, v << 16u, v << 8u, v)) >> vec4<u32>(24u));
}

// Four / eight words at an even byte offset o (blocks of 18, 34, 210 bytes sit on 2-byte
// boundaries). Branch-free: neighbouring invocations may differ in alignment.
#if W_TEX
// Two (three) texel fetches, the words picked out with selects.
fn w_u32x4(o: u32) -> vec4<u32> {
    let t = o >> 4u;
    return shift_words(wq(t), wq(t + 1u), o);
}

fn w_u32x8(o: u32) -> W8 {
    let t = o >> 4u;
    let b = wq(t + 1u);
    return W8(shift_words(wq(t), b, o), shift_words(b, wq(t + 2u), o));
}

// The four words from byte o % 16 of the 32 bytes a | b.
fn shift_words(a: vec4<u32>, b: vec4<u32>, o: u32) -> vec4<u32> {
    let k = (o >> 2u) & 3u;
    let s = (o & 2u) * 8u;
    let a1 = vec4<u32>(a.yzw, b.x);
    let a2 = vec4<u32>(a.zw, b.xy);
    let a3 = vec4<u32>(a.w, b.xyz);
    let w0 = select(select(select(a, a1, k == 1u), a2, k == 2u), a3, k == 3u);
    let w1 = select(select(select(a1, a2, k == 1u), a3, k == 2u), b, k == 3u);
    return select((w0 >> vec4<u32>(s)) | (w1 << vec4<u32>(32u - s)), w0, s == 0u);
}
#else
fn w_u32x4(o: u32) -> vec4<u32> {
    let i = o >> 2u;
    let s = (o & 2u) * 8u;
    let a = vec4<u32>(wd(i), wd(i + 1u), wd(i + 2u), wd(i + 3u));
    let b = vec4<u32>(wd(i + 1u), wd(i + 2u), wd(i + 3u), wd(i + 4u));
    return select((a >> vec4<u32>(s)) | (b << vec4<u32>(32u - s)), a, s == 0u);
}

fn w_u32x8(o: u32) -> W8 {
    return W8(w_u32x4(o), w_u32x4(o + 16u));
}
#endif

// Words i .. i + 4 (blocks at word offsets).
fn words4(i: u32) -> vec4<u32> {
#if W_TEX
    return w_u32x4(4u * i);
#else
    return vec4<u32>(wd(i), wd(i + 1u), wd(i + 2u), wd(i + 3u));
#endif
}

struct W8 {
    lo: vec4<u32>,
    hi: vec4<u32>,
}

// The 32 weights of a unit, decoded (the matmul dots them with 32 activations of each token).
struct W32 {
    a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>,
    a4: vec4<f32>, a5: vec4<f32>, a6: vec4<f32>, a7: vec4<f32>,
}

// Bit 4 of the codes of elements e0 .. e0 + 4: bits e0 .. e0 + 4 of `qh` (Q5_0 / Q5_1).
fn high4(qh: u32, e0: u32) -> vec4<u32> {
    return ((vec4<u32>(qh) >> (vec4<u32>(e0) + vec4<u32>(0u, 1u, 2u, 3u))) & vec4<u32>(1u)) << vec4<u32>(4u);
}

// Q4_0 / Q4_1 / Q5_0 / Q5_1 layout: element l < 16 is the low nibble of byte l of `q`, l + 16
// the high one, and bit l of `qh` is its fifth bit (qh = 0 for the 4-bit formats);
// weight = q * d + m.
fn nibble_w(q: vec4<u32>, qh: u32, d: f32, m: f32) -> W32 {
    return W32(codes4(nibbles4(q.x, false) | high4(qh, 0u)) * d + m,
        codes4(nibbles4(q.y, false) | high4(qh, 4u)) * d + m,
        codes4(nibbles4(q.z, false) | high4(qh, 8u)) * d + m,
        codes4(nibbles4(q.w, false) | high4(qh, 12u)) * d + m,
        codes4(nibbles4(q.x, true) | high4(qh, 16u)) * d + m,
        codes4(nibbles4(q.y, true) | high4(qh, 20u)) * d + m,
        codes4(nibbles4(q.z, true) | high4(qh, 24u)) * d + m,
        codes4(nibbles4(q.w, true) | high4(qh, 28u)) * d + m);
}
