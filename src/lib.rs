//! # llama4-wgpu
//!
//! Llama 4 inference, text and images, where every op is a WGSL compute shader run through wgpu.
//!
//! The data flow, one module per stage:
//!
//! ```text
//! config.json | GGUF metadata ─► config::TextConfig (+ per-layer plan: RoPE+chunked /
//!        NoPE+global, dense / MoE)
//! *.safetensors | *.gguf ─► loader::TensorSource (mmap; tensors in a quant::WeightFormat)
//!        ─► model::TextModel (weights on the GPU in their own format, split into chunks that
//!        fit one storage binding, streamed up in bounded pieces)
//! token ids ─► model::Workspace + Recorder: every layer appends its dispatches ─► gpu::Plan
//!        (replayed each step: one compute pass, one submit)
//! logits ─► shaders/sample (greedy / temperature / top-k / top-p on the GPU) ─► next id
//! runtime::Session: prefill (one batched pass) then one token per decode step; KV cache per layer
//! runtime::ModelFiles: a checkpoint folder or a GGUF file, with its tokenizer and chat template
//! vision: image files -> Llama 4's processor -> tiles -> vision tower -> <|patch|> rows
//! reference: a plain f32 CPU implementation of every op and of the forward pass (the test oracle)
//! ```

pub mod api;
pub mod config;
pub mod conformance;
pub mod error;
pub mod gpu;
pub mod kernels;
pub mod loader;
pub mod model;
pub mod quant;
pub mod reference;
pub mod runtime;
pub mod vision;

pub use api::{CancelToken, Chat, Generation, Model, Prompt, Request, Runtime, Stats, StopReason, Token};
pub use config::TextConfig;
pub use error::{Error, Result};
