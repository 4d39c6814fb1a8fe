//! The entropy-coded scans: Huffman tables, the bit reader, sequential blocks (dequantized and
//! transformed at once) and progressive bands (kept as coefficients until the end).

use super::{idct, Band, Frame, ZIGZAG};

#[derive(Clone, Default)]
pub(super) struct Huffman {
    /// (code length, code) -> symbol, as canonical Huffman: per length the first code, the
    /// count, and the index of its first symbol.
    first: [i32; 17],
    count: [i32; 17],
    index: [usize; 17],
    symbols: Vec<u8>,
}

impl Huffman {
    pub(super) fn new(counts: &[u8; 16], symbols: Vec<u8>) -> Self {
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

/// Decodes one scan's entropy-coded data into the components' planes; returns the bytes used.
#[allow(clippy::too_many_arguments)]
pub(super) fn scan_data(
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
                        idct::islow(&coef, &mut c.plane[row * 8 * stride + col * 8..], stride);
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
pub(super) fn jcoef(v: i32) -> i32 {
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
