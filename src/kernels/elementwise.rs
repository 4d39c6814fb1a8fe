//! Embedding, RMSNorm and SwiGLU: the small kernels.

use super::params::{fit, EmbedParams, RmsNormParams, SwigluParams};
use super::{div_ceil, key, reducing, weight_reader};
use crate::error::{Error, Result};
use crate::gpu::{Activation, Binding, Flag, Matrix, Recorder, Shader, Variant};

/// `out[t, :] = table[ids[t], :]`, one dispatch per table chunk.
pub fn embed(rec: &mut Recorder, table: &Matrix, ids: &Activation, out: &Activation, n_tokens: usize) -> Result<()> {
    let h = table.cols;
    for c in &table.chunks {
        let k = key(weight_reader(rec.ctx, Shader::Embed, c));
        let units = c.row_blocks as usize * c.format.gpu_block_elems() / 32;
        let p = EmbedParams {
            hidden: fit(h)?,
            n_tokens: fit(n_tokens)?,
            row0: c.rows.start,
            rows: c.rows.end - c.rows.start,
            row_blocks: c.row_blocks,
        };
        let binds = [Binding::Buffer(&ids.buffer), c.binding(), Binding::Buffer(&out.buffer)];
        rec.dispatch_bound(&k, &p, &binds, [div_ceil(units, 64), n_tokens as u32, 1])?;
    }
    Ok(())
}

/// RMSNorm of the rows `x_rows` of `x` (width `n`) into rows `0..x_rows.len()` of `out`.
pub fn rmsnorm(
    rec: &mut Recorder,
    x: &Activation,
    weight: &Activation,
    out: &Activation,
    x_rows: std::ops::Range<usize>,
    n: usize,
    eps: f32,
) -> Result<()> {
    let (rows, in_row0) = (x_rows.len(), x_rows.start);
    if weight.len != n || x.len < (in_row0 + rows) * n || out.len < rows * n {
        return Err(Error::Shape(format!("rmsnorm: bad sizes (n {n}, rows {rows})")));
    }
    let p = RmsNormParams { n: fit(n)?, eps, in_row0: fit(in_row0)? };
    rec.dispatch(
        &key(reducing(rec.ctx, Shader::RmsNorm)
            .flag(Flag::XVec4, n.is_multiple_of(4))
            .flag(Flag::RowLane, rec.ctx.row_lane_matmul)),
        &p,
        &[&x.buffer, &weight.buffer, &out.buffer],
        [rows as u32, 1, 1],
    )
}

/// `out[r, :] = silu(gu[r, :width]) * gu[r, width:]`.
pub fn swiglu(rec: &mut Recorder, gu: &Activation, out: &Activation, rows: usize, width: usize) -> Result<()> {
    let p = SwigluParams { width: fit(width)?, rows: fit(rows)? };
    rec.dispatch(
        &key(Variant::new(Shader::Swiglu)),
        &p,
        &[&gu.buffer, &out.buffer],
        [div_ceil(width, 64), rows as u32, 1],
    )
}
