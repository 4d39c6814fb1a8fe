//! # llama4-wgpu
//!
//! Llama 4 text inference where every op is a WGSL compute shader run through wgpu.
//!
//! The data flow, one module per stage:
//!
//! ```text
//! config.json ─► config::TextConfig (+ per-layer plan: RoPE+chunked / NoPE+global, dense / MoE)
//! *.safetensors ─► loader::Checkpoint (mmap, shards) ─► model::TextModel (weights on the GPU,
//!        split into chunks that fit one storage binding)
//! token ids ─► model::Workspace + Recorder: every layer appends its dispatches ─► gpu::Plan
//!        (replayed each step: one compute pass, one submit)
//! logits ─► shaders/sample (greedy / temperature / top-k / top-p on the GPU) ─► next id
//! runtime::Session: prefill (one batched pass) then one token per decode step; KV cache per layer
//! runtime::tokenizer: tokenizer.json + the Llama 4 chat template
//! reference: a plain f32 CPU implementation of every op and of the forward pass (the test oracle)
//! ```

pub mod config;
pub mod error;
pub mod gpu;
pub mod kernels;
pub mod loader;
pub mod model;
pub mod quant;
pub mod reference;
pub mod runtime;

pub use config::TextConfig;
pub use error::{Error, Result};
