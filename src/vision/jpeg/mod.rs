//! A JPEG decoder that gives libjpeg-turbo's pixels (what Pillow, and so transformers,
//! decodes with): its default "islow" integer IDCT (the Loeffler-Ligtenberg-Moschytz algorithm
//! with 13-bit constants and 2 extra bits in the first pass), "fancy" triangle-filter chroma
//! upsampling for 2x1 and 2x2 subsampling, and its fixed-point YCbCr tables. Huffman JPEGs,
//! sequential or progressive, with one (gray) or three (YCbCr) 8-bit components and sampling
//! factors 1 or 2 take this path; anything else (arithmetic coding, CMYK, other sampling) returns
//! `None` and is decoded by the `image` crate instead.

/// 8-bit RGB, interleaved, `width * height * 3` bytes.
pub struct Decoded {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
}

mod color;
mod entropy;
mod idct;

use entropy::{jcoef, scan_data, Huffman};

/// Zigzag position -> natural (row-major) position in a block.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
    28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54,
    47, 55, 62, 63,
];

#[derive(Clone)]
pub(crate) struct Component {
    id: u8,
    h: usize,
    v: usize,
    tq: usize,
    /// Blocks across and down in the padded plane (whole MCUs).
    bw: usize,
    bh: usize,
    /// Samples, `bw * 8` wide.
    plane: Vec<u8>,
    /// Progressive JPEGs: every block's quantized coefficients (natural order) until the end.
    coefs: Vec<i32>,
    dc_table: usize,
    ac_table: usize,
    pred: i32,
}

pub(crate) struct Frame {
    width: usize,
    height: usize,
    comps: Vec<Component>,
    hmax: usize,
    vmax: usize,
    progressive: bool,
}

/// A scan's spectral band and successive-approximation bits (progressive JPEGs).
#[derive(Clone, Copy)]
pub(crate) struct Band {
    ss: usize,
    se: usize,
    ah: u32,
    al: u32,
}

/// Decodes `data`; `None` when the file is not a JPEG this decoder takes (the caller
/// falls back), or is broken (the fallback then reports the error).
pub fn decode(data: &[u8]) -> Option<Decoded> {
    if data.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut qt = [[0i32; 64]; 4];
    let mut dc = vec![Huffman::default(); 4];
    let mut ac = vec![Huffman::default(); 4];
    let mut frame: Option<Frame> = None;
    let mut restart_interval = 0usize;
    let mut adobe_transform: Option<u8> = None;
    let mut pos = 2;
    loop {
        while *data.get(pos)? != 0xFF {
            pos += 1;
        }
        while *data.get(pos)? == 0xFF {
            pos += 1;
        }
        let marker = *data.get(pos)?;
        pos += 1;
        if marker == 0xD9 {
            break;
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            continue;
        }
        let len = u16::from_be_bytes([*data.get(pos)?, *data.get(pos + 1)?]) as usize;
        let seg = data.get(pos + 2..pos + len)?;
        pos += len;
        match marker {
            0xDB => {
                let mut s = seg;
                while !s.is_empty() {
                    let (pq, tq) = ((s[0] >> 4) as usize, (s[0] & 15) as usize);
                    if tq > 3 {
                        return None;
                    }
                    let n = if pq == 0 { 64 } else { 128 };
                    let vals = s.get(1..1 + n)?;
                    for k in 0..64 {
                        qt[tq][ZIGZAG[k]] = if pq == 0 {
                            vals[k] as i32
                        } else {
                            u16::from_be_bytes([vals[2 * k], vals[2 * k + 1]]) as i32
                        };
                    }
                    s = &s[1 + n..];
                }
            }
            0xC4 => {
                let mut s = seg;
                while !s.is_empty() {
                    let (class, th) = (s[0] >> 4, (s[0] & 15) as usize);
                    let counts: [u8; 16] = s.get(1..17)?.try_into().ok()?;
                    let n: usize = counts.iter().map(|&c| c as usize).sum();
                    let symbols = s.get(17..17 + n)?.to_vec();
                    if th > 3 {
                        return None;
                    }
                    let h = Huffman::new(&counts, symbols);
                    if class == 0 {
                        dc[th] = h;
                    } else {
                        ac[th] = h;
                    }
                    s = &s[17 + n..];
                }
            }
            0xDD => restart_interval = u16::from_be_bytes([*seg.first()?, *seg.get(1)?]) as usize,
            0xEE if seg.starts_with(b"Adobe") => adobe_transform = seg.get(11).copied(),
            0xC0..=0xC2 => {
                let hdr = seg.get(..6)?;
                if hdr[0] != 8 {
                    return None;
                }
                let height = u16::from_be_bytes([hdr[1], hdr[2]]) as usize;
                let width = u16::from_be_bytes([hdr[3], hdr[4]]) as usize;
                let n = hdr[5] as usize;
                let pixels = (width * height) as u64;
                if pixels == 0 || pixels > super::image::MAX_PIXELS || !(n == 1 || n == 3) || frame.is_some() {
                    return None;
                }
                let mut comps = vec![];
                for i in 0..n {
                    let c = seg.get(6 + 3 * i..9 + 3 * i)?;
                    let (h, v) = ((c[1] >> 4) as usize, (c[1] & 15) as usize);
                    if !(1..=2).contains(&h) || !(1..=2).contains(&v) || c[2] > 3 {
                        return None;
                    }
                    comps.push(Component {
                        id: c[0],
                        h,
                        v,
                        tq: c[2] as usize,
                        bw: 0,
                        bh: 0,
                        plane: vec![],
                        coefs: vec![],
                        dc_table: 0,
                        ac_table: 0,
                        pred: 0,
                    });
                }
                let hmax = comps.iter().map(|c| c.h).max()?;
                let vmax = comps.iter().map(|c| c.v).max()?;
                // Only the layouts libjpeg upsamples with its fancy filters (or not at all).
                if n == 1 && (comps[0].h, comps[0].v) != (1, 1) {
                    comps[0].h = 1;
                    comps[0].v = 1;
                }
                if n == 3 {
                    let luma_only =
                        comps[1..].iter().all(|c| (c.h, c.v) == (1, 1)) && (comps[0].h, comps[0].v) == (hmax, vmax);
                    if !luma_only || vmax > hmax {
                        return None;
                    }
                }
                let (hmax, vmax) = if n == 1 { (1, 1) } else { (hmax, vmax) };
                let mcux = width.div_ceil(8 * hmax);
                let mcuy = height.div_ceil(8 * vmax);
                let progressive = marker == 0xC2;
                for c in &mut comps {
                    c.bw = mcux * c.h;
                    c.bh = mcuy * c.v;
                    c.plane = vec![0; c.bw * 8 * c.bh * 8];
                    if progressive {
                        c.coefs = vec![0; c.bw * c.bh * 64];
                    }
                }
                frame = Some(Frame { width, height, comps, hmax, vmax, progressive });
            }
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return None,
            0xDA => {
                let f = frame.as_mut()?;
                let ns = *seg.first()? as usize;
                let mut scan = vec![];
                for i in 0..ns {
                    let (id, t) = (*seg.get(1 + 2 * i)?, *seg.get(2 + 2 * i)?);
                    let ci = f.comps.iter().position(|c| c.id == id)?;
                    let (td, ta) = ((t >> 4) as usize, (t & 15) as usize);
                    if td > 3 || ta > 3 {
                        return None;
                    }
                    f.comps[ci].dc_table = td;
                    f.comps[ci].ac_table = ta;
                    scan.push(ci);
                }
                let band = Band {
                    ss: *seg.get(1 + 2 * ns)? as usize,
                    se: *seg.get(2 + 2 * ns)? as usize,
                    ah: u32::from(*seg.get(3 + 2 * ns)? >> 4),
                    al: u32::from(*seg.get(3 + 2 * ns)? & 15),
                };
                if f.progressive
                    && (band.se > 63 || band.ss > band.se || (band.ss == 0 && band.se != 0) || (band.ss > 0 && ns != 1))
                {
                    return None;
                }
                let end = scan_data(&data[pos..], f, &scan, &qt, (&dc, &ac), restart_interval, band)?;
                pos += end;
            }
            _ => {}
        }
    }
    let mut f = frame?;
    if f.comps.len() == 3 && adobe_transform == Some(0) {
        return None; // RGB stored as is: rare, left to the fallback
    }
    if f.progressive {
        for c in &mut f.comps {
            let q = &qt[c.tq];
            let stride = c.bw * 8;
            for b in 0..c.bw * c.bh {
                let coef: [i32; 64] = std::array::from_fn(|i| jcoef(c.coefs[b * 64 + i]) * q[i]);
                let (row, col) = (b / c.bw, b % c.bw);
                idct::islow(&coef, &mut c.plane[row * 8 * stride + col * 8..], stride);
            }
        }
    }
    Some(color::to_rgb(&f))
}
