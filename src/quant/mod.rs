//! Weight formats: a closed set, each a ggml block layout ([`blocks`]) with a plain CPU
//! dequantization (the reference the GPU kernels are tested against) and a WGSL twin in
//! `shaders/common/weights_*.wgsl`.
//!
//! On the GPU a matrix row is a whole number of *GPU blocks*: the format's own block for the
//! quantized types, four elements for the float types (their rows are zero-padded to four).

pub mod blocks;
pub mod quantize;

use blocks::*;

/// How a tensor is stored, in a checkpoint and on the GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WeightFormat {
    F32,
    /// IEEE half (decoded with integer ops: needs neither shader-f16 nor the pack builtins).
    F16,
    /// bfloat16: the upper half of an f32.
    Bf16,
    Q8_0,
    Q4_0,
    Q4_1,
    /// 5-bit codes (what `llama-quantize` falls back to inside Q4_K_M files for rows that are
    /// not whole 256-element blocks).
    Q5_0,
    Q5_1,
    Q4K,
    Q5K,
    Q6K,
}

impl WeightFormat {
    pub const ALL: [WeightFormat; 11] = [
        WeightFormat::F32,
        WeightFormat::F16,
        WeightFormat::Bf16,
        WeightFormat::Q8_0,
        WeightFormat::Q4_0,
        WeightFormat::Q4_1,
        WeightFormat::Q5_0,
        WeightFormat::Q5_1,
        WeightFormat::Q4K,
        WeightFormat::Q5K,
        WeightFormat::Q6K,
    ];

    /// ggml's type id (`enum ggml_type`), as GGUF stores it.
    pub fn from_ggml(id: u32) -> Option<Self> {
        Some(match id {
            0 => WeightFormat::F32,
            1 => WeightFormat::F16,
            2 => WeightFormat::Q4_0,
            3 => WeightFormat::Q4_1,
            6 => WeightFormat::Q5_0,
            7 => WeightFormat::Q5_1,
            8 => WeightFormat::Q8_0,
            12 => WeightFormat::Q4K,
            13 => WeightFormat::Q5K,
            14 => WeightFormat::Q6K,
            30 => WeightFormat::Bf16,
            _ => return None,
        })
    }

    /// ggml's name of a type id, for errors about the types we do not read.
    pub fn ggml_name(id: u32) -> String {
        const NAMES: [&str; 42] = [
            "F32",
            "F16",
            "Q4_0",
            "Q4_1",
            "Q4_2",
            "Q4_3",
            "Q5_0",
            "Q5_1",
            "Q8_0",
            "Q8_1",
            "Q2_K",
            "Q3_K",
            "Q4_K",
            "Q5_K",
            "Q6_K",
            "Q8_K",
            "IQ2_XXS",
            "IQ2_XS",
            "IQ3_XXS",
            "IQ1_S",
            "IQ4_NL",
            "IQ3_S",
            "IQ2_S",
            "IQ4_XS",
            "I8",
            "I16",
            "I32",
            "I64",
            "F64",
            "IQ1_M",
            "BF16",
            "Q4_0_4_4",
            "Q4_0_4_8",
            "Q4_0_8_8",
            "TQ1_0",
            "TQ2_0",
            "IQ4_NL_4_4",
            "IQ4_NL_4_8",
            "IQ4_NL_8_8",
            "MXFP4",
            "NVFP4",
            "?",
        ];
        NAMES.get(id as usize).map_or_else(|| format!("type {id}"), |n| format!("{n} (type {id})"))
    }

    pub fn name(self) -> &'static str {
        match self {
            WeightFormat::F32 => "f32",
            WeightFormat::F16 => "f16",
            WeightFormat::Bf16 => "bf16",
            WeightFormat::Q8_0 => "q8_0",
            WeightFormat::Q4_0 => "q4_0",
            WeightFormat::Q4_1 => "q4_1",
            WeightFormat::Q5_0 => "q5_0",
            WeightFormat::Q5_1 => "q5_1",
            WeightFormat::Q4K => "q4_K",
            WeightFormat::Q5K => "q5_K",
            WeightFormat::Q6K => "q6_K",
        }
    }

    /// A format by its name (`q4_k`, `Q8_0`, ...), any case.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(name))
    }

    pub fn is_float(self) -> bool {
        matches!(self, WeightFormat::F32 | WeightFormat::F16 | WeightFormat::Bf16)
    }

    /// Elements per storage block (1 for the float types).
    pub fn block_elems(self) -> usize {
        match self {
            WeightFormat::F32 | WeightFormat::F16 | WeightFormat::Bf16 => 1,
            WeightFormat::Q8_0 | WeightFormat::Q4_0 | WeightFormat::Q4_1 | WeightFormat::Q5_0 | WeightFormat::Q5_1 => {
                32
            }
            WeightFormat::Q4K | WeightFormat::Q5K | WeightFormat::Q6K => 256,
        }
    }

    /// Bytes per storage block.
    pub fn block_bytes(self) -> usize {
        use std::mem::size_of;
        match self {
            WeightFormat::F32 => 4,
            WeightFormat::F16 | WeightFormat::Bf16 => 2,
            WeightFormat::Q8_0 => size_of::<BlockQ8_0>(),
            WeightFormat::Q4_0 => size_of::<BlockQ4_0>(),
            WeightFormat::Q4_1 => size_of::<BlockQ4_1>(),
            WeightFormat::Q5_0 => size_of::<BlockQ5_0>(),
            WeightFormat::Q5_1 => size_of::<BlockQ5_1>(),
            WeightFormat::Q4K => size_of::<BlockQ4K>(),
            WeightFormat::Q5K => size_of::<BlockQ5K>(),
            WeightFormat::Q6K => size_of::<BlockQ6K>(),
        }
    }

    /// Bytes of `n` elements stored contiguously, or `None` when `n` is not whole blocks (or overflows).
    pub fn bytes_for(self, n: usize) -> Option<usize> {
        if !n.is_multiple_of(self.block_elems()) {
            return None;
        }
        (n / self.block_elems()).checked_mul(self.block_bytes())
    }

    /// Elements per GPU block: the storage block, or 32 for the float types (the matmul reads
    /// rows in 32-element units).
    pub fn gpu_block_elems(self) -> usize {
        self.block_elems().max(32)
    }

    /// Bytes of one GPU block.
    pub fn gpu_block_bytes(self) -> usize {
        self.gpu_block_elems() / self.block_elems() * self.block_bytes()
    }

    /// Bytes of one GPU row of `cols` elements (float rows padded to whole GPU blocks), or `None`
    /// when `cols` is not whole blocks of a quantized format.
    pub fn gpu_row_bytes(self, cols: usize) -> Option<usize> {
        if self.is_float() {
            Some(cols.div_ceil(32) * 32 * self.block_bytes())
        } else {
            self.bytes_for(cols)
        }
    }

    pub fn include_file(self) -> &'static str {
        match self {
            WeightFormat::F32 => "common/weights_f32.wgsl",
            WeightFormat::F16 => "common/weights_f16.wgsl",
            WeightFormat::Bf16 => "common/weights_bf16.wgsl",
            WeightFormat::Q8_0 => "common/weights_q8_0.wgsl",
            WeightFormat::Q4_0 => "common/weights_q4_0.wgsl",
            WeightFormat::Q4_1 => "common/weights_q4_1.wgsl",
            WeightFormat::Q5_0 => "common/weights_q5_0.wgsl",
            WeightFormat::Q5_1 => "common/weights_q5_1.wgsl",
            WeightFormat::Q4K => "common/weights_q4_k.wgsl",
            WeightFormat::Q5K => "common/weights_q5_k.wgsl",
            WeightFormat::Q6K => "common/weights_q6_k.wgsl",
        }
    }

    pub fn define(self) -> &'static str {
        match self {
            WeightFormat::F32 => "W_F32",
            WeightFormat::F16 => "W_F16",
            WeightFormat::Bf16 => "W_BF16",
            WeightFormat::Q8_0 => "W_Q8_0",
            WeightFormat::Q4_0 => "W_Q4_0",
            WeightFormat::Q4_1 => "W_Q4_1",
            WeightFormat::Q5_0 => "W_Q5_0",
            WeightFormat::Q5_1 => "W_Q5_1",
            WeightFormat::Q4K => "W_Q4_K",
            WeightFormat::Q5K => "W_Q5_K",
            WeightFormat::Q6K => "W_Q6_K",
        }
    }

    /// Dequantizes whole blocks: `bytes` holds `out.len()` elements in this format.
    pub fn dequantize(self, bytes: &[u8], out: &mut [f32]) {
        let (qk, bb) = (self.block_elems(), self.block_bytes());
        debug_assert_eq!(bytes.len(), out.len() / qk * bb);
        for (b, y) in bytes.chunks_exact(bb).zip(out.chunks_exact_mut(qk)) {
            match self {
                WeightFormat::F32 => y[0] = f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                WeightFormat::F16 => y[0] = half::f16::from_le_bytes([b[0], b[1]]).to_f32(),
                WeightFormat::Bf16 => y[0] = half::bf16::from_le_bytes([b[0], b[1]]).to_f32(),
                WeightFormat::Q8_0 => read::<BlockQ8_0>(b).dequantize(y),
                WeightFormat::Q4_0 => read::<BlockQ4_0>(b).dequantize(y),
                WeightFormat::Q4_1 => read::<BlockQ4_1>(b).dequantize(y),
                WeightFormat::Q5_0 => read::<BlockQ5_0>(b).dequantize(y),
                WeightFormat::Q5_1 => read::<BlockQ5_1>(b).dequantize(y),
                WeightFormat::Q4K => read::<BlockQ4K>(b).dequantize(y),
                WeightFormat::Q5K => read::<BlockQ5K>(b).dequantize(y),
                WeightFormat::Q6K => read::<BlockQ6K>(b).dequantize(y),
            }
        }
    }
}

/// A block from unaligned bytes (GGUF blocks sit at any even offset).
fn read<T: bytemuck::Pod>(b: &[u8]) -> T {
    bytemuck::pod_read_unaligned(b)
}
