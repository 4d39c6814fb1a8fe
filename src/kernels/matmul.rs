//! `y = W x` for [`Matrix`] weights, dense or expert-indexed (the MoE `mul_mat_id`).

use super::params::{fit, MatmulParams};
use super::{div_ceil, weight_reader};
use crate::error::{Error, Result};
use crate::gpu::buffers::UNIFORM_X_BYTES;
use crate::gpu::{Activation, Flag, Matrix, PipelineKey, Recorder, Shader};

/// Output rows per invocation (ROW_LANE) or per workgroup.
const ROWS: usize = 4;

/// Invocations per workgroup in the ROW_LANE layout (`LANE_WG` in the shader).
const LANE_WG: usize = 8;
const MAX_TT: usize = 8;

/// Expert routing for the EXPERT_ID variant: activation row `a` uses expert `ids[a]`.
pub struct ExpertRouting<'a> {
    pub ids: &'a Activation,
    pub scores: &'a Activation,
    /// Multiply each input row by `scores[a]` (the router score scales the expert input).
    pub scale_input: bool,
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
}

impl MatmulArgs<'_> {
    /// Plain `out[t, :] = W x[t, :]` over `n_tokens` rows, output width = `w.rows`.
    pub fn dense(n_tokens: usize, out_stride: usize) -> Self {
        MatmulArgs { n_tokens, x_row0: 0, x_div: 1, out_stride, out_col0: 0, accumulate: false, experts: None }
    }
}

pub fn matmul(rec: &mut Recorder, w: &Matrix, x: &Activation, out: &Activation, a: MatmulArgs) -> Result<()> {
    let in_rows = a.x_row0 + (a.n_tokens.max(1) - 1) / a.x_div + 1;
    if x.len < in_rows * w.cols || out.len < (a.n_tokens - 1) * a.out_stride + a.out_col0 + w.rows {
        return Err(Error::Shape(format!("matmul `{}`: buffers too small for {} rows", w.name, a.n_tokens)));
    }
    if a.experts.is_none() && w.experts != 1 {
        return Err(Error::Shape(format!("matmul `{}`: expert matrix used without routing", w.name)));
    }
    let tt = if a.experts.is_some() || a.n_tokens == 1 { 1 } else { MAX_TT };
    // whole activation rows (and the tail a 32-weight unit reads past them) inside the uniform array
    let x_uniform = rec.ctx.row_lane_matmul
        && x.uniform_readable()
        && w.cols.is_multiple_of(4)
        && in_rows * w.cols + 32 <= UNIFORM_X_BYTES as usize / 4;
    let max_dim = rec.ctx.limits.max_compute_workgroups_per_dimension as usize;
    for c in &w.chunks {
        let variant = weight_reader(rec.ctx, Shader::Matmul, c.format)
            .flag(Flag::ExpertId, a.experts.is_some())
            .flag(Flag::RowLane, rec.ctx.row_lane_matmul)
            .flag(Flag::Subgroup, rec.ctx.subgroups && !rec.ctx.row_lane_matmul)
            .flag(Flag::F16, rec.f16_math && rec.ctx.shader_f16)
            .flag(Flag::XUniform, x_uniform);
        let key = PipelineKey { variant, overrides: vec![("TT", tt as u32)] };
        let n = (c.rows.end - c.rows.start) as usize;
        let per_wg = if rec.ctx.row_lane_matmul { ROWS * LANE_WG } else { ROWS };
        let blocks = n.div_ceil(per_wg);
        let wg_x = blocks.min(max_dim);
        let params = MatmulParams {
            k: fit(w.cols)?,
            n: fit(n)?,
            n_tokens: fit(a.n_tokens)?,
            out_stride: fit(a.out_stride)?,
            out_col0: fit(a.out_col0 + c.rows.start as usize)?,
            accumulate: a.accumulate as u32,
            x_stride: fit(w.cols)?,
            x_row0: fit(a.x_row0)?,
            wg_x: fit(wg_x)?,
            e0: c.experts.start,
            e1: c.experts.end,
            x_div: fit(a.x_div)?,
            scale_input: a.experts.as_ref().map(|e| e.scale_input as u32).unwrap_or(0),
            row_blocks: c.row_blocks,
        };
        let groups = [wg_x as u32, div_ceil(a.n_tokens, tt), div_ceil(blocks, wg_x)];
        match &a.experts {
            None => rec.dispatch(&key, &params, &[&x.buffer, &c.buffer, &out.buffer], groups)?,
            Some(r) => rec.dispatch(
                &key,
                &params,
                &[&x.buffer, &c.buffer, &out.buffer, &r.ids.buffer, &r.scores.buffer],
                groups,
            )?,
        }
    }
    Ok(())
}
