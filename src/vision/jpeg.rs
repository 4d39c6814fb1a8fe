//! A baseline JPEG decoder that gives libjpeg-turbo's pixels (what Pillow, and so transformers,
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

const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
    28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54,
    47, 55, 62, 63,
];

#[derive(Clone, Default)]
struct Huffman {
    /// (code length, code) -> symbol, as canonical Huffman: per length the first code, the
    /// count, and the index of its first symbol.
    first: [i32; 17],
    count: [i32; 17],
    index: [usize; 17],
    symbols: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8; 16], symbols: Vec<u8>) -> Self {
        let mut h = Huffman { symbols, ..Default::default() };
        let (mut code, mut k) = (0i32, 0usize);
        for len in 1..=16 {
            h.first[len] = code;
            h.count[len] = counts[len - 1] as i32;
            h.index[len] = k;
            code += h.count[len];
            k += counts[len - 1] as usize;
            code <<= 1;
        }
        h
    }
}

#[derive(Clone)]
struct Component {
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

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u32,
    n: u32,
    /// A marker was met: only zero bits follow (as libjpeg pads a truncated scan).
    hit_marker: bool,
}

impl<'a> Bits<'a> {
    fn fill(&mut self) {
        while self.n <= 24 {
            let mut byte = 0u8;
            if !self.hit_marker && self.pos < self.data.len() {
                byte = self.data[self.pos];
                if byte == 0xFF {
                    let next = self.data.get(self.pos + 1).copied().unwrap_or(0);
                    if next == 0x00 {
                        self.pos += 2;
                    } else {
                        self.hit_marker = true;
                        byte = 0;
                    }
                } else {
                    self.pos += 1;
                }
            }
            self.acc |= u32::from(byte) << (24 - self.n);
            self.n += 8;
        }
    }
    fn bits(&mut self, k: u32) -> i32 {
        if k == 0 {
            return 0;
        }
        self.fill();
        let v = self.acc >> (32 - k);
        self.acc <<= k;
        self.n -= k;
        v as i32
    }
    fn decode(&mut self, h: &Huffman) -> Option<u8> {
        let mut code = 0i32;
        for len in 1..=16 {
            code = (code << 1) | self.bits(1);
            if code - h.first[len] < h.count[len] {
                return h.symbols.get(h.index[len] + (code - h.first[len]) as usize).copied();
            }
        }
        None
    }
    /// A signed coefficient of `s` bits (JPEG's EXTEND).
    fn receive_extend(&mut self, s: u32) -> i32 {
        let v = self.bits(s);
        if s > 0 && v < (1 << (s - 1)) {
            v - (1 << s) + 1
        } else {
            v
        }
    }
    /// Skips to just past the next RSTn marker.
    fn restart(&mut self) -> bool {
        self.acc = 0;
        self.n = 0;
        self.hit_marker = false;
        while self.pos + 1 < self.data.len() {
            if self.data[self.pos] == 0xFF && (0xD0..=0xD7).contains(&self.data[self.pos + 1]) {
                self.pos += 2;
                return true;
            }
            self.pos += 1;
        }
        false
    }
}

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

/// jidctint.c's `jpeg_idct_islow`: coefficients in natural order times their quantizers.
fn idct_islow(coef: &[i32; 64], out: &mut [u8], stride: usize) {
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

struct Frame {
    width: usize,
    height: usize,
    comps: Vec<Component>,
    hmax: usize,
    vmax: usize,
    progressive: bool,
}

/// A scan's spectral band and successive-approximation bits (progressive JPEGs).
#[derive(Clone, Copy)]
struct Band {
    ss: usize,
    se: usize,
    ah: u32,
    al: u32,
}

/// Decodes `data`; `None` when the file is not a baseline JPEG this decoder takes (the caller
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
                idct_islow(&coef, &mut c.plane[row * 8 * stride + col * 8..], stride);
            }
        }
    }
    Some(to_rgb(&f))
}

/// Decodes one scan's entropy-coded data into the components' planes; returns the bytes used.
#[allow(clippy::too_many_arguments)]
fn scan_data(
    data: &[u8],
    f: &mut Frame,
    scan: &[usize],
    qt: &[[i32; 64]; 4],
    (dc, ac): (&[Huffman], &[Huffman]),
    restart_interval: usize,
    band: Band,
) -> Option<usize> {
    let mut bits = Bits { data, pos: 0, acc: 0, n: 0, hit_marker: false };
    let mut eobrun = 0u32;
    for &ci in scan {
        f.comps[ci].pred = 0;
    }
    // Interleaved: MCUs of h x v blocks per component; one component: its blocks in raster
    // order over its own (unpadded-to-MCU) extent.
    let units: Vec<(usize, usize, usize)> = if scan.len() == 1 {
        let c = &f.comps[scan[0]];
        let bw = (f.width * c.h).div_ceil(8 * f.hmax);
        let bh = (f.height * c.v).div_ceil(8 * f.vmax);
        (0..bh).flat_map(|by| (0..bw).map(move |bx| (by, bx, 0))).collect()
    } else {
        let mcux = f.width.div_ceil(8 * f.hmax);
        let mcuy = f.height.div_ceil(8 * f.vmax);
        (0..mcuy).flat_map(|my| (0..mcux).map(move |mx| (my, mx, 1))).collect()
    };
    let mut coef = [0i32; 64];
    for (n, &(y, x, interleaved)) in units.iter().enumerate() {
        if restart_interval > 0 && n > 0 && n % restart_interval == 0 {
            if !bits.restart() {
                return None;
            }
            for &ci in scan {
                f.comps[ci].pred = 0;
            }
            eobrun = 0;
        }
        for &ci in scan {
            let (h, v) = if interleaved == 1 { (f.comps[ci].h, f.comps[ci].v) } else { (1, 1) };
            for by in 0..v {
                for bx in 0..h {
                    let c = &mut f.comps[ci];
                    let (row, col) = if interleaved == 1 { (y * v + by, x * h + bx) } else { (y, x) };
                    if f.progressive {
                        let b = (row * c.bw + col).min(c.bw * c.bh - 1) * 64;
                        let block: &mut [i32; 64] = (&mut c.coefs[b..b + 64]).try_into().ok()?;
                        progressive_block(
                            &mut bits,
                            block,
                            &mut c.pred,
                            (&dc[c.dc_table], &ac[c.ac_table]),
                            band,
                            &mut eobrun,
                        )?;
                        continue;
                    }
                    coef.fill(0);
                    let q = &qt[c.tq];
                    let t = bits.decode(&dc[c.dc_table])? as u32;
                    if t > 11 {
                        return None;
                    }
                    c.pred = c.pred.wrapping_add(bits.receive_extend(t));
                    coef[0] = jcoef(c.pred) * q[0];
                    let mut k = 1;
                    while k < 64 {
                        let rs = bits.decode(&ac[c.ac_table])?;
                        let (r, s) = ((rs >> 4) as usize, (rs & 15) as u32);
                        if s == 0 {
                            if r != 15 {
                                break;
                            }
                            k += 16;
                            continue;
                        }
                        k += r;
                        if k > 63 {
                            return None;
                        }
                        coef[ZIGZAG[k]] = jcoef(bits.receive_extend(s)) * q[ZIGZAG[k]];
                        k += 1;
                    }
                    if row < c.bh && col < c.bw {
                        let stride = c.bw * 8;
                        idct_islow(&coef, &mut c.plane[row * 8 * stride + col * 8..], stride);
                    }
                }
            }
        }
    }
    // Past the scan's data: the next marker (not a restart marker).
    let mut end = bits.pos.min(data.len());
    while end + 1 < data.len() && !(data[end] == 0xFF && data[end + 1] != 0 && !(0xD0..=0xD7).contains(&data[end + 1]))
    {
        end += 1;
    }
    Some(end)
}

/// A coefficient as libjpeg stores it (`JCOEF`, 16 bits): only corrupt files come near the edge.
fn jcoef(v: i32) -> i32 {
    i32::from(v as i16)
}

/// One block's part of a progressive scan (jdphuff.c): the DC's first bits or refinement, or a
/// band of AC coefficients, first pass or refinement, with end-of-band runs across blocks.
fn progressive_block(
    bits: &mut Bits,
    coef: &mut [i32; 64],
    pred: &mut i32,
    (dc, ac): (&Huffman, &Huffman),
    b: Band,
    eobrun: &mut u32,
) -> Option<()> {
    if b.ss == 0 {
        if b.ah == 0 {
            let t = bits.decode(dc)? as u32;
            if t > 11 {
                return None;
            }
            *pred = pred.wrapping_add(bits.receive_extend(t));
            coef[0] = jcoef(pred.wrapping_shl(b.al));
        } else if bits.bits(1) != 0 {
            coef[0] |= 1 << b.al;
        }
        return Some(());
    }
    if b.ah == 0 {
        if *eobrun > 0 {
            *eobrun -= 1;
            return Some(());
        }
        let mut k = b.ss;
        while k <= b.se {
            let rs = bits.decode(ac)?;
            let (r, s) = (u32::from(rs >> 4), u32::from(rs & 15));
            if s == 0 {
                if r < 15 {
                    *eobrun = (1 << r) - 1 + bits.bits(r) as u32;
                    break;
                }
                k += 16;
                continue;
            }
            k += r as usize;
            if k > 63 {
                return None;
            }
            coef[ZIGZAG[k]] = jcoef(bits.receive_extend(s).wrapping_shl(b.al));
            k += 1;
        }
        return Some(());
    }
    // Refinement: one more bit of every coefficient already non-zero, and new +-1 coefficients.
    let (p1, m1) = (1i32 << b.al, -1i32 << b.al);
    let refine = |bits: &mut Bits, c: &mut i32| {
        if bits.bits(1) != 0 && (*c & p1) == 0 {
            *c = jcoef(*c + if *c >= 0 { p1 } else { m1 });
        }
    };
    let mut k = b.ss;
    if *eobrun == 0 {
        while k <= b.se {
            let rs = bits.decode(ac)?;
            let (mut r, s) = (i32::from(rs >> 4), rs & 15);
            let mut value = 0;
            if s != 0 {
                value = if bits.bits(1) != 0 { p1 } else { m1 };
            } else if r != 15 {
                *eobrun = (1 << r) + bits.bits(r as u32) as u32;
                break;
            }
            while k <= b.se {
                let c = &mut coef[ZIGZAG[k]];
                if *c != 0 {
                    refine(bits, c);
                } else {
                    r -= 1;
                    if r < 0 {
                        break;
                    }
                }
                k += 1;
            }
            if value != 0 && k <= b.se {
                coef[ZIGZAG[k]] = value;
            }
            k += 1;
        }
    }
    if *eobrun > 0 {
        while k <= b.se {
            let c = &mut coef[ZIGZAG[k]];
            if *c != 0 {
                refine(bits, c);
            }
            k += 1;
        }
        *eobrun -= 1;
    }
    Some(())
}

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
fn to_rgb(f: &Frame) -> Decoded {
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
