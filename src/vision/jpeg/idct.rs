//! jidctint.c's "islow" inverse DCT, as libjpeg-turbo computes it (64-bit intermediates, like
//! its `JLONG`), and its output range limit.

const CONST_BITS: i64 = 13;
const PASS1_BITS: i64 = 2;
const F_0_298: i64 = 2446;
const F_0_390: i64 = 3196;
const F_0_541: i64 = 4433;
const F_0_765: i64 = 6270;
const F_0_899: i64 = 7373;
const F_1_175: i64 = 9633;
const F_1_501: i64 = 12299;
const F_1_847: i64 = 15137;
const F_1_961: i64 = 16069;
const F_2_053: i64 = 16819;
const F_2_562: i64 = 20995;
const F_3_072: i64 = 25172;

fn descale(x: i64, n: i64) -> i64 {
    (x + (1 << (n - 1))) >> n
}

/// libjpeg's IDCT range limit: `x + 128` clamped, with its 10-bit wrap for wild values.
fn range_limit(x: i64) -> u8 {
    let v = (x & 0x3FF) as u32;
    match v {
        0..=127 => (v + 128) as u8,
        128..=383 => 255,
        384..=895 => 0,
        _ => (v - 896) as u8,
    }
}

/// The even and odd halves of one 1D islow pass over `s` (already dequantized); returns the 8
/// outputs before descaling, the even part scaled by `CONST_BITS`.
fn islow_1d(s: [i64; 8]) -> [i64; 8] {
    let z1 = (s[2] + s[6]) * F_0_541;
    let tmp2 = z1 + s[6] * -F_1_847;
    let tmp3 = z1 + s[2] * F_0_765;
    let tmp0 = (s[0] + s[4]) << CONST_BITS;
    let tmp1 = (s[0] - s[4]) << CONST_BITS;
    let (t10, t13, t11, t12) = (tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2);
    let (mut o0, mut o1, mut o2, mut o3) = (s[7], s[5], s[3], s[1]);
    let (z1, z2, z3, z4) = (o0 + o3, o1 + o2, o0 + o2, o1 + o3);
    let z5 = (z3 + z4) * F_1_175;
    o0 *= F_0_298;
    o1 *= F_2_053;
    o2 *= F_3_072;
    o3 *= F_1_501;
    let (z1, z2) = (z1 * -F_0_899, z2 * -F_2_562);
    let (z3, z4) = (z3 * -F_1_961 + z5, z4 * -F_0_390 + z5);
    o0 += z1 + z3;
    o1 += z2 + z4;
    o2 += z2 + z3;
    o3 += z1 + z4;
    [t10 + o3, t11 + o2, t12 + o1, t13 + o0, t13 - o0, t12 - o1, t11 - o2, t10 - o3]
}

/// `jpeg_idct_islow`: coefficients in natural order times their quantizers.
pub(super) fn islow(coef: &[i32; 64], out: &mut [u8], stride: usize) {
    let mut ws = [0i64; 64];
    for c in 0..8 {
        let col: [i64; 8] = std::array::from_fn(|r| i64::from(coef[r * 8 + c]));
        if col[1..].iter().all(|&v| v == 0) {
            let dc = col[0] << PASS1_BITS;
            for r in 0..8 {
                ws[r * 8 + c] = dc;
            }
            continue;
        }
        let o = islow_1d(col);
        for r in 0..8 {
            ws[r * 8 + c] = descale(o[r], CONST_BITS - PASS1_BITS);
        }
    }
    for r in 0..8 {
        let row: [i64; 8] = std::array::from_fn(|c| ws[r * 8 + c]);
        let dst = &mut out[r * stride..r * stride + 8];
        if row[1..].iter().all(|&v| v == 0) {
            let v = range_limit(descale(row[0], PASS1_BITS + 3));
            dst.fill(v);
            continue;
        }
        let o = islow_1d(row);
        for c in 0..8 {
            dst[c] = range_limit(descale(o[c], CONST_BITS + PASS1_BITS + 3));
        }
    }
}
