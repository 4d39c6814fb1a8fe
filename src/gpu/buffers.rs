//! GPU memory: f32/u32 activation buffers and readback. Weight matrices live in [`super::matrix`].

use crate::error::{Error, Result};
use crate::gpu::GpuContext;

/// Bytes of a uniform-readable activation: `array<vec4<f32>, 4096>` in `matmul.wgsl` (X_UNIFORM),
/// WebGPU's default `max_uniform_buffer_binding_size`.
pub const UNIFORM_X_BYTES: u64 = 65536;
/// Where such windows may start, in bytes (WebGPU's largest `min_uniform_buffer_offset_alignment`).
pub const UNIFORM_X_ALIGN: u32 = 256;

/// Whether the adapter binds 64 KiB uniform windows at 256-byte offsets (WebGPU's defaults).
pub fn uniform_windows(ctx: &GpuContext) -> bool {
    let l = &ctx.limits;
    l.max_uniform_buffer_binding_size >= UNIFORM_X_BYTES && l.min_uniform_buffer_offset_alignment <= UNIFORM_X_ALIGN
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
        Self::alloc(ctx, label, len, bytes, wgpu::BufferUsages::empty())
    }

    /// An activation a ROW_LANE matmul may also read through 64 KiB uniform windows
    /// (`X_UNIFORM`, see [`Activation::new_uniform_windows`]); a plain storage activation where
    /// the adapter is not a CPU one.
    pub fn new_uniform_readable(ctx: &GpuContext, label: &str, len: usize) -> Result<Self> {
        if !ctx.row_lane_matmul {
            return Self::new(ctx, label, len);
        }
        Self::new_uniform_windows(ctx, label, len)
    }

    /// An activation that kernels may also read through 64 KiB uniform windows: UNIFORM usage,
    /// and [`UNIFORM_X_BYTES`] past its data so a window starting at any 256-byte boundary inside
    /// it fits. A plain storage activation where the adapter binds less
    /// uniform data ([`uniform_windows`]).
    pub fn new_uniform_windows(ctx: &GpuContext, label: &str, len: usize) -> Result<Self> {
        if !uniform_windows(ctx) {
            return Self::new(ctx, label, len);
        }
        let size = ((len.max(1) * 4) as u64).next_multiple_of(UNIFORM_X_ALIGN as u64) + UNIFORM_X_BYTES;
        Self::alloc(ctx, label, len, size, wgpu::BufferUsages::UNIFORM)
    }

    /// A storage buffer of `size` bytes for `len` words (checked against the binding limit), with
    /// `extra` usages besides storage and copies.
    fn alloc(ctx: &GpuContext, label: &str, len: usize, size: u64, extra: wgpu::BufferUsages) -> Result<Self> {
        ctx.check_binding(label, (len.max(1) * 4) as u64)?;
        let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST | extra,
            mapped_at_creation: false,
        });
        Ok(Activation { buffer, len })
    }

    /// Whether [`Activation::new_uniform_readable`] made this a uniform-readable buffer.
    pub fn uniform_readable(&self) -> bool {
        self.buffer.usage().contains(wgpu::BufferUsages::UNIFORM)
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

/// Maps a MAP_READ buffer and returns its first `count` words. Truly async: natively the device
/// is polled until the map completes; in a browser the future resolves when the GPU is done,
/// without blocking the page.
pub async fn map_and_read(ctx: &GpuContext, staging: &wgpu::Buffer, count: usize) -> Result<Vec<u32>> {
    map_and_read_after(ctx, staging, count, None).await
}

/// As [`map_and_read`], natively waiting only for submission `after` (the one that filled
/// `staging`), not for work queued behind it.
pub async fn map_and_read_after(
    ctx: &GpuContext,
    staging: &wgpu::Buffer,
    count: usize,
    after: Option<wgpu::SubmissionIndex>,
) -> Result<Vec<u32>> {
    let (tx, rx) = futures_channel::oneshot::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    #[cfg(not(target_arch = "wasm32"))]
    ctx.device
        .poll(wgpu::PollType::Wait { submission_index: after, timeout: None })
        .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
    #[cfg(target_arch = "wasm32")]
    let _ = after;
    #[cfg(target_arch = "wasm32")]
    let _ = ctx; // the browser drives the GPU
    rx.await
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
