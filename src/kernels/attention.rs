//! q/k preparation (RoPE, QK norm, temperature), causal chunked/global attention, KV append.

use super::attention_plan::{pack_stride, AttentionPlan, AttentionScratch, MAX_SPLITS};
use super::params::{fit, AttentionParams, QkPrepParams};
use super::{key, reducing};
use crate::error::{Error, Result};
use crate::gpu::buffers::UNIFORM_X_BYTES;
use crate::gpu::{Activation, Binding, Flag, PipelineKey, Recorder, Shader, Variant};

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
            kv_head: 0,
            window: 0,
            window_keys: 0,
            pack_stride: 0,
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
        &key(reducing(rec.ctx, Shader::QkPrep).flag(Flag::RowLane, rec.ctx.row_lane_matmul)),
        &p,
        &[&qkv.buffer, &table.buffer, &temps.buffer],
        [n_tokens as u32, heads as u32, 1],
    )
}

/// Causal attention of `n_tokens` queries over the cache and this step's keys into `out`, laid
/// out as `plan` says ([`AttentionPlan::pick`] for the adapter; the conformance checks force
/// each), with the buffers it needs from `scratch`.
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
    plan: AttentionPlan,
    scratch: &AttentionScratch,
) -> Result<()> {
    check_shape(s.d, s.nh, s.nkv)?;
    s.check_cache(k_cache, v_cache)?;
    if plan.slots() > MAX_SPLITS {
        return Err(Error::Shape(format!("attention: {plan:?} has more than {MAX_SPLITS} partial results")));
    }
    let grid = [n_tokens as u32, s.nh as u32, 1];
    let d4 = vec![("D4", fit(s.d / 4)?)];
    let caches = [&qkv.buffer, &k_cache.buffer, &v_cache.buffer];
    // f16 math only where the cache is f16 (`--dtype f16`) and the adapter has shader-f16
    let direct = |split: bool| {
        let v = reducing(rec.ctx, Shader::Attention)
            .flag(Flag::KvHalf, s.kv_f16)
            .flag(Flag::F16, s.kv_f16 && rec.ctx.shader_f16)
            .flag(Flag::Split, split)
            .flag(Flag::QPrivate, rec.ctx.is_cpu());
        PipelineKey { variant: v, overrides: d4.clone() }
    };
    let p = AttentionParams { splits: fit(plan.slots().max(1))?, ..s.params()? };
    // the layouts but the direct one write partial results, which the combine merges
    let part = match plan {
        AttentionPlan::Direct => {
            return rec.dispatch(&direct(false), &p, &[caches[0], caches[1], caches[2], &out.buffer, step], grid)
        }
        _ => scratch.part_for(s, n_tokens, plan)?,
    };
    let b = [caches[0], caches[1], caches[2], &part.buffer, step];
    if let AttentionPlan::Windows { n, keys } = plan {
        windows(rec, s, p, b, scratch.packs_for(s, n_tokens)?, n_tokens, (n, keys), d4)?;
    } else {
        rec.dispatch(&direct(true), &p, &b, [grid[0], grid[1], p.splits])?;
    }
    let v = Variant::new(Shader::AttentionCombine).flag(Flag::RowLane, rec.ctx.row_lane_matmul);
    rec.dispatch(&key(v), &p, &[&part.buffer, &out.buffer], grid)
}

/// Queries per workgroup of attention_window.wgsl (`LANES`).
const WINDOW_LANES: usize = 8;

/// The window layout's passes before the combine: this step's K and V packed head-major, then
/// attention_window.wgsl once per (kv head, window of `keys` keys) and once over the cached keys
/// (partial slot `n`). `b`: qkv, the K and V caches, the partial results, the step uniform.
#[allow(clippy::too_many_arguments)]
fn windows(
    rec: &mut Recorder,
    s: AttentionShape,
    p: AttentionParams,
    b: [&wgpu::Buffer; 5],
    (kp, vp): (&Activation, &Activation),
    n_tokens: usize,
    (n, keys): (usize, usize),
    d4: Vec<(&'static str, u32)>,
) -> Result<()> {
    let p = AttentionParams { window_keys: fit(keys)?, pack_stride: fit(pack_stride(s, n_tokens))?, ..p };
    let pack = key(Variant::new(Shader::KvStore).flag(Flag::Pack, true));
    let groups = [super::div_ceil(s.nkv * s.d / 2, 64), n_tokens as u32, 1];
    rec.dispatch(&pack, &p, &[b[0], &kp.buffer, &vp.buffer, b[4]], groups)?;
    // subgroup broadcasts where one subgroup holds the workgroup's 8 lanes
    let sg = rec.ctx.subgroup_holds(WINDOW_LANES);
    let v = Variant::new(Shader::AttentionWindow).flag(Flag::KvHalf, s.kv_f16).flag(Flag::Subgroup, sg);
    let k = PipelineKey { variant: v, overrides: d4 };
    let tiles = super::div_ceil(n_tokens, WINDOW_LANES);
    let passes = (0..s.nkv).flat_map(|g| (0..n).map(move |w| (g, w))).chain([(0, n)]);
    for (g, w) in passes {
        let p = AttentionParams { kv_head: fit(g)?, window: fit(w)?, ..p };
        // the window's bytes of the packs (the cached keys' pass reads none: any window)
        let at = if w == n { 0 } else { 4 * (g * p.pack_stride as usize + w * keys * s.d) as u64 };
        let heads = if w == n { s.nh } else { s.nh / s.nkv };
        let mut binds: Vec<_> = b.iter().map(|&x| Binding::Buffer(x)).collect();
        binds.extend([
            Binding::Window(&kp.buffer, at, UNIFORM_X_BYTES),
            Binding::Window(&vp.buffer, at, UNIFORM_X_BYTES),
        ]);
        rec.dispatch_bound(&k, &p, &binds, [tiles, heads as u32, 1])?;
    }
    Ok(())
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
