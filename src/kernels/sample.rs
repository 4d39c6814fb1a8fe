//! Token selection on the GPU.

use super::params::{fit, ArgmaxParams, SampleParams};
use super::{key, reducing};
use crate::error::{Error, Result};
use crate::gpu::{Activation, Flag, Recorder, Shader, Variant};

/// Logits per workgroup of the sampler's argmax pass.
const SLICE: usize = 4096;
/// The most slices (one per lane of the sampler's 256-lane reduction).
const MAX_SLICES: usize = 256;

/// The argmax pass's workgroups for a vocabulary of `vocab`: slices of at least 4096 logits.
pub fn sample_slices(vocab: usize) -> usize {
    vocab.div_ceil(SLICE).clamp(1, MAX_SLICES)
}

/// How the next token is chosen. `temperature <= 0` is greedy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SamplerConfig {
    pub temperature: f32,
    /// 0 = off.
    pub top_k: usize,
    /// >= 1 = off.
    pub top_p: f32,
    pub seed: u64,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig { temperature: 0.0, top_k: 0, top_p: 1.0, seed: 0 }
    }
}

impl SamplerConfig {
    pub fn greedy(&self) -> bool {
        self.temperature <= 0.0
    }
    pub fn validate(&self) -> Result<()> {
        if !self.temperature.is_finite() || self.temperature < 0.0 {
            return Err(Error::Input(format!("temperature must be >= 0, got {}", self.temperature)));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(Error::Input(format!("top-p must be in (0, 1], got {}", self.top_p)));
        }
        Ok(())
    }
    /// The 32-bit seed the shader's RNG uses.
    pub fn seed32(&self) -> u32 {
        (self.seed ^ (self.seed >> 32)) as u32
    }
}

/// Picks a token from logits row `row` (width `vocab`) into `out[0]`: the argmax pass over
/// [`sample_slices`] workgroups into `part` (2 words a slice), then the sampler.
#[allow(clippy::too_many_arguments)]
pub fn sample(
    rec: &mut Recorder,
    cfg: &SamplerConfig,
    logits: &Activation,
    row: usize,
    vocab: usize,
    out: &Activation,
    step: &wgpu::Buffer,
    part: &Activation,
) -> Result<()> {
    let slices = sample_slices(vocab);
    if part.len < 2 * slices || logits.len < (row + 1) * vocab {
        return Err(Error::Shape(format!("sample: buffers too small for a vocabulary of {vocab}")));
    }
    // equal slices; rounding the slice up may leave fewer than `slices` of them
    let slice = vocab.div_ceil(slices);
    let parts = vocab.div_ceil(slice);
    let a = ArgmaxParams { vocab: fit(vocab)?, row0: fit(row * vocab)?, slice: fit(slice)? };
    let argmax = Variant::new(Shader::SampleArgmax).flag(Flag::RowLane, rec.ctx.row_lane_matmul);
    rec.dispatch(&key(argmax), &a, &[&logits.buffer, &part.buffer], [parts as u32, 1, 1])?;
    let p = SampleParams {
        vocab: fit(vocab)?,
        row0: fit(row * vocab)?,
        greedy: cfg.greedy() as u32,
        top_k: fit(cfg.top_k)?,
        top_p: cfg.top_p,
        inv_temp: if cfg.greedy() { 1.0 } else { 1.0 / cfg.temperature },
        seed: cfg.seed32(),
        slices: fit(parts)?,
    };
    let binds = [&logits.buffer, &out.buffer, step, &part.buffer];
    rec.dispatch(&key(reducing(rec.ctx, Shader::Sample)), &p, &binds, [1, 1, 1])
}
