//! The vision tower on the GPU (spec §4): its weights, one tile's buffers, and the recorded plan
//! that turns a tile's pixels into its `<|patch|>` feature rows. Tiles run one submit each
//! through the same plan, their rows copied into one features buffer that the text model's
//! prefill merges (`kernels::vision::merge_features`).

use crate::config::VisionConfig;
use crate::error::{Error, Result};
use crate::gpu::{Activation, GpuContext, Matrix, Plan, Recorder, RowPart};
use crate::kernels::{self, vision as vk, MatmulArgs};
use crate::loader::TensorSource;
use crate::reference::vision::CpuVision;

struct VisionLayer {
    ln1: (Activation, Activation),
    ln2: (Activation, Activation),
    /// q, k and v stacked: one matmul into `[T, 3 * hidden]` rows.
    qkv: Matrix,
    qkv_bias: Activation,
    o: (Matrix, Activation),
    fc1: (Matrix, Activation),
    fc2: (Matrix, Activation),
}

/// One tile's activations.
struct Tile {
    pixels: Activation,
    patches: Activation,
    x: Activation,
    xn: Activation,
    qkv: Activation,
    attn: Activation,
    mlp: Activation,
    shuffled: Activation,
    adapter: Activation,
    adapter2: Activation,
    out: Activation,
}

/// The tower's weights on the GPU.
struct Weights {
    patch: Matrix,
    class: Activation,
    pos: Activation,
    ln_pre: (Activation, Activation),
    ln_post: (Activation, Activation),
    layers: Vec<VisionLayer>,
    adapter_fc1: Matrix,
    adapter_fc2: Matrix,
    projector: Matrix,
    rope: Activation,
    /// The adapter's missing biases.
    zeros: Activation,
}

pub struct VisionModel {
    pub cfg: VisionConfig,
    text_hidden: usize,
    /// Kept for the plan's bindings.
    _weights: Weights,
    tile: Tile,
    plan: Plan,
}

impl VisionModel {
    /// Uploads the `vision_model.` and `multi_modal_projector.` tensors and records a tile's plan.
    pub fn load(ctx: &GpuContext, cfg: &VisionConfig, text_hidden: usize, ck: &dyn TensorSource) -> Result<Self> {
        let (h, i, p) = (cfg.hidden_size, cfg.intermediate_size, cfg.patch_size);
        let vec = |name: &str, n: usize| -> Result<Activation> {
            Activation::from_f32(ctx, name, &ck.get(&format!("vision_model.{name}"), &[n])?.to_f32())
        };
        let norm =
            |prefix: &str| Ok::<_, Error>((vec(&format!("{prefix}.weight"), h)?, vec(&format!("{prefix}.bias"), h)?));
        let matrix = |name: &str, rows: usize, cols: usize| -> Result<Matrix> {
            Matrix::upload(ctx, name, 1, cols, &[RowPart::Linear(ck.get(name, &[rows, cols])?)])
        };
        let linear = |prefix: &str, rows: usize, cols: usize| -> Result<(Matrix, Activation)> {
            let name = format!("vision_model.{prefix}");
            Ok((matrix(&format!("{name}.weight"), rows, cols)?, vec(&format!("{prefix}.bias"), rows)?))
        };
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for j in 0..cfg.num_hidden_layers {
            let n = |r: &str| format!("model.layers.{j}.{r}");
            let parts = ["q", "k", "v"]
                .iter()
                .map(|x| {
                    ck.get(&format!("vision_model.{}", n(&format!("self_attn.{x}_proj.weight"))), &[h, h])
                        .map(RowPart::Linear)
                })
                .collect::<Result<Vec<_>>>()?;
            let mut bias = Vec::with_capacity(3 * h);
            for x in ["q", "k", "v"] {
                bias.extend(
                    ck.get(&format!("vision_model.{}", n(&format!("self_attn.{x}_proj.bias"))), &[h])?.to_f32(),
                );
            }
            layers.push(VisionLayer {
                ln1: norm(&n("input_layernorm"))?,
                ln2: norm(&n("post_attention_layernorm"))?,
                qkv: Matrix::upload(ctx, &n("self_attn.qkv"), 1, h, &parts)?,
                qkv_bias: Activation::from_f32(ctx, "vision qkv bias", &bias)?,
                o: linear(&n("self_attn.o_proj"), h, h)?,
                fc1: linear(&n("mlp.fc1"), i, h)?,
                fc2: linear(&n("mlp.fc2"), h, i)?,
            });
        }
        let np = cfg.patches();
        let tokens = np + 1;
        let out_rows = cfg.tokens_per_tile();
        let tile = Tile {
            pixels: Activation::new(ctx, "vision pixels", 3 * cfg.image_size * cfg.image_size)?,
            patches: Activation::new(ctx, "vision patches", np * 3 * p * p)?,
            x: Activation::new(ctx, "vision x", tokens * h)?,
            xn: Activation::new(ctx, "vision xn", tokens * h)?,
            qkv: Activation::new(ctx, "vision qkv", tokens * 3 * h)?,
            attn: Activation::new(ctx, "vision attention", tokens * h)?,
            mlp: Activation::new(ctx, "vision mlp", tokens * i)?,
            shuffled: Activation::new(ctx, "vision shuffled", out_rows * i)?,
            adapter: Activation::new(ctx, "vision adapter", out_rows * cfg.projector_input_dim)?,
            adapter2: Activation::new(ctx, "vision adapter out", out_rows * cfg.projector_output_dim)?,
            out: Activation::new(ctx, "vision features", out_rows * text_hidden)?,
        };
        let w = Weights {
            patch: matrix("vision_model.patch_embedding.linear.weight", h, 3 * p * p)?,
            class: vec("class_embedding", h)?,
            pos: Activation::from_f32(
                ctx,
                "vision positions",
                &ck.get("vision_model.positional_embedding_vlm", &[tokens, h])?.to_f32(),
            )?,
            ln_pre: norm("layernorm_pre")?,
            ln_post: norm("layernorm_post")?,
            layers,
            adapter_fc1: matrix("vision_model.vision_adapter.mlp.fc1.weight", cfg.projector_input_dim, i)?,
            adapter_fc2: matrix(
                "vision_model.vision_adapter.mlp.fc2.weight",
                cfg.projector_output_dim,
                cfg.projector_output_dim,
            )?,
            projector: matrix("multi_modal_projector.linear_1.weight", text_hidden, cfg.vision_output_dim)?,
            rope: Activation::from_f32(ctx, "vision rope", &CpuVision::rope_tables(cfg))?,
            zeros: Activation::from_f32(
                ctx,
                "no bias",
                &vec![0.0; cfg.projector_input_dim.max(cfg.projector_output_dim)],
            )?,
        };
        let plan = record(ctx, cfg, text_hidden, &w, &tile)?;
        Ok(VisionModel { cfg: cfg.clone(), text_hidden, _weights: w, tile, plan })
    }

    /// `<|patch|>` rows one tile gives.
    pub fn rows_per_tile(&self) -> usize {
        self.cfg.tokens_per_tile()
    }

    /// Runs the tower on `pixels` (`tiles` tiles of `[3, S, S]`, every image's in prompt order):
    /// the feature rows `[tiles * rows_per_tile, text hidden]`, left on the GPU. Queued, not
    /// awaited: the prefill that merges them runs after on the same queue.
    pub fn encode(&self, ctx: &GpuContext, pixels: &[f32]) -> Result<Activation> {
        let per = 3 * self.cfg.image_size * self.cfg.image_size;
        if pixels.is_empty() || !pixels.len().is_multiple_of(per) {
            return Err(Error::Shape(format!(
                "vision input of {} values is not whole {per}-value tiles",
                pixels.len()
            )));
        }
        let tiles = pixels.len() / per;
        let scope = ctx.error_scope();
        let row_words = self.rows_per_tile() * self.text_hidden;
        let features = Activation::new(ctx, "image features", tiles * row_words)?;
        for (n, tile) in pixels.chunks_exact(per).enumerate() {
            ctx.queue.write_buffer(&self.tile.pixels.buffer, 0, bytemuck::cast_slice(tile));
            let mut enc = ctx.device.create_command_encoder(&Default::default());
            self.plan.encode(&mut enc);
            enc.copy_buffer_to_buffer(
                &self.tile.out.buffer,
                0,
                &features.buffer,
                (n * row_words * 4) as u64,
                (row_words * 4) as u64,
            );
            ctx.queue.submit([enc.finish()]);
        }
        scope.check(ctx, "the vision tower")?;
        Ok(features)
    }
}

fn record(ctx: &GpuContext, c: &VisionConfig, text_hidden: usize, w: &Weights, tl: &Tile) -> Result<Plan> {
    let (h, i, hd) = (c.hidden_size, c.intermediate_size, c.head_dim());
    let (np, t) = (c.patches(), c.patches() + 1);
    let s = (1.0 / c.pixel_shuffle_ratio).round() as usize;
    let scope = ctx.error_scope();
    let mut rec = Recorder::new(ctx);
    let r = &mut rec;
    vk::patches(r, &tl.pixels, &tl.patches, c.image_size, c.patch_size)?;
    kernels::matmul(r, &w.patch, &tl.patches, &tl.x, MatmulArgs::dense(np, h))?;
    vk::vision_embed(r, &w.class, &w.pos, &tl.x, np, h)?;
    vk::layernorm(r, &tl.x, (&w.ln_pre.0, &w.ln_pre.1), &tl.xn, t, h)?;
    // The encoder's residual stream lives in x; layernorm_pre's output starts it.
    let (mut x, mut xn) = (&tl.xn, &tl.x);
    for l in &w.layers {
        vk::layernorm(r, x, (&l.ln1.0, &l.ln1.1), xn, t, h)?;
        kernels::matmul(r, &l.qkv, xn, &tl.qkv, MatmulArgs::dense(t, 3 * h))?;
        vk::bias_act(r, &tl.qkv, &l.qkv_bias, false, t, 3 * h)?;
        vk::rope2d(r, &w.rope, &tl.qkv, t, h, hd)?;
        vk::vision_attention(r, &tl.qkv, &tl.attn, t, (c.num_attention_heads, hd))?;
        kernels::matmul(r, &l.o.0, &tl.attn, x, MatmulArgs { accumulate: true, ..MatmulArgs::dense(t, h) })?;
        vk::bias_act(r, x, &l.o.1, false, t, h)?;
        vk::layernorm(r, x, (&l.ln2.0, &l.ln2.1), xn, t, h)?;
        kernels::matmul(r, &l.fc1.0, xn, &tl.mlp, MatmulArgs::dense(t, i))?;
        vk::bias_act(r, &tl.mlp, &l.fc1.1, true, t, i)?;
        kernels::matmul(r, &l.fc2.0, &tl.mlp, x, MatmulArgs { accumulate: true, ..MatmulArgs::dense(t, h) })?;
        vk::bias_act(r, x, &l.fc2.1, false, t, h)?;
    }
    vk::layernorm(r, x, (&w.ln_post.0, &w.ln_post.1), xn, t, h)?;
    std::mem::swap(&mut x, &mut xn);
    vk::pixel_shuffle(r, x, &tl.shuffled, c.grid(), h, s)?;
    let rows = c.tokens_per_tile();
    kernels::matmul(r, &w.adapter_fc1, &tl.shuffled, &tl.adapter, MatmulArgs::dense(rows, c.projector_input_dim))?;
    vk::bias_act(r, &tl.adapter, &w.zeros, true, rows, c.projector_input_dim)?;
    kernels::matmul(r, &w.adapter_fc2, &tl.adapter, &tl.adapter2, MatmulArgs::dense(rows, c.projector_output_dim))?;
    vk::bias_act(r, &tl.adapter2, &w.zeros, true, rows, c.projector_output_dim)?;
    kernels::matmul(r, &w.projector, &tl.adapter2, &tl.out, MatmulArgs::dense(rows, text_hidden))?;
    let plan = rec.finish();
    scope.check(ctx, "recording the vision tower")?;
    Ok(plan)
}
