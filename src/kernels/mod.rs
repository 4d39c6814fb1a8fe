//! The Rust side of the kernels: shape checks, parameters and grid sizes, appended to a
//! [`Recorder`](crate::gpu::Recorder). The WGSL lives in `shaders/<family>/` (matmul, attention,
//! sample; `elementwise.rs` drives embed, norm, ffn and moe).

pub mod attention;
pub mod elementwise;
pub mod matmul;
pub mod sample;

pub use attention::{attention, kv_store, qk_prep, AttentionShape};
pub use elementwise::{embed, moe_combine, rmsnorm, router_topk, swiglu};
pub use matmul::{matmul, ExpertRouting, MatmulArgs};
pub use sample::{sample, SamplerConfig};

use crate::gpu::{PipelineKey, Variant};

pub(crate) fn key(v: Variant) -> PipelineKey {
    PipelineKey { variant: v, overrides: vec![] }
}

pub(crate) fn div_ceil(a: usize, b: usize) -> u32 {
    a.div_ceil(b) as u32
}
