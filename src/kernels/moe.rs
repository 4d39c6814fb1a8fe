//! The mixture-of-experts kernels around the expert matmuls (spec §2.7): router top-k, and for
//! prefill the grouping of the routed assignments by expert (a histogram and scan on the GPU,
//! then each expert's rows gathered into whole matmul tiles), and the combine into the residual.

use super::matmul::EXPERT_TILE;
use super::params::{fit, CombineParams, GatherParams, GroupParams, RouterParams};
use super::{div_ceil, key};
use crate::error::{Error, Result};
use crate::gpu::{Activation, Flag, GpuContext, Recorder, Shader, Variant};

/// The most experts the grouping handles (`MAX_EXPERTS` in moe/group.wgsl); Maverick has 128.
pub const MAX_GROUPED_EXPERTS: usize = 256;

/// Top-k of router logits `[T, E]` into expert ids and sigmoid scores `[T, k]`.
pub fn router_topk(
    rec: &mut Recorder,
    logits: &Activation,
    ids: &Activation,
    scores: &Activation,
    n_tokens: usize,
    n_experts: usize,
    k: usize,
) -> Result<()> {
    let p = RouterParams { n_experts: fit(n_experts)?, k: fit(k)?, n_tokens: fit(n_tokens)? };
    rec.dispatch(
        &key(Variant::new(Shader::Router)),
        &p,
        &[&logits.buffer, &ids.buffer, &scores.buffer],
        [div_ceil(n_tokens, 64), 1, 1],
    )
}

/// A prefill's routed assignments sorted by expert, each expert's run padded to whole tiles of
/// [`EXPERT_TILE`] rows: what [`moe_group`] writes, and the grouped matmuls (ids = `expert`),
/// [`moe_gather`] and [`moe_combine`] read.
pub struct ExpertRows {
    /// Routed assignments (`T k`).
    pub n: usize,
    pub n_experts: usize,
    /// Sorted rows, padding included: the most the grouping can fill.
    pub n_rows: usize,
    /// u32 `[n_rows]`: the expert of each row (with bit 31 set on padding rows), or `u32::MAX`
    /// past the last tile.
    pub expert: Activation,
    /// u32 `[n_rows]`: the assignment in each row, or `u32::MAX` for padding.
    pub src: Activation,
    /// u32 `[n]`: the row of each assignment.
    pub slot: Activation,
    /// `[n_rows, hidden]`: the rows' scaled inputs (uniform-readable, a matmul input).
    pub x: Activation,
}

impl ExpertRows {
    /// Rows for `n` assignments over `n_experts`: each of at most `min(n, E)` routed experts
    /// pads its run by less than a tile.
    pub fn rows_for(n: usize, n_experts: usize) -> usize {
        (n + n.min(n_experts) * (EXPERT_TILE - 1)).next_multiple_of(EXPERT_TILE)
    }

    pub fn new(ctx: &GpuContext, n: usize, n_experts: usize, hidden: usize) -> Result<Self> {
        if n_experts > MAX_GROUPED_EXPERTS {
            return Err(Error::Shape(format!(
                "grouping {n_experts} experts: at most {MAX_GROUPED_EXPERTS} are supported"
            )));
        }
        let n_rows = Self::rows_for(n, n_experts);
        Ok(ExpertRows {
            n,
            n_experts,
            n_rows,
            expert: Activation::new(ctx, "expert_rows", n_rows)?,
            src: Activation::new(ctx, "expert_src", n_rows)?,
            slot: Activation::new(ctx, "expert_slot", n)?,
            x: Activation::new_uniform_readable(ctx, "expert_x", n_rows * hidden)?,
        })
    }

    pub fn bytes(&self) -> u64 {
        [&self.expert, &self.src, &self.slot, &self.x].iter().map(|a| a.buffer.size()).sum()
    }
}

/// Sorts the `rows.n` assignments by their expert `ids` into `rows` (see moe/group.wgsl).
pub fn moe_group(rec: &mut Recorder, ids: &Activation, rows: &ExpertRows) -> Result<()> {
    if ids.len < rows.n {
        return Err(Error::Shape(format!("moe_group: {} ids for {} assignments", ids.len, rows.n)));
    }
    let p = GroupParams {
        n: fit(rows.n)?,
        n_experts: fit(rows.n_experts)?,
        tile: fit(EXPERT_TILE)?,
        n_rows: fit(rows.n_rows)?,
    };
    let binds = [&ids.buffer, &rows.expert.buffer, &rows.src.buffer, &rows.slot.buffer];
    rec.dispatch(&key(Variant::new(Shader::MoeGroup)), &p, &binds, [1, 1, 1])
}

/// `rows.x[r, :] = x[a / k, :] * scores[a]` for the assignment `a` of each sorted row.
pub fn moe_gather(
    rec: &mut Recorder,
    x: &Activation,
    scores: &Activation,
    k: usize,
    hidden: usize,
    rows: &ExpertRows,
) -> Result<()> {
    if x.len < rows.n.div_ceil(k) * hidden || scores.len < rows.n || rows.x.len < rows.n_rows * hidden {
        return Err(Error::Shape(format!("moe_gather: buffers too small for {} assignments", rows.n)));
    }
    let p = GatherParams { hidden: fit(hidden)?, k: fit(k)?, n_rows: fit(rows.n_rows)? };
    let binds = [&x.buffer, &rows.src.buffer, &scores.buffer, &rows.x.buffer];
    rec.dispatch(&key(Variant::new(Shader::MoeGather)), &p, &binds, [div_ceil(hidden, 64), rows.n_rows as u32, 1])
}

/// `h[t, :] += sum_j y[row(t k + j), :]`, where `row` is the identity, or with `slot` (grouped
/// rows) `slot[a]`.
pub fn moe_combine(
    rec: &mut Recorder,
    y: &Activation,
    h: &Activation,
    n_tokens: usize,
    hidden: usize,
    k: usize,
    slot: Option<&Activation>,
) -> Result<()> {
    let p = CombineParams { hidden: fit(hidden)?, k: fit(k)?, n_tokens: fit(n_tokens)? };
    let mut binds = vec![&y.buffer, &h.buffer];
    binds.extend(slot.map(|s| &s.buffer));
    rec.dispatch(
        &key(Variant::new(Shader::MoeCombine).flag(Flag::Grouped, slot.is_some())),
        &p,
        &binds,
        [div_ceil(hidden, 64), n_tokens as u32, 1],
    )
}
