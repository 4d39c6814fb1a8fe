//! Token selection on the GPU.

use super::params::{fit, ArgmaxParams, CandidatesParams, SampleParams};
use super::{key, reducing};
use crate::error::{Error, Result};
use crate::gpu::{Activation, Flag, Recorder, Shader, Variant};

/// Logits per workgroup of the sampler's argmax pass.
const SLICE: usize = 4096;
/// The most slices (one per segment of the sampler's draw, `NSEG` in sample.wgsl).
const MAX_SLICES: usize = 256;

/// Candidates a slice lists at most for a top-k or top-p search (`sample/candidates.wgsl`): a
/// slice with more is searched in the whole vocabulary instead.
pub const CANDIDATES: usize = 1024;

/// The argmax pass's workgroups for a vocabulary of `vocab`: slices of at least 4096 logits.
pub fn sample_slices(vocab: usize) -> usize {
    vocab.div_ceil(SLICE).clamp(1, MAX_SLICES)
}

/// The slices the argmax and candidates passes take over a vocabulary of `vocab`: `(ids a
/// slice, slices)`. Equal slices of at least [`sample_slices`]'s width; rounding the width up may
/// leave fewer than `sample_slices(vocab)` of them.
pub fn slicing(vocab: usize) -> (usize, usize) {
    let slice = vocab.div_ceil(sample_slices(vocab));
    (slice, vocab.div_ceil(slice))
}

/// What the sampler's passes hand on: per slice the argmax pass's (max, id) and the candidates
/// pass's (count, weight), and the slices' candidate lists.
pub struct SampleScratch {
    /// u32 `[4 slices]`.
    pub part: Activation,
    /// u32 `[slices, CANDIDATES]`.
    pub cand: Activation,
}

impl SampleScratch {
    pub fn new(ctx: &crate::gpu::GpuContext, vocab: usize) -> Result<Self> {
        let slices = sample_slices(vocab);
        Ok(SampleScratch {
            part: Activation::new(ctx, "sample_part", 4 * slices)?,
            cand: Activation::new(ctx, "sample_candidates", slices * CANDIDATES)?,
        })
    }

    pub fn bytes(&self) -> u64 {
        self.part.buffer.size() + self.cand.buffer.size()
    }
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
    /// Whether a draw over `vocab` tokens keeps a top-k or top-p set smaller than the
    /// vocabulary, searched first (and so listed by the candidates pass).
    pub fn searches(&self, vocab: usize) -> bool {
        !self.greedy() && ((self.top_k > 0 && self.top_k < vocab) || self.top_p < 1.0)
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
/// [`sample_slices`] workgroups, with top-k or top-p the candidates pass over the same slices,
/// then the sampler.
#[allow(clippy::too_many_arguments)]
pub fn sample(
    rec: &mut Recorder,
    cfg: &SamplerConfig,
    logits: &Activation,
    row: usize,
    vocab: usize,
    out: &Activation,
    step: &wgpu::Buffer,
    scratch: &SampleScratch,
) -> Result<()> {
    let (part, cand) = (&scratch.part, &scratch.cand);
    let slices = sample_slices(vocab);
    if part.len < 4 * slices || cand.len < slices * CANDIDATES || logits.len < (row + 1) * vocab {
        return Err(Error::Shape(format!("sample: buffers too small for a vocabulary of {vocab}")));
    }
    let (slice, parts) = slicing(vocab);
    let a = ArgmaxParams { vocab: fit(vocab)?, row0: fit(row * vocab)?, slice: fit(slice)? };
    let argmax = Variant::new(Shader::SampleArgmax).flag(Flag::RowLane, rec.ctx.row_lane_matmul);
    rec.dispatch(&key(argmax), &a, &[&logits.buffer, &part.buffer], [parts as u32, 1, 1])?;
    let inv_temp = if cfg.greedy() { 1.0 } else { 1.0 / cfg.temperature };
    // a kept set smaller than the vocabulary: list each slice's candidates
    let searches = cfg.searches(vocab);
    if searches {
        let c = CandidatesParams {
            vocab: fit(vocab)?,
            row0: fit(row * vocab)?,
            slice: fit(slice)?,
            slices: fit(parts)?,
            inv_temp,
            cap: fit(CANDIDATES)?,
        };
        let binds = [&logits.buffer, &part.buffer, &cand.buffer];
        rec.dispatch(&key(Variant::new(Shader::SampleCandidates)), &c, &binds, [parts as u32, 1, 1])?;
    }
    let p = SampleParams {
        vocab: fit(vocab)?,
        row0: fit(row * vocab)?,
        greedy: cfg.greedy() as u32,
        top_k: fit(cfg.top_k)?,
        top_p: cfg.top_p,
        inv_temp,
        seed: cfg.seed32(),
        slices: fit(parts)?,
        cap: if searches { fit(CANDIDATES)? } else { 0 },
    };
    let binds = [&logits.buffer, &out.buffer, step, &part.buffer, &cand.buffer];
    rec.dispatch(&key(reducing(rec.ctx, Shader::Sample)), &p, &binds, [1, 1, 1])
}
