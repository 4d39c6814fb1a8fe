//! q/k preparation (RoPE, QK norm, temperature), causal chunked/global attention, KV append.

use super::params::{fit, AttentionParams, QkPrepParams};
use super::{key, reducing};
use crate::error::{Error, Result};
use crate::gpu::{Activation, Flag, GpuContext, PipelineKey, Recorder, Shader, Variant};

/// Attention geometry of one layer.
#[derive(Clone, Copy, Debug)]
pub struct AttentionShape {
    pub nh: usize,
    pub nkv: usize,
    pub d: usize,
    /// KV cache slots (ring size for chunked layers).
    pub cap: usize,
    /// Chunk size for chunked layers, 0 for global layers.
    pub chunk: usize,
    /// The cache holds f16 (two per word) instead of f32.
    pub kv_f16: bool,
}

impl AttentionShape {
    pub fn width(&self) -> usize {
        (self.nh + 2 * self.nkv) * self.d
    }

    /// Words of one K (or V) cache buffer.
    pub fn cache_words(&self) -> usize {
        let n = self.cap * self.nkv * self.d;
        if self.kv_f16 {
            n / 2
        } else {
            n
        }
    }

    fn check_cache(&self, k: &Activation, v: &Activation) -> Result<()> {
        if k.len < self.cache_words() || v.len < self.cache_words() {
            return Err(Error::Shape(format!(
                "attention: KV cache buffers of {} words, {} needed",
                k.len.min(v.len),
                self.cache_words()
            )));
        }
        Ok(())
    }

    fn params(&self) -> Result<AttentionParams> {
        Ok(AttentionParams {
            nh: fit(self.nh)?,
            nkv: fit(self.nkv)?,
            d: fit(self.d)?,
            width: fit(self.width())?,
            cap: fit(self.cap)?,
            chunk: fit(self.chunk)?,
            scale: (self.d as f32).powf(-0.5),
            splits: 1,
        })
    }
}

pub const MAX_HEAD_DIM: usize = 256;

/// What the attention kernels need of a model's shape, checked when a model loads (not at its
/// first step): head_dim a multiple of 4 (K/V are read as vec4) up to 256, query heads a multiple
/// of the key/value heads.
pub fn check_shape(head_dim: usize, heads: usize, kv_heads: usize) -> Result<()> {
    if head_dim == 0 || head_dim > MAX_HEAD_DIM || !head_dim.is_multiple_of(4) {
        return Err(Error::Input(format!(
            "head_dim {head_dim} is not supported by the attention kernels (a multiple of 4, at most {MAX_HEAD_DIM})"
        )));
    }
    if kv_heads == 0 || !heads.is_multiple_of(kv_heads) {
        return Err(Error::Input(format!("{heads} attention heads are not a multiple of {kv_heads} key/value heads")));
    }
    Ok(())
}

/// In place on qkv: RoPE (+ QK norm) or the NoPE temperature.
#[allow(clippy::too_many_arguments)]
pub fn qk_prep(
    rec: &mut Recorder,
    s: AttentionShape,
    qkv: &Activation,
    table: &Activation,
    temps: &Activation,
    n_tokens: usize,
    rope: bool,
    qk_norm: bool,
    temperature: bool,
    eps: f32,
) -> Result<()> {
    let heads = if rope {
        s.nh + s.nkv
    } else if temperature {
        s.nh
    } else {
        return Ok(());
    };
    let p = QkPrepParams {
        nh: fit(s.nh)?,
        nkv: fit(s.nkv)?,
        d: fit(s.d)?,
        width: fit(s.width())?,
        rope: rope as u32,
        qk_norm: qk_norm as u32,
        temperature: temperature as u32,
        eps,
    };
    rec.dispatch(
        &key(reducing(rec.ctx, Shader::QkPrep)),
        &p,
        &[&qkv.buffer, &table.buffer, &temps.buffer],
        [n_tokens as u32, heads as u32, 1],
    )
}

/// The most workgroups that share one (query, head)'s keys (SPLIT attention; at most the
/// combine's 64 lanes).
pub const MAX_SPLITS: usize = 32;
/// Keys a split gets at least, so short caches split less.
const SPLIT_KEYS: usize = 256;

/// How many workgroups share each (query, head)'s keys in a step of `n_tokens` tokens: a decode
/// token on a GPU splits a cache of `s.cap` slots into slices of at least 256 keys, up to
/// [`MAX_SPLITS`] (40 heads alone would leave most of a large GPU idle while each walks the
/// whole cache). Prefill has a workgroup per token already, and a CPU adapter, with a few
/// cores, gains nothing from more workgroups: 1 there.
pub fn attention_splits(ctx: &GpuContext, s: AttentionShape, n_tokens: usize) -> usize {
    if !may_split(ctx, n_tokens) {
        return 1;
    }
    s.cap.div_ceil(SPLIT_KEYS).clamp(1, MAX_SPLITS)
}

/// Whether steps of `n_tokens` tokens on `ctx` may split attention (and so need the partial
/// buffer of [`split_floats`]): one decode token on a GPU adapter.
pub fn may_split(ctx: &GpuContext, n_tokens: usize) -> bool {
    n_tokens == 1 && ctx.info.device_type != wgpu::DeviceType::Cpu
}

/// Floats of the partial-result buffer SPLIT attention writes: `d` outputs, the running max and
/// sum per (token, head, split).
pub fn split_floats(s: AttentionShape, n_tokens: usize, splits: usize) -> usize {
    n_tokens * s.nh * splits * (s.d + 2)
}

/// Causal attention of `n_tokens` queries over the cache and this step's keys into `out`.
/// `split`: a partial-result buffer and a split count above 1 run SPLIT attention (each
/// (query, head)'s keys in that many slices) and then the combine.
#[allow(clippy::too_many_arguments)]
pub fn attention(
    rec: &mut Recorder,
    s: AttentionShape,
    qkv: &Activation,
    k_cache: &Activation,
    v_cache: &Activation,
    out: &Activation,
    step: &wgpu::Buffer,
    n_tokens: usize,
    split: Option<(&Activation, usize)>,
) -> Result<()> {
    check_shape(s.d, s.nh, s.nkv)?;
    s.check_cache(k_cache, v_cache)?;
    let split = split.filter(|&(_, n)| n > 1);
    if let Some((_, n)) = split.filter(|&(_, n)| n > MAX_SPLITS) {
        return Err(Error::Shape(format!("attention: {n} splits, at most {MAX_SPLITS}")));
    }
    // f16 math only where the cache is f16 (`--dtype f16`) and the adapter has shader-f16
    let v = reducing(rec.ctx, Shader::Attention)
        .flag(Flag::KvHalf, s.kv_f16)
        .flag(Flag::F16, s.kv_f16 && rec.ctx.shader_f16)
        .flag(Flag::Split, split.is_some())
        .flag(Flag::QPrivate, rec.ctx.info.device_type == wgpu::DeviceType::Cpu);
    let grid = [n_tokens as u32, s.nh as u32, 1];
    let caches = [&qkv.buffer, &k_cache.buffer, &v_cache.buffer];
    let k = PipelineKey { variant: v, overrides: vec![("D4", fit(s.d / 4)?)] };
    let Some((part, splits)) = split else {
        return rec.dispatch(&k, &s.params()?, &[caches[0], caches[1], caches[2], &out.buffer, step], grid);
    };
    if part.len < split_floats(s, n_tokens, splits) {
        return Err(Error::Shape(format!(
            "attention: a partial buffer of {} floats, {} needed for {splits} splits",
            part.len,
            split_floats(s, n_tokens, splits)
        )));
    }
    let p = AttentionParams { splits: fit(splits)?, ..s.params()? };
    rec.dispatch(&k, &p, &[caches[0], caches[1], caches[2], &part.buffer, step], [grid[0], grid[1], p.splits])?;
    rec.dispatch(&key(Variant::new(Shader::AttentionCombine)), &p, &[&part.buffer, &out.buffer], grid)
}

pub fn kv_store(
    rec: &mut Recorder,
    s: AttentionShape,
    qkv: &Activation,
    k_cache: &Activation,
    v_cache: &Activation,
    step: &wgpu::Buffer,
    n_tokens: usize,
) -> Result<()> {
    s.check_cache(k_cache, v_cache)?;
    rec.dispatch(
        &key(Variant::new(Shader::KvStore).flag(Flag::KvHalf, s.kv_f16)),
        &s.params()?,
        &[&qkv.buffer, &k_cache.buffer, &v_cache.buffer, step],
        [super::div_ceil(s.nkv * s.d / 2, 64), n_tokens as u32, 1],
    )
}
