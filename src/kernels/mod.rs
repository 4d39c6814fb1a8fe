//! The Rust side of the kernels: shape checks, parameters and grid sizes, appended to a
//! [`Recorder`](crate::gpu::Recorder). The WGSL lives in `shaders/<family>/` (matmul, attention,
//! moe, sample; `elementwise.rs` drives embed, norm and ffn).

pub mod attention;
pub mod attention_plan;
pub mod elementwise;
pub mod matmul;
pub mod moe;
pub mod params;
pub mod peaks;
pub mod sample;
pub mod vision;

pub use attention::{attention, kv_store, qk_prep, AttentionShape};
pub use attention_plan::{AttentionPlan, AttentionScratch, MAX_SPLITS};
pub use elementwise::{embed, rmsnorm, swiglu};
pub use matmul::{matmul, ExpertRouting, MatmulArgs, RowNorm, EXPERT_TILE};
pub use moe::{moe_combine, moe_gather, moe_group, router_topk, ExpertRows, MAX_GROUPED_EXPERTS};
pub use sample::{sample, sample_slices, slicing, SampleScratch, SamplerConfig};

use crate::gpu::{Flag, GpuContext, PipelineKey, Shader, Variant, WeightChunk, WeightStore};

pub(crate) fn key(v: Variant) -> PipelineKey {
    PipelineKey { variant: v, overrides: vec![] }
}

/// A weight reader (matmul, embed) for chunk `c`: its format, read from its texture or buffer;
/// halves decoded with `unpack2x16float` where the device has it, else with integer ops.
pub(crate) fn weight_reader(ctx: &GpuContext, s: Shader, c: &WeightChunk) -> Variant {
    let texture = matches!(c.store, WeightStore::Texture { .. });
    Variant::new(s).weights(c.format).flag(Flag::HalfPack, ctx.f16_in_f32).flag(Flag::WTex, texture)
}

/// A shader that reduces across its workgroup: the subgroup variant where the device has it.
pub(crate) fn reducing(ctx: &GpuContext, s: Shader) -> Variant {
    Variant::new(s).flag(Flag::Subgroup, ctx.subgroups)
}

pub(crate) fn div_ceil(a: usize, b: usize) -> u32 {
    a.div_ceil(b) as u32
}
