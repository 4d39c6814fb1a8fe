//! Shared test helpers. GPU tests fail (never skip) when no adapter exists.
#![allow(dead_code)]

use llama4_wgpu::gpu::{AdapterChoice, GpuContext};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub fn gpu() -> &'static GpuContext {
    static CTX: OnceLock<GpuContext> = OnceLock::new();
    CTX.get_or_init(|| gpu_with(AdapterChoice::default()))
}

/// Switches off Mesa's device-select layer on headless machines, once, before any GPU call.
pub fn quiet_vulkan() {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(llama4_wgpu::gpu::quiet_headless_vulkan);
}

pub fn gpu_with(choice: AdapterChoice) -> GpuContext {
    quiet_vulkan();
    match pollster::block_on(GpuContext::new(&choice)) {
        Ok(c) => c,
        Err(e) => panic!("GPU tests need an adapter (install mesa-vulkan-drivers for lavapipe): {e}"),
    }
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

pub struct Reference {
    pub prompt_ids: Vec<u32>,
    pub greedy_tokens: Vec<u32>,
    pub prompt_logits: Vec<f32>,
    pub decode_logits: Vec<f32>,
}

pub fn reference(dir: &Path) -> Reference {
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap();
    let ids = |k: &str| r[k].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect::<Vec<_>>();
    let (_, prompt_logits) = llama4_wgpu::runtime::npy::read_f32(&dir.join("prompt_logits.npy")).unwrap();
    let (_, decode_logits) = llama4_wgpu::runtime::npy::read_f32(&dir.join("decode_logits.npy")).unwrap();
    Reference { prompt_ids: ids("prompt_ids"), greedy_tokens: ids("greedy_tokens"), prompt_logits, decode_logits }
}

/// max |a - b| / max |b|, panicking on NaN or a length mismatch.
pub fn rel_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let e = llama4_wgpu::conformance::data::rel_err(a, b);
    assert!(e.is_finite(), "non-finite values");
    e as f32
}

pub use llama4_wgpu::conformance::data::{rand_vec, random_blocks};

pub mod gguf;
