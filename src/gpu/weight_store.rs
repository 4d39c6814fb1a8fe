//! Where a weight chunk's bytes live: a storage buffer (GPUs) or, on CPU adapters, a texture of
//! 16-byte texels ([`GpuContext::texture_weights`]), and how bytes are written into either.

use crate::gpu::GpuContext;

/// Texels per row of a weight texture (`TEX_W` in `common/weight_bytes.wgsl`): 16 KiB rows, so a
/// chunk pads at most 16 KiB, and a texture of 16384 rows holds 256 MiB.
pub const TEX_WIDTH: u32 = 1024;

/// Where a chunk's bytes live.
pub enum WeightStore {
    /// A storage buffer (GPUs).
    Buffer(wgpu::Buffer),
    /// A texture of 16-byte texels (`Rgba32Uint`) holding the bytes in rows of [`TEX_WIDTH`]
    /// texels (a chunk of less than one row: one narrower row). CPU adapters: see
    /// [`GpuContext::texture_weights`].
    Texture { texture: wgpu::Texture, view: wgpu::TextureView },
}

impl WeightStore {
    /// Room for `bytes` on `ctx`: a texture where the context keeps weights in textures.
    pub(crate) fn new(ctx: &GpuContext, label: &str, bytes: u64) -> WeightStore {
        if !ctx.texture_weights {
            return WeightStore::Buffer(ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }));
        }
        let texels = bytes.div_ceil(16).max(1);
        let width = texels.min(TEX_WIDTH as u64) as u32;
        let size = wgpu::Extent3d { width, height: texels.div_ceil(width as u64) as u32, depth_or_array_layers: 1 };
        let texture = ctx.device.create_texture(&wgpu::TextureDescriptor {
            label: Some(label),
            size,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba32Uint,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let view = texture.create_view(&Default::default());
        WeightStore::Texture { texture, view }
    }

    /// Bytes allocated on the GPU.
    pub fn bytes(&self) -> u64 {
        match self {
            WeightStore::Buffer(b) => b.size(),
            WeightStore::Texture { texture, .. } => texture.width() as u64 * texture.height() as u64 * 16,
        }
    }

    /// Bytes a write must come in multiples of (but the last): a word, or a texture row.
    pub(crate) fn granule(&self) -> usize {
        match self {
            WeightStore::Buffer(_) => 4,
            WeightStore::Texture { texture, .. } => texture.width() as usize * 16,
        }
    }

    /// Writes `bytes` (whole granules) at byte `offset` (a multiple of the granule).
    pub(crate) fn write(&self, queue: &wgpu::Queue, offset: u64, bytes: &[u8]) {
        match self {
            WeightStore::Buffer(b) => queue.write_buffer(b, offset, bytes),
            WeightStore::Texture { texture, .. } => {
                let row = self.granule() as u64;
                let size = wgpu::Extent3d {
                    width: texture.width(),
                    height: (bytes.len() as u64 / row) as u32,
                    depth_or_array_layers: 1,
                };
                let copy = wgpu::TexelCopyTextureInfo {
                    texture,
                    mip_level: 0,
                    origin: wgpu::Origin3d { x: 0, y: (offset / row) as u32, z: 0 },
                    aspect: wgpu::TextureAspect::All,
                };
                let layout =
                    wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(row as u32), rows_per_image: None };
                queue.write_texture(copy, bytes, layout, size);
            }
        }
    }
}
