//! Bilinear resampling with antialiasing on 8-bit images, exactly as torchvision's
//! `resize(uint8 tensor, antialias=True)` computes it (PyTorch's separable uint8 kernel, which
//! follows Pillow's `ImagingResample`): per output pixel a triangle filter stretched by the
//! downscale factor, weights normalised to sum 1 in f64, then rounded to int16 with the most
//! fractional bits that keep the largest weight below 2^15; each pass rounds half up and clamps
//! to 0..=255. The horizontal pass runs first, and a pass whose size does not change is skipped.

/// One output pixel's taps: the first input index and one fixed-point weight per input pixel.
struct Taps {
    start: usize,
    weights: Vec<i32>,
}

/// The fixed-point taps of a resample from `input` to `output` pixels, and their precision.
fn taps(input: usize, output: usize) -> (Vec<Taps>, u32) {
    let scale = input as f64 / output as f64;
    let (support, inv_scale) = if scale >= 1.0 { (scale, 1.0 / scale) } else { (1.0, 1.0) };
    let mut rows = Vec::with_capacity(output);
    let mut w_max = 0f64;
    for i in 0..output {
        let center = scale * (i as f64 + 0.5);
        // Truncation toward zero, as C's (int64_t) cast: center - support + 0.5 can be negative.
        let start = ((center - support + 0.5) as i64).max(0) as usize;
        let end = ((center + support + 0.5) as i64).min(input as i64) as usize;
        let mut w: Vec<f64> = (start..end)
            .map(|j| {
                let x = ((j as f64 - center + 0.5) * inv_scale).abs();
                if x < 1.0 {
                    1.0 - x
                } else {
                    0.0
                }
            })
            .collect();
        let total: f64 = w.iter().sum();
        let inv = if total != 0.0 { 1.0 / total } else { 0.0 };
        for v in &mut w {
            *v *= inv;
            w_max = w_max.max(*v);
        }
        rows.push((start, w));
    }
    let mut precision = 0u32;
    while precision < 22 && ((0.5 + w_max * f64::from(1u32 << (precision + 1))) as i64) < (1 << 15) {
        precision += 1;
    }
    let one = f64::from(1u32 << precision);
    let taps = rows
        .into_iter()
        .map(|(start, w)| Taps {
            start,
            weights: w
                .iter()
                .map(|&v| if v < 0.0 { (-0.5 + v * one) as i32 } else { (0.5 + v * one) as i32 })
                .collect(),
        })
        .collect();
    (taps, precision)
}

/// Resamples every line of a row-major plane to `out_len` pixels: its rows (`along_rows`, `lines`
/// rows of `len` pixels) or its columns (`lines` columns of `len` pixels).
fn pass(src: &[u8], lines: usize, len: usize, out_len: usize, along_rows: bool) -> Vec<u8> {
    let (taps, precision) = taps(len, out_len);
    let half = 1i32 << (precision.max(1) - 1);
    let mut out = vec![0u8; lines * out_len];
    for line in 0..lines {
        for (o, t) in taps.iter().enumerate() {
            let mut sum = half;
            for (k, &w) in t.weights.iter().enumerate() {
                let i = t.start + k;
                let px = if along_rows { src[line * len + i] } else { src[i * lines + line] };
                sum += i32::from(px) * w;
            }
            let v = (sum >> precision).clamp(0, 255) as u8;
            if along_rows {
                out[line * out_len + o] = v;
            } else {
                out[o * lines + line] = v;
            }
        }
    }
    out
}

/// Resizes one `height x width` channel plane (row-major) to `out_h x out_w`.
pub fn resize_plane(src: &[u8], height: usize, width: usize, out_h: usize, out_w: usize) -> Vec<u8> {
    debug_assert_eq!(src.len(), height * width);
    let mut cur = src.to_vec();
    if out_w != width {
        cur = pass(&cur, height, width, out_w, true);
    }
    if out_h != height {
        cur = pass(&cur, out_w, height, out_h, false);
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_and_constant_images_survive() {
        let img: Vec<u8> = (0..35).map(|i| (i * 7 % 256) as u8).collect();
        assert_eq!(resize_plane(&img, 5, 7, 5, 7), img);
        let flat = vec![200u8; 6 * 9];
        assert!(resize_plane(&flat, 6, 9, 13, 4).iter().all(|&v| v == 200));
    }

    #[test]
    fn halving_averages_pairs() {
        // 2:1 downscale: output i is centred on input 2i+1 with a triangle filter of radius 2,
        // so its taps weigh (1/4, 3/4, 3/4, 1/4), clipped at the borders and renormalised.
        let img = [0u8, 100, 200, 40];
        let out = resize_plane(&img, 1, 4, 1, 2);
        // Output 0: taps 0..3 with weights 3/4,3/4,1/4 over 7/4 -> (0*.75+100*.75+200*.25)/1.75.
        assert_eq!(out[0], ((0.0 * 0.75 + 100.0 * 0.75 + 200.0 * 0.25) / 1.75f64).round() as u8);
        assert_eq!(out[1], ((100.0 * 0.25 + 200.0 * 0.75 + 40.0 * 0.75) / 1.75f64).round() as u8);
    }
}
