//! Deterministic inputs for conformance checks and tests: pseudo-random activations, valid random
//! blocks of every weight format, and the error measure every check reports.

use crate::quant::WeightFormat;
use crate::reference::ops::pcg;

/// Deterministic pseudo-random values in [-1, 1).
pub fn rand_vec(n: usize, seed: u32) -> Vec<f32> {
    (0..n as u32).map(|i| (pcg(i.wrapping_mul(2654435761) ^ seed) >> 8) as f32 / 8388608.0 - 1.0).collect()
}

/// `n` weights of a block format as random but valid blocks: random quant bits, and small
/// random scales (the f16 fields) so values stay in a realistic range.
pub fn random_blocks(f: WeightFormat, n: usize, seed: u32) -> Vec<u8> {
    use WeightFormat as W;
    let bytes = f.bytes_for(n).expect("whole blocks");
    let mut out: Vec<u8> = (0..bytes as u32).map(|i| (pcg(i.wrapping_mul(2654435761) ^ seed) >> 13) as u8).collect();
    // byte offsets of the f16 scale fields inside one block
    let halves: &[usize] = match f {
        W::Q8_0 | W::Q4_0 | W::Q5_0 => &[0],
        W::Q4_1 | W::Q5_1 | W::Q4K | W::Q5K => &[0, 2],
        W::Q6K => &[208],
        _ => &[],
    };
    for (b, block) in out.chunks_exact_mut(f.block_bytes()).enumerate() {
        for (j, &o) in halves.iter().enumerate() {
            let r = pcg((b * 7 + j) as u32 ^ seed.rotate_left(7));
            let v = (0.002 + (r % 1000) as f32 * 2e-5) * if r & 0x10000 != 0 { -1.0 } else { 1.0 };
            block[o..o + 2].copy_from_slice(&half::f16::from_f32(v).to_le_bytes());
        }
    }
    out
}

/// `data` stored in `format` (block formats: random valid blocks seeded from `data`), and the
/// f32 values the stored bytes stand for (the CPU reference dequantization).
pub fn stored_weights(data: &[f32], format: WeightFormat) -> (Vec<u8>, Vec<f32>) {
    match format {
        WeightFormat::F32 => (bytemuck::cast_slice(data).to_vec(), data.to_vec()),
        WeightFormat::F16 => {
            let h: Vec<half::f16> = data.iter().map(|&v| half::f16::from_f32(v)).collect();
            (bytemuck::cast_slice(&h).to_vec(), h.iter().map(|v| v.to_f32()).collect())
        }
        WeightFormat::Bf16 => {
            let h: Vec<half::bf16> = data.iter().map(|&v| half::bf16::from_f32(v)).collect();
            (bytemuck::cast_slice(&h).to_vec(), h.iter().map(|v| v.to_f32()).collect())
        }
        q => {
            let bytes = random_blocks(q, data.len(), (data[0].to_bits() ^ data.len() as u32) | 1);
            let mut want = vec![0.0; data.len()];
            q.dequantize(&bytes, &mut want);
            (bytes, want)
        }
    }
}

/// max |got - want| / max |want|; infinite when the lengths differ or `got` holds a NaN or an
/// infinity (a kernel that read what it must not, or wrote nothing).
pub fn rel_err(got: &[f32], want: &[f32]) -> f64 {
    if got.len() != want.len() || got.iter().any(|x| !x.is_finite()) {
        return f64::INFINITY;
    }
    let num = got.iter().zip(want).map(|(x, y)| (x - y).abs() as f64).fold(0.0, f64::max);
    let den = want.iter().map(|y| y.abs() as f64).fold(0.0, f64::max);
    num / den.max(1e-30)
}

/// Elements that differ (exact checks: gathers, copies, integer outputs).
pub fn mismatches<T: PartialEq>(got: &[T], want: &[T]) -> f64 {
    if got.len() != want.len() {
        return f64::INFINITY;
    }
    got.iter().zip(want).filter(|(a, b)| a != b).count() as f64
}
