//! Shared test helpers. GPU tests fail (never skip) when no adapter exists.
#![allow(dead_code)]

use llama4_wgpu::gpu::{AdapterChoice, GpuContext};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub fn gpu() -> &'static GpuContext {
    static CTX: OnceLock<GpuContext> = OnceLock::new();
    CTX.get_or_init(|| gpu_with(AdapterChoice::default()))
}

pub fn gpu_with(choice: AdapterChoice) -> GpuContext {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(llama4_wgpu::gpu::quiet_headless_vulkan);
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

/// max |a - b| / max |b|
pub fn rel_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let num = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    let den = b.iter().map(|y| y.abs()).fold(0.0f32, f32::max);
    assert!(a.iter().all(|x| x.is_finite()), "non-finite values");
    num / den.max(1e-30)
}

/// Deterministic pseudo-random values in [-1, 1).
pub fn rand_vec(n: usize, seed: u32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| (llama4_wgpu::reference::ops::pcg(i.wrapping_mul(2654435761) ^ seed) >> 8) as f32 / 8388608.0 - 1.0)
        .collect()
}

/// `n` weights of a block format as random but valid blocks: random quant bits, and small
/// random scales (the f16 fields) so values stay in a realistic range.
pub fn random_blocks(f: llama4_wgpu::quant::WeightFormat, n: usize, seed: u32) -> Vec<u8> {
    use llama4_wgpu::quant::WeightFormat as W;
    let bytes = f.bytes_for(n).expect("whole blocks");
    let mut out: Vec<u8> = (0..bytes as u32)
        .map(|i| (llama4_wgpu::reference::ops::pcg(i.wrapping_mul(2654435761) ^ seed) >> 13) as u8)
        .collect();
    // byte offsets of the f16 scale fields inside one block
    let halves: &[usize] = match f {
        W::Q8_0 | W::Q4_0 | W::Q5_0 => &[0],
        W::Q4_1 | W::Q5_1 | W::Q4K | W::Q5K => &[0, 2],
        W::Q6K => &[208],
        _ => &[],
    };
    for (b, block) in out.chunks_exact_mut(f.block_bytes()).enumerate() {
        for (j, &o) in halves.iter().enumerate() {
            let r = llama4_wgpu::reference::ops::pcg((b * 7 + j) as u32 ^ seed.rotate_left(7));
            let v = (0.002 + (r % 1000) as f32 * 2e-5) * if r & 0x10000 != 0 { -1.0 } else { 1.0 };
            block[o..o + 2].copy_from_slice(&half::f16::from_f32(v).to_le_bytes());
        }
    }
    out
}

pub mod gguf;
