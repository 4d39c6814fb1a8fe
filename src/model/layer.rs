//! One decoder layer: load its weights, and encode its forward pass (spec §2):
//!
//! ```text
//! h += o_proj(attention(prep(qkv(rmsnorm(h)))))       prep = RoPE+QK norm | NoPE temperature
//! h += ffn(rmsnorm(h))                                 ffn  = dense SwiGLU | shared + routed experts
//! ```

use crate::config::{AttentionKind, FfnKind, LayerPlan, TextConfig};
use crate::error::Result;
use crate::gpu::{Activation, GpuContext, Matrix, Recorder, RowPart};
use crate::kernels::{self, ExpertRouting, MatmulArgs};
use crate::loader::{TensorSource, WeightNames};
use crate::model::kv_cache::LayerCache;
use crate::model::workspace::Workspace;

pub enum Ffn {
    /// `down(silu(gate x) * up x)`, width `intermediate_size_mlp`.
    Dense { gate_up: Matrix, down: Matrix },
    /// Shared expert (unscaled) + top-k routed experts whose *input* is scaled by sigmoid(logit).
    Moe { router: Matrix, experts_gate_up: Matrix, experts_down: Matrix, shared_gate_up: Matrix, shared_down: Matrix },
}

pub struct Layer {
    pub index: usize,
    pub plan: LayerPlan,
    pub input_norm: Activation,
    pub post_norm: Activation,
    /// q | k | v stacked: `[(nh + 2 nkv) d, H]`.
    pub qkv: Matrix,
    /// `[H, nh d]`.
    pub o: Matrix,
    pub ffn: Ffn,
}

/// A norm weight `[n]`, uploaded as f32.
pub(crate) fn load_norm(ctx: &GpuContext, ck: &dyn TensorSource, name: &str, n: usize) -> Result<Activation> {
    Activation::from_f32(ctx, name, &ck.get(name, &[n])?.to_f32())
}

fn linear<'a>(ck: &'a dyn TensorSource, name: &str, rows: usize, cols: usize) -> Result<RowPart<'a>> {
    Ok(RowPart::Linear(ck.get(name, &[rows, cols])?))
}

impl Layer {
    pub fn load(
        ctx: &GpuContext,
        cfg: &TextConfig,
        ck: &dyn TensorSource,
        names: &WeightNames,
        i: usize,
    ) -> Result<Layer> {
        let (h, d, nh, nkv) = (cfg.hidden_size, cfg.head_dim, cfg.num_attention_heads, cfg.num_key_value_heads);
        let n = |rest: &str| names.layer(i, rest);
        let plan = cfg.layers[i];
        let qkv = Matrix::upload(
            ctx,
            &n("self_attn.qkv"),
            1,
            h,
            &[
                linear(ck, &n("self_attn.q_proj.weight"), nh * d, h)?,
                linear(ck, &n("self_attn.k_proj.weight"), nkv * d, h)?,
                linear(ck, &n("self_attn.v_proj.weight"), nkv * d, h)?,
            ],
        )?;
        let o = Matrix::upload(
            ctx,
            &n("self_attn.o_proj.weight"),
            1,
            nh * d,
            &[linear(ck, &n("self_attn.o_proj.weight"), h, nh * d)?],
        )?;
        let swiglu = |prefix: &str, width: usize| -> Result<(Matrix, Matrix)> {
            let gu = Matrix::upload(
                ctx,
                &n(&format!("{prefix}gate|up")),
                1,
                h,
                &[
                    linear(ck, &n(&format!("{prefix}gate_proj.weight")), width, h)?,
                    linear(ck, &n(&format!("{prefix}up_proj.weight")), width, h)?,
                ],
            )?;
            let down = Matrix::upload(
                ctx,
                &n(&format!("{prefix}down_proj.weight")),
                1,
                width,
                &[linear(ck, &n(&format!("{prefix}down_proj.weight")), h, width)?],
            )?;
            Ok((gu, down))
        };
        let ffn = match plan.ffn {
            FfnKind::Dense => {
                let (gate_up, down) = swiglu("feed_forward.", cfg.intermediate_size_mlp)?;
                Ffn::Dense { gate_up, down }
            }
            FfnKind::Moe => {
                let (e, w) = (cfg.num_local_experts, cfg.intermediate_size);
                let router = Matrix::upload(
                    ctx,
                    &n("feed_forward.router.weight"),
                    1,
                    h,
                    &[linear(ck, &n("feed_forward.router.weight"), e, h)?],
                )?;
                let (experts_gate_up, experts_down) = if ck.contains(&n("feed_forward.experts.gate_up_proj")) {
                    // HF fused layout: gate_up_proj [E, H, 2I] and down_proj [E, I, H], used as x @ W.
                    let gu = ck.get(&n("feed_forward.experts.gate_up_proj"), &[e, h, 2 * w])?;
                    let dn = ck.get(&n("feed_forward.experts.down_proj"), &[e, w, h])?;
                    let gate_up = Matrix::upload(
                        ctx,
                        &n("feed_forward.experts.gate_up_proj"),
                        e,
                        h,
                        &[
                            RowPart::Transposed { view: gu.clone(), col0: 0, rows: w },
                            RowPart::Transposed { view: gu, col0: w, rows: w },
                        ],
                    )?;
                    let down = Matrix::upload(
                        ctx,
                        &n("feed_forward.experts.down_proj"),
                        e,
                        w,
                        &[RowPart::Transposed { view: dn, col0: 0, rows: h }],
                    )?;
                    (gate_up, down)
                } else {
                    // Linear-layout experts: GGUF's expert-stacked `[E, rows, cols]`, or HF's split
                    // experts.{e}.{gate,up,down}_proj.weight.
                    let stacked = ck.contains(&n("feed_forward.experts.gate_proj.weight"));
                    let part = |proj: &str, rows: usize, cols: usize| -> Result<RowPart> {
                        Ok(if stacked {
                            RowPart::Stacked(
                                ck.get(&n(&format!("feed_forward.experts.{proj}.weight")), &[e, rows, cols])?,
                            )
                        } else {
                            RowPart::PerExpert(
                                (0..e)
                                    .map(|x| {
                                        ck.get(&n(&format!("feed_forward.experts.{x}.{proj}.weight")), &[rows, cols])
                                    })
                                    .collect::<Result<Vec<_>>>()?,
                            )
                        })
                    };
                    let gate_up = Matrix::upload(
                        ctx,
                        &n("feed_forward.experts.gate|up"),
                        e,
                        h,
                        &[part("gate_proj", w, h)?, part("up_proj", w, h)?],
                    )?;
                    let down =
                        Matrix::upload(ctx, &n("feed_forward.experts.down_proj"), e, w, &[part("down_proj", h, w)?])?;
                    (gate_up, down)
                };
                let (shared_gate_up, shared_down) = swiglu("feed_forward.shared_expert.", w)?;
                Ffn::Moe { router, experts_gate_up, experts_down, shared_gate_up, shared_down }
            }
        };
        Ok(Layer {
            index: i,
            plan,
            input_norm: load_norm(ctx, ck, &n("input_layernorm.weight"), h)?,
            post_norm: load_norm(ctx, ck, &n("post_attention_layernorm.weight"), h)?,
            qkv,
            o,
            ffn,
        })
    }

    pub fn weight_bytes(&self) -> u64 {
        let ffn = match &self.ffn {
            Ffn::Dense { gate_up, down } => gate_up.bytes() + down.bytes(),
            Ffn::Moe { router, experts_gate_up, experts_down, shared_gate_up, shared_down } => {
                router.bytes()
                    + experts_gate_up.bytes()
                    + experts_down.bytes()
                    + shared_gate_up.bytes()
                    + shared_down.bytes()
            }
        };
        self.qkv.bytes() + self.o.bytes() + ffn + 8 * self.input_norm.len as u64
    }

    /// Appends this layer's dispatches for `ws.n_tokens` tokens.
    pub fn encode(&self, rec: &mut Recorder, cfg: &TextConfig, ws: &Workspace, cache: &LayerCache) -> Result<()> {
        let (t, h) = (ws.n_tokens, cfg.hidden_size);
        let shape = cache.shape;
        // --- attention block
        kernels::rmsnorm(rec, &ws.h, &self.input_norm, &ws.x, t, h, cfg.rms_norm_eps, 0)?;
        kernels::matmul(rec, &self.qkv, &ws.x, &ws.qkv, MatmulArgs::dense(t, shape.width()))?;
        let rope = self.plan.attention == AttentionKind::ChunkedRope;
        kernels::qk_prep(
            rec,
            shape,
            &ws.qkv,
            &ws.rope_table,
            &ws.temps,
            t,
            rope,
            rope && cfg.use_qk_norm,
            !rope && cfg.attn_temperature_tuning,
            cfg.rms_norm_eps,
        )?;
        kernels::attention(rec, shape, &ws.qkv, &cache.k, &cache.v, &ws.attn, &ws.step, t)?;
        kernels::kv_store(rec, shape, &ws.qkv, &cache.k, &cache.v, &ws.step, t)?;
        kernels::matmul(rec, &self.o, &ws.attn, &ws.h, MatmulArgs { accumulate: true, ..MatmulArgs::dense(t, h) })?;
        // --- feed-forward block
        kernels::rmsnorm(rec, &ws.h, &self.post_norm, &ws.x, t, h, cfg.rms_norm_eps, 0)?;
        match &self.ffn {
            Ffn::Dense { gate_up, down } => {
                let w = down.cols;
                kernels::matmul(rec, gate_up, &ws.x, &ws.gu, MatmulArgs::dense(t, 2 * w))?;
                kernels::swiglu(rec, &ws.gu, &ws.act, t, w)?;
                kernels::matmul(rec, down, &ws.act, &ws.h, MatmulArgs { accumulate: true, ..MatmulArgs::dense(t, h) })?;
            }
            Ffn::Moe { router, experts_gate_up, experts_down, shared_gate_up, shared_down } => {
                let (k, e, w) = (cfg.num_experts_per_tok, cfg.num_local_experts, cfg.intermediate_size);
                // shared expert, added unscaled
                kernels::matmul(rec, shared_gate_up, &ws.x, &ws.gu, MatmulArgs::dense(t, 2 * w))?;
                kernels::swiglu(rec, &ws.gu, &ws.act, t, w)?;
                kernels::matmul(
                    rec,
                    shared_down,
                    &ws.act,
                    &ws.h,
                    MatmulArgs { accumulate: true, ..MatmulArgs::dense(t, h) },
                )?;
                // router: top-k on raw logits, sigmoid scores; ids stay on the GPU
                kernels::matmul(rec, router, &ws.x, &ws.router_logits, MatmulArgs::dense(t, e))?;
                kernels::router_topk(rec, &ws.router_logits, &ws.top_ids, &ws.top_scores, t, e, k)?;
                // routed experts: assignment a = t*k + j reads token row a / k, scaled by its score
                let routing = |scale_input| ExpertRouting { ids: &ws.top_ids, scores: &ws.top_scores, scale_input };
                let gu_args = MatmulArgs {
                    n_tokens: t * k,
                    x_row0: 0,
                    x_div: k,
                    out_stride: 2 * w,
                    out_col0: 0,
                    accumulate: false,
                    experts: Some(routing(true)),
                };
                kernels::matmul(rec, experts_gate_up, &ws.x, &ws.gu, gu_args)?;
                kernels::swiglu(rec, &ws.gu, &ws.act, t * k, w)?;
                let down_args = MatmulArgs {
                    n_tokens: t * k,
                    x_row0: 0,
                    x_div: 1,
                    out_stride: h,
                    out_col0: 0,
                    accumulate: false,
                    experts: Some(routing(false)),
                };
                kernels::matmul(rec, experts_down, &ws.act, &ws.y, down_args)?;
                kernels::moe_combine(rec, &ws.y, &ws.h, t, h, k)?;
            }
        }
        Ok(())
    }
}
