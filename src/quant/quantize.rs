//! Quantize-on-load: ggml's reference quantizers (`quantize_row_{q8_0,q4_0,q4_K}_ref`, what
//! `llama-quantize` uses without an importance matrix), written from their definition so that a
//! safetensors checkpoint quantized here holds the same bytes `llama-quantize` writes for the same
//! f32 input. Every float operation keeps ggml's order (f32, no fused multiply-add), because the
//! K-quant search compares errors that differ in the last bit.

use super::blocks::{BlockQ4K, BlockQ4_0, BlockQ8_0};
use super::WeightFormat;
use half::f16;

/// The formats quantize-on-load writes.
pub const TARGETS: [WeightFormat; 3] = [WeightFormat::Q8_0, WeightFormat::Q4_0, WeightFormat::Q4K];

fn half_bits(x: f32) -> u16 {
    f16::from_f32(x).to_bits()
}

/// Round half to even, as ggml's `nearest_int` (exact for |x| < 2^22, the only range it sees).
fn nearest_int(x: f32) -> i32 {
    x.round_ties_even() as i32
}

/// Appends the blocks of `x` (whole blocks of `format`, one of [`TARGETS`]) to `out`.
pub fn quantize_row(format: WeightFormat, x: &[f32], out: &mut Vec<u8>) {
    debug_assert!(x.len().is_multiple_of(format.block_elems()));
    match format {
        WeightFormat::Q8_0 => x.chunks_exact(32).for_each(|b| out.extend_from_slice(bytemuck::bytes_of(&q8_0(b)))),
        WeightFormat::Q4_0 => x.chunks_exact(32).for_each(|b| out.extend_from_slice(bytemuck::bytes_of(&q4_0(b)))),
        WeightFormat::Q4K => x.chunks_exact(256).for_each(|b| out.extend_from_slice(bytemuck::bytes_of(&q4_k(b)))),
        f => unreachable!("quantize-on-load does not write {}", f.name()),
    }
}

/// `d = max|x| / 127`, `q = round(x / d)` (half away from zero).
fn q8_0(x: &[f32]) -> BlockQ8_0 {
    let amax = x.iter().fold(0.0f32, |a, v| if a > v.abs() { a } else { v.abs() });
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    BlockQ8_0 { d: half_bits(d), qs: std::array::from_fn(|j| (x[j] * id).round() as i8) }
}

/// `d = -m / 8` where `m` is the value of largest magnitude (the first one on ties), codes
/// `min(15, trunc(x / d + 8.5))`.
fn q4_0(x: &[f32]) -> BlockQ4_0 {
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in x {
        if amax < v.abs() {
            amax = v.abs();
            max = v;
        }
    }
    let d = max / -8.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let code = |v: f32| ((v * id + 8.5) as i8).min(15) as u8;
    BlockQ4_0 { d: half_bits(d), qs: std::array::from_fn(|j| code(x[j]) | (code(x[16 + j]) << 4)) }
}

/// Q4_K: each 32-element sub-block gets a scale and min from a weighted least-squares search
/// (`make_qkx2_quants`), then the scales and mins are quantized to 6 bits against the block's
/// largest, and the codes are recomputed from the rounded scales.
fn q4_k(x: &[f32]) -> BlockQ4K {
    let mut codes = [0u8; 256];
    let (mut scales, mut mins) = ([0.0f32; 8], [0.0f32; 8]);
    let (mut max_scale, mut max_min) = (0.0f32, 0.0f32);
    for j in 0..8 {
        let xs = &x[32 * j..32 * j + 32];
        let sum_x2 = xs.iter().fold(0.0f32, |s, &v| s + v * v);
        let av_x = (sum_x2 / 32.0).sqrt();
        let weights: [f32; 32] = std::array::from_fn(|l| av_x + xs[l].abs());
        let (scale, min) = fit_scale_min(xs, &weights, (&mut codes[32 * j..32 * j + 32]).try_into().unwrap());
        (scales[j], mins[j]) = (scale, min);
        if scale > max_scale {
            max_scale = scale;
        }
        if min > max_min {
            max_min = min;
        }
    }
    let inv_scale = if max_scale > 0.0 { 63.0 / max_scale } else { 0.0 };
    let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
    let mut packed = [0u8; 12];
    for j in 0..8 {
        // ggml stores these through a uint8_t before clamping: out-of-range values wrap first.
        let ls = (nearest_int(inv_scale * scales[j]) as u8).min(63);
        let lm = (nearest_int(inv_min * mins[j]) as u8).min(63);
        if j < 4 {
            packed[j] = ls;
            packed[j + 4] = lm;
        } else {
            packed[j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
            packed[j - 4] |= (ls >> 4) << 6;
            packed[j] |= (lm >> 4) << 6;
        }
    }
    let (d, dmin) = (half_bits(max_scale / 63.0), half_bits(max_min / 63.0));
    for j in 0..8 {
        let (sc, m) = super::blocks::scale_min_k4(j, &packed);
        let d = f16::from_bits(d).to_f32() * sc as f32;
        if d == 0.0 {
            continue; // keep the search's codes
        }
        let dm = f16::from_bits(dmin).to_f32() * m as f32;
        for i in 0..32 {
            codes[32 * j + i] = nearest_int((x[32 * j + i] + dm) / d).clamp(0, 15) as u8;
        }
    }
    let mut qs = [0u8; 128];
    for c in 0..4 {
        for l in 0..32 {
            qs[32 * c + l] = codes[64 * c + l] | (codes[64 * c + 32 + l] << 4);
        }
    }
    BlockQ4K { d, dmin, scales: packed, qs }
}

/// ggml's `make_qkx2_quants(32, 15, x, w, L, &min, Laux, -1, 0.1, 20, false)`: codes `L` in 0..=15
/// and `(scale, min)` with `x ≈ scale * L - min`, minimising the weighted squared error over a
/// starting guess and 21 trial scales. Returns `(scale, -offset)` as ggml does.
fn fit_scale_min(x: &[f32], w: &[f32; 32], codes: &mut [u8; 32]) -> (f32, f32) {
    const NMAX: i32 = 15;
    let (mut min, mut max) = (x[0], x[0]);
    let mut sum_w = w[0];
    let mut sum_x = sum_w * x[0];
    for i in 1..32 {
        if x[i] < min {
            min = x[i];
        }
        if x[i] > max {
            max = x[i];
        }
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if min > 0.0 {
        min = 0.0;
    }
    if max == min {
        codes.fill(0);
        return (0.0, -min);
    }
    // ggml updates `min` when a trial wins, and later trials start from it.
    let code = |iscale: f32, v: f32, min: f32| nearest_int(iscale * (v - min)).clamp(0, NMAX) as u8;
    let iscale = NMAX as f32 / (max - min);
    let mut scale = 1.0 / iscale;
    let mut best_error = 0.0f32;
    for i in 0..32 {
        codes[i] = code(iscale, x[i], min);
        let diff = scale * codes[i] as f32 + min - x[i];
        best_error += w[i] * (diff * diff);
    }
    let mut trial = [0u8; 32];
    for step in 0..=20 {
        let iscale = (-1.0 + 0.1 * step as f32 + NMAX as f32) / (max - min);
        let (mut sum_l, mut sum_l2, mut sum_xl) = (0.0f32, 0.0f32, 0.0f32);
        for i in 0..32 {
            trial[i] = code(iscale, x[i], min);
            let l = trial[i] as f32;
            sum_l += w[i] * l;
            sum_l2 += w[i] * l * l;
            sum_xl += w[i] * l * x[i];
        }
        let det = sum_w * sum_l2 - sum_l * sum_l;
        if det > 0.0 {
            let mut this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
            let mut this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
            if this_min > 0.0 {
                this_min = 0.0;
                this_scale = sum_xl / sum_l2;
            }
            let mut err = 0.0f32;
            for i in 0..32 {
                let diff = this_scale * trial[i] as f32 + this_min - x[i];
                err += w[i] * (diff * diff);
            }
            if err < best_error {
                *codes = trial;
                best_error = err;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    (scale, -min)
}
