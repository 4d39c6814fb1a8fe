//! Per-dispatch GPU time from timestamp queries (wgpu's TIMESTAMP_QUERY, where the adapter has
//! it): a plan replayed with each dispatch in its own compute pass, the pass's begin and end
//! stamped, the stamps resolved and read back with the step.

use crate::error::Result;
use crate::gpu::buffers::map_and_read;
use crate::gpu::{GpuContext, Plan};

/// Timestamps one query set holds (wgpu's `QUERY_SET_MAX_QUERIES`): 2048 dispatches per set.
const SET_QUERIES: usize = 4096;

/// One dispatch's kernel and its GPU time.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DispatchTime {
    pub kernel: String,
    pub ns: f64,
}

/// The query sets and buffers that time one replay of a plan of `n` dispatches.
pub struct Timer {
    sets: Vec<wgpu::QuerySet>,
    resolve: wgpu::Buffer,
    read: wgpu::Buffer,
    n: usize,
}

impl Timer {
    /// `None` where the device was made without timestamp queries.
    pub fn new(ctx: &GpuContext, n: usize) -> Option<Self> {
        if !ctx.features.contains(wgpu::Features::TIMESTAMP_QUERY) || n == 0 {
            return None;
        }
        let per_set = SET_QUERIES / 2;
        let sets = (0..n.div_ceil(per_set))
            .map(|i| {
                ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("dispatch timestamps"),
                    ty: wgpu::QueryType::Timestamp,
                    count: (2 * (n - i * per_set).min(per_set)) as u32,
                })
            })
            .collect();
        let bytes = (n * 16) as u64;
        let buffer = |label, usage| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        let resolve = buffer("timestamps", wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC);
        let read = buffer("timestamp readback", wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST);
        Some(Timer { sets, resolve, read, n })
    }

    /// Encodes `plan` timed, then the resolve and the copy to the readback buffer.
    pub fn encode(&self, plan: &Plan, encoder: &mut wgpu::CommandEncoder) {
        let per_set = SET_QUERIES / 2;
        for (i, set) in self.sets.iter().enumerate() {
            let range = i * per_set..((i + 1) * per_set).min(self.n);
            let count = 2 * range.len() as u32;
            plan.encode_timed(encoder, set, range);
            // each full set is 32 KiB of stamps: offsets stay 256-byte aligned
            encoder.resolve_query_set(set, 0..count, &self.resolve, (i * per_set * 16) as u64);
        }
        encoder.copy_buffer_to_buffer(&self.resolve, 0, &self.read, 0, (self.n * 16) as u64);
    }

    /// Each dispatch's GPU time in ns, labelled with `plan`'s kernels (after the submit).
    pub async fn read(&self, ctx: &GpuContext, plan: &Plan) -> Result<Vec<DispatchTime>> {
        let words = map_and_read(ctx, &self.read, self.n * 4).await?;
        let period = ctx.queue.get_timestamp_period() as f64;
        let stamp = |i: usize| words[2 * i] as u64 | (words[2 * i + 1] as u64) << 32;
        Ok(plan
            .labels()
            .iter()
            .enumerate()
            .map(|(d, kernel)| DispatchTime {
                kernel: kernel.clone(),
                ns: stamp(2 * d + 1).saturating_sub(stamp(2 * d)) as f64 * period,
            })
            .collect())
    }
}
