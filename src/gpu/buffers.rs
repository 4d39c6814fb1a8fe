//! GPU memory: weight matrices (a closed set of formats, split into chunks that each fit one
//! storage binding) and f32/u32 activation buffers.

use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::loader::{DType, TensorView};
use wgpu::util::DeviceExt;

/// How a weight matrix is stored on the GPU. Shaders get one variant per format through
/// `shaders/common/weights_*.wgsl`, which define `w_at(i) -> f32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WeightFormat {
    F32,
    /// IEEE half, two per u32 word (`unpack2x16float`, no shader-f16 needed).
    F16,
    /// bfloat16, two per u32 word (the upper half of an f32).
    Bf16,
}

impl WeightFormat {
    pub const ALL: [WeightFormat; 3] = [WeightFormat::F32, WeightFormat::F16, WeightFormat::Bf16];
    pub fn from_dtype(d: DType) -> Self {
        match d {
            DType::F32 => WeightFormat::F32,
            DType::F16 => WeightFormat::F16,
            DType::Bf16 => WeightFormat::Bf16,
        }
    }
    pub fn elem_size(self) -> usize {
        match self {
            WeightFormat::F32 => 4,
            _ => 2,
        }
    }
    pub fn include_file(self) -> &'static str {
        match self {
            WeightFormat::F32 => "common/weights_f32.wgsl",
            WeightFormat::F16 => "common/weights_f16.wgsl",
            WeightFormat::Bf16 => "common/weights_bf16.wgsl",
        }
    }
    pub fn define(self) -> &'static str {
        match self {
            WeightFormat::F32 => "W_F32",
            WeightFormat::F16 => "W_F16",
            WeightFormat::Bf16 => "W_BF16",
        }
    }
    /// Appends element `i` of `src` in this format.
    fn push(self, src: &TensorView, i: usize, out: &mut Vec<u8>) {
        if WeightFormat::from_dtype(src.dtype) == self {
            out.extend_from_slice(src.elem_bytes(i));
        } else {
            let v = src.get_f32(i);
            match self {
                WeightFormat::F32 => out.extend_from_slice(&v.to_le_bytes()),
                WeightFormat::F16 => out.extend_from_slice(&half::f16::from_f32(v).to_le_bytes()),
                WeightFormat::Bf16 => out.extend_from_slice(&half::bf16::from_f32(v).to_le_bytes()),
            }
        }
    }
}

/// A piece of a logical `[experts, rows, cols]` matrix: rows `row_offset..row_offset+rows` of every expert.
pub enum RowPart<'a> {
    /// A Linear weight `[rows, cols]` (`x @ W.T`), the same for the one expert.
    Linear(TensorView<'a>),
    /// One Linear weight `[rows, cols]` per expert.
    PerExpert(Vec<TensorView<'a>>),
    /// HF's fused experts `[E, cols, total_out]` (`x @ W`): output columns `col0..col0+rows` become rows.
    Transposed { view: TensorView<'a>, col0: usize, rows: usize },
}

impl RowPart<'_> {
    fn rows(&self) -> usize {
        match self {
            RowPart::Linear(v) => v.shape[0],
            RowPart::PerExpert(v) => v[0].shape[0],
            RowPart::Transposed { rows, .. } => *rows,
        }
    }
    fn dtype(&self) -> DType {
        match self {
            RowPart::Linear(v) | RowPart::Transposed { view: v, .. } => v.dtype,
            RowPart::PerExpert(v) => v[0].dtype,
        }
    }
    /// Appends row `r` of expert `e` (cols elements) in format `f`.
    fn push_row(&self, e: usize, r: usize, cols: usize, f: WeightFormat, out: &mut Vec<u8>) {
        // A contiguous row already in the target format is one copy.
        let contiguous = |v: &TensorView, out: &mut Vec<u8>| {
            if WeightFormat::from_dtype(v.dtype) == f {
                let s = f.elem_size();
                out.extend_from_slice(&v.bytes[r * cols * s..(r + 1) * cols * s]);
            } else {
                (0..cols).for_each(|k| f.push(v, r * cols + k, out));
            }
        };
        match self {
            RowPart::Linear(v) => contiguous(v, out),
            RowPart::PerExpert(vs) => contiguous(&vs[e], out),
            RowPart::Transposed { view, col0, .. } => {
                let total_out = view.shape[2];
                let base = e * cols * total_out + col0 + r;
                (0..cols).for_each(|k| f.push(view, base + k * total_out, out))
            }
        }
    }
}

/// One storage buffer of a matrix: experts `e0..e1`, rows `r0..r1` of each, row-major.
pub struct WeightChunk {
    pub buffer: wgpu::Buffer,
    pub experts: std::ops::Range<u32>,
    pub rows: std::ops::Range<u32>,
}

/// A weight matrix `[experts, rows, cols]` (`rows` = output features), computing `y = W x`.
pub struct Matrix {
    pub name: String,
    pub format: WeightFormat,
    pub experts: usize,
    pub rows: usize,
    pub cols: usize,
    pub chunks: Vec<WeightChunk>,
}

impl Matrix {
    /// Uploads `parts` stacked along the rows. Chunks are whole experts where an expert fits one
    /// binding, else row ranges of one expert; a single row that does not fit is an error.
    pub fn upload(ctx: &GpuContext, name: &str, experts: usize, cols: usize, parts: &[RowPart]) -> Result<Matrix> {
        let rows: usize = parts.iter().map(|p| p.rows()).sum();
        let d0 = parts[0].dtype();
        let format =
            if parts.iter().all(|p| p.dtype() == d0) { WeightFormat::from_dtype(d0) } else { WeightFormat::F32 };
        let row_bytes = (cols * format.elem_size()) as u64;
        let limit = ctx.split_limit;
        if row_bytes + 4 > limit {
            return Err(Error::Unsupported {
                adapter: ctx.adapter_name().into(),
                what: format!("room for one row of `{name}` ({row_bytes} bytes) in a storage binding (max {limit})"),
            });
        }
        let expert_bytes = row_bytes * rows as u64;
        let mut plan: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> = vec![];
        if expert_bytes + 4 <= limit {
            let per = ((limit - 4) / expert_bytes).max(1) as usize;
            let mut e = 0;
            while e < experts {
                plan.push((e..(e + per).min(experts), 0..rows));
                e += per;
            }
        } else {
            let per = ((limit - 4) / row_bytes) as usize;
            for e in 0..experts {
                let mut r = 0;
                while r < rows {
                    plan.push((e..e + 1, r..(r + per).min(rows)));
                    r += per;
                }
            }
        }
        let mut chunks = Vec::with_capacity(plan.len());
        for (er, rr) in plan {
            let mut bytes = Vec::with_capacity(er.len() * rr.len() * row_bytes as usize + 4);
            for e in er.clone() {
                for r in rr.clone() {
                    // Find the part holding row r.
                    let (mut off, mut pi) = (0, 0);
                    while r >= off + parts[pi].rows() {
                        off += parts[pi].rows();
                        pi += 1;
                    }
                    parts[pi].push_row(e, r - off, cols, format, &mut bytes);
                }
            }
            while bytes.len() % 4 != 0 || bytes.is_empty() {
                bytes.push(0);
            }
            let buffer = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(name),
                contents: &bytes,
                usage: wgpu::BufferUsages::STORAGE,
            });
            chunks.push(WeightChunk {
                buffer,
                experts: er.start as u32..er.end as u32,
                rows: rr.start as u32..rr.end as u32,
            });
        }
        Ok(Matrix { name: name.to_string(), format, experts, rows, cols, chunks })
    }

    pub fn bytes(&self) -> u64 {
        (self.experts * self.rows * self.cols * self.format.elem_size()) as u64
    }
}

/// An f32 (or u32) activation buffer on the GPU.
#[derive(Clone)]
pub struct Activation {
    pub buffer: wgpu::Buffer,
    pub len: usize,
}

impl Activation {
    pub fn new(ctx: &GpuContext, label: &str, len: usize) -> Result<Self> {
        let bytes = (len.max(1) * 4) as u64;
        ctx.check_binding(label, bytes)?;
        let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(Activation { buffer, len })
    }
    pub fn from_f32(ctx: &GpuContext, label: &str, data: &[f32]) -> Result<Self> {
        let a = Self::new(ctx, label, data.len())?;
        ctx.queue.write_buffer(&a.buffer, 0, bytemuck::cast_slice(data));
        Ok(a)
    }
    pub fn from_u32(ctx: &GpuContext, label: &str, data: &[u32]) -> Result<Self> {
        let a = Self::new(ctx, label, data.len())?;
        ctx.queue.write_buffer(&a.buffer, 0, bytemuck::cast_slice(data));
        Ok(a)
    }
}

/// Copies `count` 4-byte words from `buffer` at word `offset` to the CPU. Waits for the GPU.
pub async fn read_words(ctx: &GpuContext, buffer: &wgpu::Buffer, offset: usize, count: usize) -> Result<Vec<u32>> {
    let bytes = (count.max(1) * 4) as u64;
    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut enc = ctx.device.create_command_encoder(&Default::default());
    enc.copy_buffer_to_buffer(buffer, (offset * 4) as u64, &staging, 0, bytes);
    ctx.queue.submit([enc.finish()]);
    map_and_read(ctx, &staging, count).await
}

/// Maps a MAP_READ buffer and returns its first `count` words.
pub async fn map_and_read(ctx: &GpuContext, staging: &wgpu::Buffer, count: usize) -> Result<Vec<u32>> {
    let (tx, rx) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    ctx.device
        .poll(wgpu::PollType::Wait { submission_index: None, timeout: None })
        .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
    rx.recv()
        .map_err(|_| Error::Gpu("buffer mapping was dropped".into()))?
        .map_err(|e| Error::Gpu(format!("mapping a readback buffer: {e}")))?;
    let out = {
        let view = staging.get_mapped_range(..).map_err(|e| Error::Gpu(format!("{e:?}")))?;
        bytemuck::cast_slice::<u8, u32>(&view)[..count].to_vec()
    };
    staging.unmap();
    Ok(out)
}

pub async fn read_f32(ctx: &GpuContext, a: &Activation, offset: usize, count: usize) -> Result<Vec<f32>> {
    Ok(read_words(ctx, &a.buffer, offset, count).await?.into_iter().map(f32::from_bits).collect())
}
