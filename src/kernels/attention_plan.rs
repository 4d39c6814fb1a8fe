//! How one step's attention is laid out on an adapter ([`AttentionPlan`]), and the scratch
//! buffers the layouts need ([`AttentionScratch`]), allocated once per workspace.

use super::attention::AttentionShape;
use crate::error::{Error, Result};
use crate::gpu::buffers::{uniform_windows, UNIFORM_X_BYTES};
use crate::gpu::{Activation, GpuContext};

/// The most partial results per (query, head) (SPLIT slices or windows; at most the combine's
/// 64 lanes).
pub const MAX_SPLITS: usize = 32;
/// Keys a split gets at least, so short caches split less.
const SPLIT_KEYS: usize = 256;
/// Tokens from which a CPU adapter's step takes the window layout: below it, a workgroup per
/// (query, head) keeps more lanes busy than a lane per query.
pub const WINDOW_MIN_TOKENS: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttentionPlan {
    /// One workgroup per (query, head) over all of its keys (attention.wgsl).
    Direct,
    /// Flash-decoding: each (query, head)'s keys in this many slices, then the combine.
    Split(usize),
    /// A lane per query (attention_window.wgsl): this step's keys packed head-major and read in
    /// `n` uniform windows of `keys` keys, plus one pass over the cached keys, then the combine.
    Windows { n: usize, keys: usize },
}

impl AttentionPlan {
    /// What a step of `n_tokens` tokens does on `ctx`:
    /// - a decode token on a GPU splits a cache of `s.cap` slots into slices of at least 256
    ///   keys, up to [`MAX_SPLITS`] (40 heads alone would leave most of a large GPU idle while
    ///   each walks the whole cache);
    /// - a prompt on a CPU adapter reads its keys through uniform windows, where storage reads
    ///   cost a loop over the SIMD lanes each;
    /// - the rest is direct: a prompt on a GPU has a workgroup per token already.
    pub fn pick(ctx: &GpuContext, s: AttentionShape, n_tokens: usize) -> Self {
        if may_split(ctx, n_tokens) {
            return match s.cap.div_ceil(SPLIT_KEYS).clamp(1, MAX_SPLITS) {
                1 => AttentionPlan::Direct,
                n => AttentionPlan::Split(n),
            };
        }
        if ctx.is_cpu() && n_tokens >= WINDOW_MIN_TOKENS && uniform_windows(ctx) {
            if let Some(p) = Self::windows(s, n_tokens) {
                return p;
            }
        }
        AttentionPlan::Direct
    }

    /// The window layout for `n_tokens` tokens, or `None` where it would take more than
    /// [`MAX_SPLITS`] partial results.
    pub fn windows(s: AttentionShape, n_tokens: usize) -> Option<Self> {
        // the most keys of head_dim d in 64 KiB whose rows end on a 256-byte boundary (the
        // next window's offset)
        let mut keys = UNIFORM_X_BYTES as usize / 4 / s.d;
        while !(keys * s.d).is_multiple_of(64) {
            keys -= 1;
        }
        let n = n_tokens.div_ceil(keys);
        (n < MAX_SPLITS).then_some(AttentionPlan::Windows { n, keys })
    }

    /// Partial results per (query, head): 0 for the direct layout.
    pub fn slots(&self) -> usize {
        match *self {
            AttentionPlan::Direct => 0,
            AttentionPlan::Split(n) => n,
            AttentionPlan::Windows { n, .. } => n + 1,
        }
    }
}

/// Whether steps of `n_tokens` tokens on `ctx` may split attention: one decode token on a GPU
/// adapter.
pub fn may_split(ctx: &GpuContext, n_tokens: usize) -> bool {
    n_tokens == 1 && !ctx.is_cpu()
}

/// Floats between two kv heads' rows in the packed copies of `n_tokens` rows: whole 256-byte
/// lines, so every window starts on one.
pub fn pack_stride(s: AttentionShape, n_tokens: usize) -> usize {
    (n_tokens * s.d).next_multiple_of(64)
}

/// The buffers a step's attention plan needs beyond its inputs and output: the partial results
/// (SPLIT and window layouts: `d` outputs, the running max and sum per (token, head, slot)) and
/// the packed copies of this step's k and v rows (window layout, uniform-readable).
#[derive(Default)]
pub struct AttentionScratch {
    pub part: Option<Activation>,
    pub k_pack: Option<Activation>,
    pub v_pack: Option<Activation>,
    /// `part` is another activation's buffer (see [`AttentionScratch::for_step`]), not counted
    /// in [`AttentionScratch::bytes`].
    part_shared: bool,
}

impl AttentionScratch {
    /// Room for `plan` over `n_tokens` tokens of shape `s`.
    pub fn new(ctx: &GpuContext, s: AttentionShape, n_tokens: usize, plan: AttentionPlan) -> Result<Self> {
        Self::new_in(ctx, s, n_tokens, plan, None)
    }

    /// As [`AttentionScratch::new`], the partial results in `share` where it is large enough.
    fn new_in(
        ctx: &GpuContext,
        s: AttentionShape,
        n_tokens: usize,
        plan: AttentionPlan,
        share: Option<&Activation>,
    ) -> Result<Self> {
        let [part, k_pack, v_pack] = Self::lens(s, n_tokens, plan);
        let shared = share.filter(|a| part > 0 && a.len >= part);
        let part = match shared {
            Some(a) => Some(Activation { buffer: a.buffer.clone(), len: a.len }),
            None => (part > 0).then(|| Activation::new(ctx, "attn_part", part)).transpose()?,
        };
        let pack = |name, len| (len > 0).then(|| Activation::new_uniform_windows(ctx, name, len)).transpose();
        Ok(AttentionScratch {
            part,
            k_pack: pack("k_pack", k_pack)?,
            v_pack: pack("v_pack", v_pack)?,
            part_shared: shared.is_some(),
        })
    }

    /// The floats of the partial results and of the packed k and v that `plan` over `n_tokens`
    /// tokens needs (0: no such buffer).
    fn lens(s: AttentionShape, n_tokens: usize, plan: AttentionPlan) -> [usize; 3] {
        let part = n_tokens * s.nh * plan.slots() * (s.d + 2);
        let pack = match plan {
            AttentionPlan::Windows { .. } => s.nkv * pack_stride(s, n_tokens),
            _ => 0,
        };
        [part, pack, pack]
    }

    /// The plan whose room [`AttentionScratch::for_step`] makes.
    fn step_plan(ctx: &GpuContext, s: AttentionShape, n_tokens: usize) -> AttentionPlan {
        match AttentionPlan::pick(ctx, s, n_tokens) {
            AttentionPlan::Split(_) => AttentionPlan::Split(MAX_SPLITS),
            p => p,
        }
    }

    /// Room for whatever plan [`AttentionPlan::pick`] makes for a step of `n_tokens` tokens in
    /// any layer of this geometry (the split count depends on a layer's cache: the most). The
    /// partial results go in `share` where it holds them: a buffer the step uses only outside
    /// attention (the feed-forward's activations, dead while a layer attends).
    pub fn for_step(ctx: &GpuContext, s: AttentionShape, n_tokens: usize, share: Option<&Activation>) -> Result<Self> {
        Self::new_in(ctx, s, n_tokens, Self::step_plan(ctx, s, n_tokens), share)
    }

    /// What [`AttentionScratch::for_step`] allocates, in floats, without allocating it.
    pub fn lens_for_step(ctx: &GpuContext, s: AttentionShape, n_tokens: usize) -> [usize; 3] {
        Self::lens(s, n_tokens, Self::step_plan(ctx, s, n_tokens))
    }

    pub fn bytes(&self) -> u64 {
        let part = if self.part_shared { None } else { self.part.as_ref() };
        [part, self.k_pack.as_ref(), self.v_pack.as_ref()].into_iter().flatten().map(|a| a.buffer.size()).sum()
    }

    /// The partial-result buffer, checked to hold `plan`'s slots.
    pub(super) fn part_for(&self, s: AttentionShape, n_tokens: usize, plan: AttentionPlan) -> Result<&Activation> {
        let need = n_tokens * s.nh * plan.slots() * (s.d + 2);
        match &self.part {
            Some(p) if p.len >= need => Ok(p),
            p => Err(Error::Shape(format!(
                "attention ({plan:?}): a partial buffer of {} floats, {need} needed",
                p.as_ref().map_or(0, |p| p.len)
            ))),
        }
    }

    /// The packed k and v copies, checked to hold `n_tokens` rows and be uniform-readable.
    pub(super) fn packs_for(&self, s: AttentionShape, n_tokens: usize) -> Result<(&Activation, &Activation)> {
        let need = s.nkv * pack_stride(s, n_tokens);
        match (&self.k_pack, &self.v_pack) {
            (Some(k), Some(v)) if k.len >= need && v.len >= need && k.uniform_readable() && v.uniform_readable() => {
                Ok((k, v))
            }
            _ => Err(Error::Shape(format!(
                "attention (windows): uniform-readable k/v packs of {need} floats are needed"
            ))),
        }
    }
}
