//! The vision tower's kernels (shaders/vision, norm/layernorm, embed/merge): shape checks,
//! parameters and grids. The tower's linear layers are the one matmul.

use super::params::{
    fit, BiasActParams, LayerNormParams, MergeParams, PatchesParams, Rope2dParams, ShuffleParams,
    VisionAttentionParams, VisionEmbedParams,
};
use super::{div_ceil, key};
use crate::error::{Error, Result};
use crate::gpu::{Activation, Recorder, Shader, Variant};

/// The most tokens of a tile the vision attention holds in workgroup memory (Scout: 577).
pub const MAX_TILE_TOKENS: usize = 1024;

fn need(what: &str, a: &Activation, len: usize) -> Result<()> {
    if a.len < len {
        return Err(Error::Shape(format!("{what}: buffer of {} words, needs {len}", a.len)));
    }
    Ok(())
}

/// Rows of `rows` in grid (y, z): at most 65535 a dimension.
fn row_grid(x: u32, rows: usize) -> [u32; 3] {
    let y = rows.min(65535) as u32;
    [x, y, rows.div_ceil(65535) as u32]
}

/// Replaces the rows of `<|patch|>` tokens of a step's embeddings `h` by their feature rows:
/// `rows[pos - pos0]` is the feature row of prompt position `pos` (u32::MAX for text).
pub fn merge_features(
    rec: &mut Recorder,
    rows: &Activation,
    features: &Activation,
    h: &Activation,
    step: &wgpu::Buffer,
    (hidden, n_tokens, pos0): (usize, usize, usize),
) -> Result<()> {
    let p = MergeParams { hidden: fit(hidden)?, pos0: fit(pos0)?, n_pos: fit(rows.len)? };
    rec.dispatch(
        &key(Variant::new(Shader::ImageMerge)),
        &p,
        &[&rows.buffer, &features.buffer, &h.buffer, step],
        [div_ceil(hidden, 64), n_tokens as u32, 1],
    )
}

/// LayerNorm of `rows` rows of width `n` (weight, bias) from `x` into `out`.
pub fn layernorm(
    rec: &mut Recorder,
    x: &Activation,
    (weight, bias): (&Activation, &Activation),
    out: &Activation,
    rows: usize,
    n: usize,
) -> Result<()> {
    need("layernorm x", x, rows * n)?;
    need("layernorm out", out, rows * n)?;
    need("layernorm weight", weight, n)?;
    need("layernorm bias", bias, n)?;
    let p = LayerNormParams { n: fit(n)?, eps: 1e-5 };
    rec.dispatch(
        &key(Variant::new(Shader::LayerNorm)),
        &p,
        &[&x.buffer, &weight.buffer, &bias.buffer, &out.buffer],
        [rows as u32, 1, 1],
    )
}

/// In place: `x = act(x + bias)` on `rows` rows of width `n`, the activation exact GELU or none.
pub fn bias_act(
    rec: &mut Recorder,
    x: &Activation,
    bias: &Activation,
    gelu: bool,
    rows: usize,
    n: usize,
) -> Result<()> {
    need("bias_act x", x, rows * n)?;
    need("bias_act bias", bias, n)?;
    let p = BiasActParams { n: fit(n)?, rows: fit(rows)?, gelu: gelu as u32 };
    rec.dispatch(&key(Variant::new(Shader::BiasAct)), &p, &[&bias.buffer, &x.buffer], row_grid(div_ceil(n, 64), rows))
}

/// One tile `[3, side, side]` unfolded into patch rows `[g*g, 3*p*p]`.
pub fn patches(rec: &mut Recorder, pixels: &Activation, out: &Activation, side: usize, patch: usize) -> Result<()> {
    let g = side / patch;
    need("patches pixels", pixels, 3 * side * side)?;
    need("patches out", out, g * g * 3 * patch * patch)?;
    let p = PatchesParams { side: fit(side)?, patch_size: fit(patch)? };
    rec.dispatch(
        &key(Variant::new(Shader::VisionPatches)),
        &p,
        &[&pixels.buffer, &out.buffer],
        [div_ceil(3 * patch * patch, 64), (g * g) as u32, 1],
    )
}

/// A tile's rows `[P+1, hidden]`: the class row written last, every row plus its position.
pub fn vision_embed(
    rec: &mut Recorder,
    class: &Activation,
    pos: &Activation,
    x: &Activation,
    patches: usize,
    hidden: usize,
) -> Result<()> {
    need("vision_embed x", x, (patches + 1) * hidden)?;
    need("vision_embed positions", pos, (patches + 1) * hidden)?;
    let p = VisionEmbedParams { hidden: fit(hidden)?, patches: fit(patches)? };
    rec.dispatch(
        &key(Variant::new(Shader::VisionEmbed)),
        &p,
        &[&class.buffer, &pos.buffer, &x.buffer],
        [div_ceil(hidden, 64), (patches + 1) as u32, 1],
    )
}

/// 2D RoPE in place on the q and k parts of `tokens` fused qkv rows.
pub fn rope2d(
    rec: &mut Recorder,
    table: &Activation,
    qkv: &Activation,
    tokens: usize,
    hidden: usize,
    head_dim: usize,
) -> Result<()> {
    need("rope2d qkv", qkv, tokens * 3 * hidden)?;
    need("rope2d table", table, tokens * head_dim)?;
    let p = Rope2dParams { hidden: fit(hidden)?, head_dim: fit(head_dim)?, tokens: fit(tokens)? };
    rec.dispatch(
        &key(Variant::new(Shader::VisionRope)),
        &p,
        &[&table.buffer, &qkv.buffer],
        [div_ceil(hidden, 64), tokens as u32, 1],
    )
}

/// Bidirectional attention of one tile's `tokens` fused qkv rows into `out` `[tokens, hidden]`.
pub fn vision_attention(
    rec: &mut Recorder,
    qkv: &Activation,
    out: &Activation,
    tokens: usize,
    (heads, head_dim): (usize, usize),
) -> Result<()> {
    let hidden = heads * head_dim;
    if tokens > MAX_TILE_TOKENS {
        return Err(Error::Unsupported {
            adapter: rec.ctx.adapter_name().into(),
            what: format!("vision attention over {tokens} tokens a tile (the kernel holds at most {MAX_TILE_TOKENS})"),
        });
    }
    need("vision attention qkv", qkv, tokens * 3 * hidden)?;
    need("vision attention out", out, tokens * hidden)?;
    let p = VisionAttentionParams {
        hidden: fit(hidden)?,
        head_dim: fit(head_dim)?,
        tokens: fit(tokens)?,
        scale: (head_dim as f32).powf(-0.5),
    };
    rec.dispatch(
        &key(Variant::new(Shader::VisionAttention)),
        &p,
        &[&qkv.buffer, &out.buffer],
        [tokens as u32, heads as u32, 1],
    )
}

/// The pixel shuffle of one tile `[g*g (+ class), c]` into `[(g/s)^2, c*s*s]`.
pub fn pixel_shuffle(
    rec: &mut Recorder,
    x: &Activation,
    out: &Activation,
    grid: usize,
    channels: usize,
    s: usize,
) -> Result<()> {
    let g2 = grid / s;
    need("pixel_shuffle x", x, grid * grid * channels)?;
    need("pixel_shuffle out", out, g2 * g2 * channels * s * s)?;
    let p = ShuffleParams { grid: fit(grid)?, channels: fit(channels)?, s: fit(s)? };
    rec.dispatch(
        &key(Variant::new(Shader::PixelShuffle)),
        &p,
        &[&x.buffer, &out.buffer],
        [div_ceil(channels * s * s, 64), (g2 * g2) as u32, 1],
    )
}
