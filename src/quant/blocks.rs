//! ggml's block layouts, defined once on the CPU (the WGSL twins live in `shaders/common/`), with
//! the plain dequantization that serves as the reference for the GPU kernels.
//!
//! Every block is little-endian bytes exactly as GGUF stores them; a tensor row is a whole
//! number of blocks. Half-precision fields are raw `u16` bits.

use half::f16;

fn h(bits: u16) -> f32 {
    f16::from_bits(bits).to_f32()
}

/// 32 weights: `(q - 8) * d`, q a 4-bit code (low nibbles = elements 0..16, high = 16..32).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct BlockQ4_0 {
    pub d: u16,
    pub qs: [u8; 16],
}

/// 32 weights: `q * d + m`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct BlockQ4_1 {
    pub d: u16,
    pub m: u16,
    pub qs: [u8; 16],
}

/// 32 weights: `(q - 16) * d`, q a 5-bit code: Q4_0's nibbles plus bit `l` of `qh` for element `l`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct BlockQ5_0 {
    pub d: u16,
    pub qh: [u8; 4],
    pub qs: [u8; 16],
}

/// 32 weights: `q * d + m`, q as in Q5_0.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct BlockQ5_1 {
    pub d: u16,
    pub m: u16,
    pub qh: [u8; 4],
    pub qs: [u8; 16],
}

/// 32 weights: `q * d`, q a signed byte.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct BlockQ8_0 {
    pub d: u16,
    pub qs: [i8; 32],
}

/// 256 weights in 8 sub-blocks of 32, each with a 6-bit scale and min (packed in `scales`):
/// `d * sc * q - dmin * m`, q a 4-bit code.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct BlockQ4K {
    pub d: u16,
    pub dmin: u16,
    pub scales: [u8; 12],
    pub qs: [u8; 128],
}

/// As Q4_K with a fifth bit per weight in `qh`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct BlockQ5K {
    pub d: u16,
    pub dmin: u16,
    pub scales: [u8; 12],
    pub qh: [u8; 32],
    pub qs: [u8; 128],
}

/// 256 weights in 16 sub-blocks of 16 with signed 8-bit scales: `d * sc * (q - 32)`, q 6 bits
/// (low 4 in `ql`, high 2 in `qh`).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct BlockQ6K {
    pub ql: [u8; 128],
    pub qh: [u8; 64],
    pub scales: [i8; 16],
    pub d: u16,
}

const _: () = assert!(std::mem::size_of::<BlockQ4_0>() == 18);
const _: () = assert!(std::mem::size_of::<BlockQ4_1>() == 20);
const _: () = assert!(std::mem::size_of::<BlockQ5_0>() == 22);
const _: () = assert!(std::mem::size_of::<BlockQ5_1>() == 24);
const _: () = assert!(std::mem::size_of::<BlockQ8_0>() == 34);
const _: () = assert!(std::mem::size_of::<BlockQ4K>() == 144);
const _: () = assert!(std::mem::size_of::<BlockQ5K>() == 176);
const _: () = assert!(std::mem::size_of::<BlockQ6K>() == 210);

/// The 6-bit scale and min of sub-block `j` (0..8) of a Q4_K / Q5_K block.
pub fn scale_min_k4(j: usize, s: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (s[j] & 63, s[j + 4] & 63)
    } else {
        ((s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4))
    }
}

/// Scale and min of the two 32-element sub-blocks of 64-element chunk `c` of a Q4_K / Q5_K block:
/// `[(d * sc, dmin * m); 2]`.
fn chunk_scales(d: u16, dmin: u16, scales: &[u8; 12], c: usize) -> [(f32, f32); 2] {
    let (d, dmin) = (h(d), h(dmin));
    [2 * c, 2 * c + 1].map(|j| {
        let (sc, m) = scale_min_k4(j, scales);
        (d * sc as f32, dmin * m as f32)
    })
}

impl BlockQ4_0 {
    pub fn dequantize(&self, y: &mut [f32]) {
        let d = h(self.d);
        for (l, &q) in self.qs.iter().enumerate() {
            y[l] = ((q & 0x0f) as i32 - 8) as f32 * d;
            y[l + 16] = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
}

impl BlockQ4_1 {
    pub fn dequantize(&self, y: &mut [f32]) {
        let (d, m) = (h(self.d), h(self.m));
        for (l, &q) in self.qs.iter().enumerate() {
            y[l] = (q & 0x0f) as f32 * d + m;
            y[l + 16] = (q >> 4) as f32 * d + m;
        }
    }
}

/// The 5-bit codes of a Q5_0 / Q5_1 block, in element order.
fn codes5(qh: [u8; 4], qs: &[u8; 16]) -> [u8; 32] {
    let qh = u32::from_le_bytes(qh);
    std::array::from_fn(|l| {
        let nibble = if l < 16 { qs[l] & 0x0f } else { qs[l - 16] >> 4 };
        nibble | ((((qh >> l) & 1) as u8) << 4)
    })
}

impl BlockQ5_0 {
    pub fn dequantize(&self, y: &mut [f32]) {
        let d = h(self.d);
        for (y, q) in y.iter_mut().zip(codes5(self.qh, &self.qs)) {
            *y = (q as i32 - 16) as f32 * d;
        }
    }
}

impl BlockQ5_1 {
    pub fn dequantize(&self, y: &mut [f32]) {
        let (d, m) = (h(self.d), h(self.m));
        for (y, q) in y.iter_mut().zip(codes5(self.qh, &self.qs)) {
            *y = q as f32 * d + m;
        }
    }
}

impl BlockQ8_0 {
    pub fn dequantize(&self, y: &mut [f32]) {
        let d = h(self.d);
        for (l, &q) in self.qs.iter().enumerate() {
            y[l] = q as f32 * d;
        }
    }
}

impl BlockQ4K {
    pub fn dequantize(&self, y: &mut [f32]) {
        for c in 0..4 {
            let [(d1, m1), (d2, m2)] = chunk_scales(self.d, self.dmin, &self.scales, c);
            for l in 0..32 {
                let q = self.qs[32 * c + l];
                y[64 * c + l] = d1 * (q & 0x0f) as f32 - m1;
                y[64 * c + 32 + l] = d2 * (q >> 4) as f32 - m2;
            }
        }
    }
}

impl BlockQ5K {
    pub fn dequantize(&self, y: &mut [f32]) {
        for c in 0..4 {
            let [(d1, m1), (d2, m2)] = chunk_scales(self.d, self.dmin, &self.scales, c);
            for l in 0..32 {
                let q = self.qs[32 * c + l];
                let hi1 = ((self.qh[l] >> (2 * c)) & 1) << 4;
                let hi2 = ((self.qh[l] >> (2 * c + 1)) & 1) << 4;
                y[64 * c + l] = d1 * ((q & 0x0f) | hi1) as f32 - m1;
                y[64 * c + 32 + l] = d2 * ((q >> 4) | hi2) as f32 - m2;
            }
        }
    }
}

impl BlockQ6K {
    pub fn dequantize(&self, y: &mut [f32]) {
        let d = h(self.d);
        for n in 0..2 {
            let (ql, qh, sc) = (&self.ql[64 * n..], &self.qh[32 * n..], &self.scales[8 * n..]);
            for l in 0..32 {
                let is = l / 16;
                let q1 = ((ql[l] & 0x0f) | ((qh[l] & 3) << 4)) as i32 - 32;
                let q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
                let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
                let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
                let y = &mut y[128 * n..];
                y[l] = d * sc[is] as f32 * q1 as f32;
                y[l + 32] = d * sc[is + 2] as f32 * q2 as f32;
                y[l + 64] = d * sc[is + 4] as f32 * q3 as f32;
                y[l + 96] = d * sc[is + 6] as f32 * q4 as f32;
            }
        }
    }
}
