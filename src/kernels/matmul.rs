//! `y = W x` for [`Matrix`] weights, dense or expert-indexed (the MoE `mul_mat_id`).

use super::params::{fit, MatmulParams};
use super::{div_ceil, weight_reader};
use crate::error::{Error, Result};
use crate::gpu::buffers::{UNIFORM_X_ALIGN, UNIFORM_X_BYTES};
use crate::gpu::{Activation, Binding, Flag, Matrix, PipelineKey, Recorder, Shader};
use std::ops::Range;

/// Output rows per invocation (ROW_LANE) or per workgroup.
const ROWS: usize = 4;

/// Invocations per workgroup in the ROW_LANE layout (`LANE_WG` in the shader).
const LANE_WG: usize = 8;
const MAX_TT: usize = 8;

/// The tiled GEMM's tile (`TILE_N` rows by `TILE_T` tokens in the shader).
const TILE_N: usize = 64;
const TILE_T: usize = 32;

/// Whether a dense matmul of `n_tokens` rows runs as the tiled GEMM on `ctx` (GPU layout): from
/// half a tile of tokens up, where a tile's one decode of each weight serves enough tokens.
pub fn tiled(ctx: &crate::gpu::GpuContext, n_tokens: usize) -> bool {
    ctx.tiled_gemm && n_tokens >= TILE_T / 2
}

/// Rows of one matmul tile in prefill: grouped expert rows come in whole tiles of one expert
/// (see [`ExpertRouting::grouped`]).
pub const EXPERT_TILE: usize = MAX_TT;

/// Whether the matmul takes its SUBGROUP variant on `ctx`: split-k sums within subgroups first,
/// or (ROW_LANE) a workgroup's 8 lanes share their activation loads through subgroup broadcasts,
/// where one subgroup holds them.
pub fn subgroups(ctx: &crate::gpu::GpuContext) -> bool {
    if ctx.row_lane_matmul {
        ctx.subgroup_holds(LANE_WG)
    } else {
        ctx.subgroups
    }
}

/// Expert routing for the EXPERT_ID variant: activation row `a` uses expert `ids[a]`.
pub struct ExpertRouting<'a> {
    pub ids: &'a Activation,
    pub scores: &'a Activation,
    /// Multiply each input row by `scores[a]` (the router score scales the expert input).
    pub scale_input: bool,
    /// The rows are sorted by expert in whole tiles of [`EXPERT_TILE`] rows of one expert
    /// ([`super::moe_group`]): each workgroup computes a tile, reading its expert's weights once
    /// for all its rows. The input is then already scaled ([`super::moe_gather`]).
    pub grouped: bool,
}

/// An RMSNorm the matmul applies to its input rows (spec §2.1): `x` holds them un-normalised, and
/// `W (x / rms(x) * weight)` is computed without the norm's own pass (see [`can_norm`]).
#[derive(Clone, Copy)]
pub struct RowNorm<'a> {
    /// The norm's weight, `w.cols` floats.
    pub weight: &'a Activation,
    pub eps: f32,
}

/// Whether a matmul by `w` can apply its input rows' RMSNorm itself ([`MatmulArgs::norm`]): on
/// every layout, for dense rows whose width is a multiple of 4 (the sum of squares reads whole
/// vec4s).
pub fn can_norm(w: &Matrix) -> bool {
    w.cols.is_multiple_of(4) && w.experts == 1
}

/// Whether the model's matmuls by `w` apply their input's norm on `ctx`: where it can and the
/// context fuses norms ([`crate::gpu::GpuContext::fused_norm`]).
pub fn fuses_norm(ctx: &crate::gpu::GpuContext, w: &Matrix) -> bool {
    ctx.fused_norm && can_norm(w)
}

pub struct MatmulArgs<'a> {
    /// Activation rows (tokens, or routed assignments with `experts`).
    pub n_tokens: usize,
    /// Input row of activation row `t` is `x_row0 + t / x_div`.
    pub x_row0: usize,
    pub x_div: usize,
    /// Output row `t` starts at `t * out_stride + out_col0`.
    pub out_stride: usize,
    pub out_col0: usize,
    /// `out += W x` instead of `out = W x` (residual adds).
    pub accumulate: bool,
    pub experts: Option<ExpertRouting<'a>>,
    /// `w` is a gate|up matrix and the output its SwiGLU, `w.rows / 2` wide (where
    /// [`fuses_swiglu`] says the adapter and `w`'s chunks allow it).
    pub swiglu: bool,
    /// Apply this RMSNorm to the input rows first (dense matrices, [`can_norm`]).
    pub norm: Option<RowNorm<'a>>,
}

impl MatmulArgs<'_> {
    /// Plain `out[t, :] = W x[t, :]` over `n_tokens` rows, output width = `w.rows`.
    pub fn dense(n_tokens: usize, out_stride: usize) -> Self {
        MatmulArgs {
            n_tokens,
            x_row0: 0,
            x_div: 1,
            out_stride,
            out_col0: 0,
            accumulate: false,
            experts: None,
            swiglu: false,
            norm: None,
        }
    }
}

/// Whether the gate|up matrix `w` may write its SwiGLU directly ([`MatmulArgs::swiglu`]): on CPU
/// adapters (the ROW_LANE layout, where a pass over a `[T, 2n]` buffer costs a dispatch and a
/// loop over the SIMD lanes per load), with every chunk holding its experts' gate and up rows.
pub fn fuses_swiglu(ctx: &crate::gpu::GpuContext, w: &Matrix) -> bool {
    ctx.row_lane_matmul && w.rows.is_multiple_of(2) && w.chunks.iter().all(|c| c.rows == (0..w.rows as u32))
}

pub fn matmul(rec: &mut Recorder, w: &Matrix, x: &Activation, out: &Activation, a: MatmulArgs) -> Result<()> {
    let in_rows = a.x_row0 + (a.n_tokens.max(1) - 1) / a.x_div + 1;
    if a.swiglu && (!fuses_swiglu(rec.ctx, w) || a.accumulate) {
        return Err(Error::Shape(format!("matmul `{}`: no fused SwiGLU on this adapter or split", w.name)));
    }
    let out_rows = if a.swiglu { w.rows / 2 } else { w.rows };
    if x.len < in_rows * w.cols || out.len < (a.n_tokens - 1) * a.out_stride + a.out_col0 + out_rows {
        return Err(Error::Shape(format!("matmul `{}`: buffers too small for {} rows", w.name, a.n_tokens)));
    }
    if a.experts.is_none() && w.experts != 1 {
        return Err(Error::Shape(format!("matmul `{}`: expert matrix used without routing", w.name)));
    }
    if let Some(norm) = &a.norm {
        if !can_norm(w) || a.experts.is_some() || norm.weight.len != w.cols {
            return Err(Error::Shape(format!(
                "matmul `{}`: no fused RMSNorm for {} columns, {} experts and a {}-float weight",
                w.name, w.cols, w.experts, norm.weight.len
            )));
        }
    }
    let grouped = a.experts.as_ref().is_some_and(|r| r.grouped);
    if grouped && a.experts.as_ref().is_some_and(|r| r.scale_input) {
        return Err(Error::Shape(format!("matmul `{}`: grouped expert rows come scaled", w.name)));
    }
    let gemm = a.experts.is_none() && !a.swiglu && tiled(rec.ctx, a.n_tokens);
    let tt = if (a.experts.is_some() && !grouped) || a.n_tokens == 1 { 1 } else { MAX_TT };
    let windows = x_windows(rec, w, x, &a, tt);
    let max_dim = rec.ctx.limits.max_compute_workgroups_per_dimension as usize;
    for c in &w.chunks {
        let variant = weight_reader(rec.ctx, Shader::Matmul, c)
            .flag(Flag::ExpertId, a.experts.is_some())
            .flag(Flag::RowLane, rec.ctx.row_lane_matmul)
            .flag(Flag::Subgroup, subgroups(rec.ctx))
            .flag(Flag::F16, rec.f16_math && rec.ctx.shader_f16)
            .flag(Flag::XUniform, windows.is_some())
            .flag(Flag::XVec4, !rec.ctx.row_lane_matmul && w.cols.is_multiple_of(4))
            .flag(Flag::WVec4, !rec.ctx.texture_weights && c.format.gpu_block_bytes().is_multiple_of(16))
            .flag(Flag::Swiglu, a.swiglu)
            .flag(Flag::Tiled, gemm)
            .flag(Flag::Norm, a.norm.is_some());
        let key = PipelineKey { variant, overrides: vec![("TT", tt as u32)] };
        let n = (c.rows.end - c.rows.start) as usize / if a.swiglu { 2 } else { 1 };
        let (per_wg, tokens_per_wg) = match (rec.ctx.row_lane_matmul, gemm) {
            (true, _) => (ROWS * LANE_WG, tt),
            (false, true) => (TILE_N, TILE_T),
            (false, false) => (ROWS, tt),
        };
        let blocks = n.div_ceil(per_wg);
        let wg_x = blocks.min(max_dim);
        // the whole x, or one dispatch per uniform window of token rows
        let whole = [XWindow { tokens: 0..a.n_tokens, start: 0 }];
        for win in windows.as_deref().unwrap_or(&whole) {
            let t0 = win.tokens.start;
            let params = MatmulParams {
                norm_eps: a.norm.map_or(0.0, |n| n.eps),
                n: fit(n)?,
                n_tokens: fit(win.tokens.len())?,
                out_stride: fit(a.out_stride)?,
                out_col0: fit(a.out_col0 + c.rows.start as usize + t0 * a.out_stride)?,
                accumulate: a.accumulate as u32,
                x_stride: fit(w.cols)?,
                x_row0: fit(a.x_row0 + t0 / a.x_div)?,
                wg_x: fit(wg_x)?,
                e0: c.experts.start,
                e1: c.experts.end,
                x_div: fit(a.x_div)?,
                scale_input: a.experts.as_ref().map(|e| e.scale_input as u32).unwrap_or(0),
                row_blocks: c.row_blocks,
                x_win: fit(win.start)?,
                id_row0: fit(t0)?,
            };
            let groups = [wg_x as u32, div_ceil(win.tokens.len(), tokens_per_wg), div_ceil(blocks, wg_x)];
            let x_bind = match windows {
                Some(_) => Binding::Window(&x.buffer, 4 * win.start as u64, UNIFORM_X_BYTES),
                None => Binding::Buffer(&x.buffer),
            };
            let mut binds = vec![x_bind, c.binding(), Binding::Buffer(&out.buffer)];
            if let Some(r) = &a.experts {
                binds.extend([Binding::Buffer(&r.ids.buffer), Binding::Buffer(&r.scores.buffer)]);
            }
            if let Some(norm) = &a.norm {
                binds.push(Binding::Buffer(&norm.weight.buffer));
            }
            rec.dispatch_bound(&key, &params, &binds, groups)?;
        }
    }
    Ok(())
}

/// Activation rows `tokens` read through the 64 KiB uniform window of x starting at float `start`.
struct XWindow {
    tokens: Range<usize>,
    start: usize,
}

/// The uniform windows a ROW_LANE matmul reads x through (X_UNIFORM), covering every activation
/// row in order, or `None` for the storage path: x not uniform-readable, rows not 16-byte aligned,
/// a row (with the tail its last 32-weight unit reads) wider than a window, or more than one
/// window for shared input rows (`x_div` > 1).
fn x_windows(rec: &Recorder, w: &Matrix, x: &Activation, a: &MatmulArgs, tt: usize) -> Option<Vec<XWindow>> {
    let (win, align) = (UNIFORM_X_BYTES as usize / 4, UNIFORM_X_ALIGN as usize / 4);
    if !rec.ctx.row_lane_matmul || !x.uniform_readable() || !w.cols.is_multiple_of(4) {
        return None;
    }
    let row = |t: usize| (a.x_row0 + t / a.x_div) * w.cols;
    let grouped = a.experts.as_ref().is_some_and(|r| r.grouped);
    let reach = w.cols.next_multiple_of(32);
    // the last window start that still has 64 KiB of buffer behind it
    let last_start = (x.buffer.size().checked_sub(UNIFORM_X_BYTES)? / 4) as usize / align * align;
    let mut out = vec![];
    let mut t0 = 0;
    while t0 < a.n_tokens {
        let start = (row(t0) / align * align).min(last_start);
        let mut t1 = t0;
        while t1 < a.n_tokens && row(t1) + reach <= start + win {
            t1 += 1;
        }
        if t1 == t0 {
            return None;
        }
        if t1 < a.n_tokens && t1 - t0 > tt {
            t1 = t0 + (t1 - t0) / tt * tt; // whole token tiles, but the last
        }
        if grouped && t1 < a.n_tokens && t1 - t0 < tt {
            return None; // a grouped tile (one expert) would straddle two windows
        }
        out.push(XWindow { tokens: t0..t1, start });
        t0 = t1;
    }
    // a window's rows restart at its first activation row: only where each row reads its own input
    if a.x_div != 1 && out.len() > 1 {
        return None;
    }
    Some(out)
}
