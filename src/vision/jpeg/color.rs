//! From component planes to RGB: jdsample.c's upsampling (fancy triangle filters for 2x1 and
//! 2x2, replication for rows of 2 samples or fewer) and jdcolor.c's fixed-point YCbCr.

use super::{Component, Decoded, Frame};

/// jdsample.c's h2v1 fancy upsampling of one row of `w` samples into `2w`.
fn h2v1_row(src: &[u8], w: usize, out: &mut [u8]) {
    if w == 1 {
        out[0] = src[0];
        out[1] = src[0];
        return;
    }
    let s = |i: usize| i32::from(src[i]);
    out[0] = src[0];
    out[1] = ((s(0) * 3 + s(1) + 2) >> 2) as u8;
    for i in 1..w - 1 {
        let v = s(i) * 3;
        out[2 * i] = ((v + s(i - 1) + 1) >> 2) as u8;
        out[2 * i + 1] = ((v + s(i + 1) + 2) >> 2) as u8;
    }
    let v = s(w - 1);
    out[2 * w - 2] = ((v * 3 + s(w - 2) + 1) >> 2) as u8;
    out[2 * w - 1] = v as u8;
}

/// jdsample.c's h2v2 fancy upsampling of row `near` with its neighbour `far` into one output row.
fn h2v2_row(near: &[u8], far: &[u8], w: usize, out: &mut [u8]) {
    let col = |i: usize| i32::from(near[i]) * 3 + i32::from(far[i]);
    if w == 1 {
        let t = col(0);
        out[0] = ((t * 4 + 8) >> 4) as u8;
        out[1] = ((t * 4 + 7) >> 4) as u8;
        return;
    }
    let mut this = col(0);
    let mut next = col(1);
    out[0] = ((this * 4 + 8) >> 4) as u8;
    out[1] = ((this * 3 + next + 7) >> 4) as u8;
    let mut last;
    for i in 1..w - 1 {
        last = this;
        this = next;
        next = col(i + 1);
        out[2 * i] = ((this * 3 + last + 8) >> 4) as u8;
        out[2 * i + 1] = ((this * 3 + next + 7) >> 4) as u8;
    }
    last = this;
    this = next;
    out[2 * w - 2] = ((this * 3 + last + 8) >> 4) as u8;
    out[2 * w - 1] = ((this * 4 + 7) >> 4) as u8;
}

/// A component upsampled to full resolution (`width x height`), libjpeg's way.
fn full_plane(c: &Component, f: &Frame) -> Vec<u8> {
    let stride = c.bw * 8;
    let (w, h) = ((f.width * c.h).div_ceil(f.hmax), (f.height * c.v).div_ceil(f.vmax));
    let (sx, sy) = (f.hmax / c.h, f.vmax / c.v);
    let mut out = vec![0u8; f.width * f.height];
    let mut row = vec![0u8; 2 * w + 2];
    // libjpeg filters only rows of more than 2 samples; narrower ones are replicated.
    let fancy = w > 2;
    for y in 0..f.height {
        let dst = &mut out[y * f.width..(y + 1) * f.width];
        match (sx, sy) {
            (1, 1) => dst.copy_from_slice(&c.plane[y * stride..y * stride + f.width]),
            _ if !fancy => {
                let src = &c.plane[(y / sy) * stride..];
                for (x, d) in dst.iter_mut().enumerate() {
                    *d = src[x / sx];
                }
            }
            (2, 1) => {
                h2v1_row(&c.plane[y * stride..], w, &mut row);
                dst.copy_from_slice(&row[..f.width]);
            }
            _ => {
                // Output rows 2r and 2r+1 come from input row r and the row above or below it
                // (the edge rows are their own neighbours).
                let r = y / 2;
                let far = if y % 2 == 0 { r.saturating_sub(1) } else { (r + 1).min(h - 1) };
                h2v2_row(&c.plane[r * stride..], &c.plane[far * stride..], w, &mut row);
                dst.copy_from_slice(&row[..f.width]);
            }
        }
    }
    out
}

/// jdcolor.c's YCbCr -> RGB in 16-bit fixed point.
pub(super) fn to_rgb(f: &Frame) -> Decoded {
    let n = f.width * f.height;
    let mut rgb = vec![0u8; n * 3];
    if f.comps.len() == 1 {
        let y = full_plane(&f.comps[0], f);
        for (i, &v) in y.iter().enumerate() {
            rgb[3 * i..3 * i + 3].fill(v);
        }
        return Decoded { width: f.width, height: f.height, rgb };
    }
    let planes: Vec<Vec<u8>> = f.comps.iter().map(|c| full_plane(c, f)).collect();
    const ONE_HALF: i64 = 1 << 15;
    let fix = |x: f64| (x * 65536.0 + 0.5) as i64;
    for i in 0..n {
        let (y, cb, cr) = (i64::from(planes[0][i]), i64::from(planes[1][i]) - 128, i64::from(planes[2][i]) - 128);
        let r = y + ((fix(1.40200) * cr + ONE_HALF) >> 16);
        let g = y + ((-fix(0.34414) * cb + ONE_HALF - fix(0.71414) * cr) >> 16);
        let b = y + ((fix(1.77200) * cb + ONE_HALF) >> 16);
        rgb[3 * i] = r.clamp(0, 255) as u8;
        rgb[3 * i + 1] = g.clamp(0, 255) as u8;
        rgb[3 * i + 2] = b.clamp(0, 255) as u8;
    }
    Decoded { width: f.width, height: f.height, rgb }
}
