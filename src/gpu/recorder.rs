//! Record first, submit once: kernels append dispatches to a [`Recorder`]; `finish` builds every
//! bind group and packs every dispatch's parameters into one uniform buffer, giving a [`Plan`]
//! that is replayed (one compute pass, one submit) for every step of the same shape.

use crate::error::Result;
use crate::gpu::{GpuContext, PipelineKey};
use crate::kernels::params::KernelParams;
use std::sync::Arc;

/// What a shader binding (1..) is bound to.
#[derive(Clone, Copy)]
pub enum Binding<'a> {
    Buffer(&'a wgpu::Buffer),
    /// `(offset, size)` bytes of a buffer.
    Window(&'a wgpu::Buffer, u64, u64),
    /// A weight texture (see `gpu::weight_store::WeightStore`).
    Texture(&'a wgpu::TextureView),
}

/// A [`Binding`] held until `finish`.
enum Bound {
    Buffer(wgpu::Buffer, Option<(u64, u64)>),
    Texture(wgpu::TextureView),
}

impl From<Binding<'_>> for Bound {
    fn from(b: Binding) -> Bound {
        match b {
            Binding::Buffer(b) => Bound::Buffer(b.clone(), None),
            Binding::Window(b, offset, size) => Bound::Buffer(b.clone(), Some((offset, size))),
            Binding::Texture(v) => Bound::Texture(v.clone()),
        }
    }
}

struct Pending {
    label: String,
    pipeline: Arc<wgpu::ComputePipeline>,
    params: [u32; 16],
    bindings: Vec<Bound>,
    groups: [u32; 3],
}

pub struct Recorder<'c> {
    pub ctx: &'c GpuContext,
    /// Matmuls multiply in f16 (`--dtype f16` on an adapter with shader-f16; sums stay f32).
    pub f16_math: bool,
    items: Vec<Pending>,
}

impl<'c> Recorder<'c> {
    pub fn new(ctx: &'c GpuContext) -> Self {
        Recorder { ctx, f16_math: false, items: vec![] }
    }

    /// Appends one dispatch. Binding 0 of the shader is `params` (the shader's `struct Params`),
    /// bindings 1.. are `buffers` in order.
    pub fn dispatch<P: KernelParams>(
        &mut self,
        key: &PipelineKey,
        params: &P,
        buffers: &[&wgpu::Buffer],
        groups: [u32; 3],
    ) -> Result<()> {
        let whole: Vec<_> = buffers.iter().map(|&b| Binding::Buffer(b)).collect();
        self.dispatch_bound(key, params, &whole, groups)
    }

    /// [`Recorder::dispatch`] with bindings that may be buffer windows or textures.
    pub fn dispatch_bound<P: KernelParams>(
        &mut self,
        key: &PipelineKey,
        params: &P,
        bindings: &[Binding],
        groups: [u32; 3],
    ) -> Result<()> {
        if !P::SHADERS.contains(&key.variant.shader) {
            return Err(crate::Error::Gpu(format!(
                "{} does not take {}",
                key.variant.shader.file(),
                std::any::type_name::<P>()
            )));
        }
        let mut words = [0u32; 16];
        bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..std::mem::size_of::<P>()]
            .copy_from_slice(bytemuck::bytes_of(params));
        if groups.contains(&0) {
            return Ok(());
        }
        let max = self.ctx.limits.max_compute_workgroups_per_dimension;
        if groups.iter().any(|&g| g > max) {
            return Err(crate::Error::Unsupported {
                adapter: self.ctx.adapter_name().into(),
                what: format!(
                    "{groups:?} workgroups for {} (max_compute_workgroups_per_dimension is {max})",
                    key.variant.shader.file()
                ),
            });
        }
        let pipeline = self.ctx.pipelines.get(&self.ctx.device, key)?;
        self.items.push(Pending {
            label: key.variant.label(),
            pipeline,
            params: words,
            bindings: bindings.iter().map(|&b| b.into()).collect(),
            groups,
        });
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The kernels recorded so far, in order (`matmul q4_1 ROW_LANE`, ...).
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|it| it.label.as_str())
    }

    pub fn finish(self) -> Plan {
        let ctx = self.ctx;
        let stride = (ctx.limits.min_uniform_buffer_offset_alignment as usize).max(64);
        let mut bytes = vec![0u8; stride * self.items.len().max(1)];
        for (i, it) in self.items.iter().enumerate() {
            bytes[i * stride..i * stride + 64].copy_from_slice(bytemuck::cast_slice(&it.params));
        }
        use wgpu::util::DeviceExt;
        let params = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: &bytes,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let labels = self.items.iter().map(|it| it.label.clone()).collect();
        let dispatches = self
            .items
            .into_iter()
            .enumerate()
            .map(|(i, it)| {
                let layout = it.pipeline.get_bind_group_layout(0);
                let mut entries = vec![wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &params,
                        offset: (i * stride) as u64,
                        size: wgpu::BufferSize::new(64),
                    }),
                }];
                for (j, b) in it.bindings.iter().enumerate() {
                    let resource = match b {
                        Bound::Buffer(b, None) => b.as_entire_binding(),
                        &Bound::Buffer(ref buffer, Some((offset, size))) => {
                            wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                buffer,
                                offset,
                                size: wgpu::BufferSize::new(size),
                            })
                        }
                        Bound::Texture(v) => wgpu::BindingResource::TextureView(v),
                    };
                    entries.push(wgpu::BindGroupEntry { binding: j as u32 + 1, resource });
                }
                let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &layout,
                    entries: &entries,
                });
                (it.pipeline, bind_group, it.groups)
            })
            .collect();
        Plan { dispatches, labels, _params: params }
    }
}

/// A recorded list of dispatches, replayable any number of times.
pub struct Plan {
    dispatches: Vec<(Arc<wgpu::ComputePipeline>, wgpu::BindGroup, [u32; 3])>,
    /// Each dispatch's kernel, for profiles.
    labels: Vec<String>,
    _params: wgpu::Buffer,
}

impl Plan {
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder) {
        let mut pass =
            encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("llama4"), timestamp_writes: None });
        for (p, bg, g) in &self.dispatches {
            pass.set_pipeline(p);
            pass.set_bind_group(0, bg, &[]);
            pass.dispatch_workgroups(g[0], g[1], g[2]);
        }
    }
    /// Encodes the dispatches `range` each in its own pass, its begin and end stamped into
    /// `queries` 2i and 2i + 1 (i counted from the range's start): see [`super::profile`].
    pub(crate) fn encode_timed(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        queries: &wgpu::QuerySet,
        range: std::ops::Range<usize>,
    ) {
        for (q, (p, bg, g)) in self.dispatches[range].iter().enumerate() {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("llama4 timed"),
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: queries,
                    beginning_of_pass_write_index: Some(2 * q as u32),
                    end_of_pass_write_index: Some(2 * q as u32 + 1),
                }),
            });
            pass.set_pipeline(p);
            pass.set_bind_group(0, bg, &[]);
            pass.dispatch_workgroups(g[0], g[1], g[2]);
        }
    }

    /// Each dispatch's kernel name, in order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    pub fn len(&self) -> usize {
        self.dispatches.len()
    }
    pub fn is_empty(&self) -> bool {
        self.dispatches.is_empty()
    }
}
