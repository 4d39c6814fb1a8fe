//! One decoder layer: load its weights, and encode its forward pass (spec §2):
//!
//! ```text
//! h += o_proj(attention(prep(qkv(rmsnorm(h)))))       prep = RoPE+QK norm | NoPE temperature
//! h += ffn(rmsnorm(h))                                 ffn  = dense SwiGLU | shared + routed experts
//! ```

use crate::config::{AttentionKind, LayerPlan, TextConfig};
use crate::error::Result;
use crate::gpu::{Activation, GpuContext, Matrix, Recorder};
use crate::kernels::{self, ExpertRouting, MatmulArgs, RowNorm};
use crate::loader::{TensorSource, WeightNames};
use crate::model::kv_cache::LayerCache;
use crate::model::spec::LayerSpec;
use crate::model::workspace::Workspace;
use crate::quant::WeightFormat;

pub enum Ffn<M = Matrix> {
    /// `down(silu(gate x) * up x)`, width `intermediate_size_mlp`.
    Dense { gate_up: M, down: M },
    /// Shared expert (unscaled) + top-k routed experts whose *input* is scaled by sigmoid(logit).
    Moe { router: M, experts_gate_up: M, experts_down: M, shared_gate_up: M, shared_down: M },
}

impl<M> Ffn<M> {
    pub fn matrices(&self) -> Vec<&M> {
        match self {
            Ffn::Dense { gate_up, down } => vec![gate_up, down],
            Ffn::Moe { router, experts_gate_up, experts_down, shared_gate_up, shared_down } => {
                vec![router, experts_gate_up, experts_down, shared_gate_up, shared_down]
            }
        }
    }

    /// The matrices that read the feed-forward block's normed input: the dense gate|up, or the
    /// shared expert's gate|up, the router and the routed experts' gate|up.
    pub fn inputs(&self) -> Vec<&M> {
        match self {
            Ffn::Dense { gate_up, .. } => vec![gate_up],
            Ffn::Moe { router, experts_gate_up, shared_gate_up, .. } => vec![shared_gate_up, router, experts_gate_up],
        }
    }

    /// The gate|up matrices (dense, or the routed experts' and the shared expert's).
    pub fn gate_ups(&self) -> Vec<&M> {
        match self {
            Ffn::Dense { gate_up, .. } => vec![gate_up],
            Ffn::Moe { experts_gate_up, shared_gate_up, .. } => vec![experts_gate_up, shared_gate_up],
        }
    }

    pub(crate) fn map<N>(self, mut f: impl FnMut(M) -> Result<N>) -> Result<Ffn<N>> {
        Ok(match self {
            Ffn::Dense { gate_up, down } => Ffn::Dense { gate_up: f(gate_up)?, down: f(down)? },
            Ffn::Moe { router, experts_gate_up, experts_down, shared_gate_up, shared_down } => Ffn::Moe {
                router: f(router)?,
                experts_gate_up: f(experts_gate_up)?,
                experts_down: f(experts_down)?,
                shared_gate_up: f(shared_gate_up)?,
                shared_down: f(shared_down)?,
            },
        })
    }
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

impl Layer {
    /// Uploads layer `i`, float weights quantized to `quantize` where it applies.
    pub fn load(
        ctx: &GpuContext,
        cfg: &TextConfig,
        ck: &dyn TensorSource,
        names: &WeightNames,
        i: usize,
        quantize: Option<WeightFormat>,
    ) -> Result<Layer> {
        let h = cfg.hidden_size;
        let n = |rest: &str| names.layer(i, rest);
        let spec = LayerSpec::gather(cfg, ck, names, i)?;
        Ok(Layer {
            index: i,
            plan: cfg.layers[i],
            input_norm: load_norm(ctx, ck, &n("input_layernorm.weight"), h)?,
            post_norm: load_norm(ctx, ck, &n("post_attention_layernorm.weight"), h)?,
            qkv: spec.qkv.upload(ctx, quantize)?,
            o: spec.o.upload(ctx, quantize)?,
            ffn: spec.ffn.map(|m| m.upload(ctx, quantize))?,
        })
    }

    /// How many of this layer's two RMSNorms run as their own pass on `ctx` (see [`norm_fuses`]).
    pub fn norm_passes(&self, ctx: &GpuContext) -> usize {
        [!norm_fuses(ctx, &[&self.qkv]), !norm_fuses(ctx, &self.ffn.inputs())].into_iter().filter(|&p| p).count()
    }

    /// Every weight matrix of the layer: qkv, o, then the feed-forward ones.
    pub fn matrices(&self) -> Vec<&Matrix> {
        let mut m = vec![&self.qkv, &self.o];
        m.extend(self.ffn.matrices());
        m
    }

    pub fn weight_bytes(&self) -> u64 {
        self.weight_bytes_by(Matrix::bytes)
    }

    /// The layer's matrices measured by `bytes` ([`Matrix::bytes`] or [`Matrix::gpu_bytes`]),
    /// and its two norms.
    pub fn weight_bytes_by(&self, bytes: fn(&Matrix) -> u64) -> u64 {
        self.matrices().iter().map(|m| bytes(m)).sum::<u64>() + 8 * self.input_norm.len as u64
    }

    /// What one token's step does with this layer's matrices: (weight bytes read, multiply-adds),
    /// counting of each expert-stacked matrix only the `k` routed experts.
    pub fn token_work(&self, k: usize) -> (u64, u64) {
        self.matrices().iter().fold((0, 0), |(b, f), m| {
            let used = k.min(m.experts) as u64;
            (b + m.bytes() / m.experts as u64 * used, f + (m.rows * m.cols) as u64 * used)
        })
    }

    /// Appends this layer's dispatches for `ws.n_tokens` tokens.
    pub fn encode(&self, rec: &mut Recorder, cfg: &TextConfig, ws: &Workspace, cache: &LayerCache) -> Result<()> {
        let (t, h) = (ws.n_tokens, cfg.hidden_size);
        let shape = cache.shape;
        let eps = cfg.rms_norm_eps;
        // --- attention block
        let (x, norm) = normed_input(rec, ws, &[&self.qkv], &self.input_norm, 0..t, eps)?;
        kernels::matmul(rec, &self.qkv, x, &ws.qkv, MatmulArgs { norm, ..MatmulArgs::dense(t, shape.width()) })?;
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
        let plan = kernels::AttentionPlan::pick(rec.ctx, shape, t);
        let (qkv, scratch) = (&ws.qkv, &ws.attn_scratch);
        kernels::attention(rec, shape, qkv, &cache.k, &cache.v, &ws.attn, &ws.step, t, plan, scratch)?;
        kernels::kv_store(rec, shape, &ws.qkv, &cache.k, &cache.v, &ws.step, t)?;
        kernels::matmul(rec, &self.o, &ws.attn, &ws.h, MatmulArgs { accumulate: true, ..MatmulArgs::dense(t, h) })?;
        // --- feed-forward block
        let (x, norm) = normed_input(rec, ws, &self.ffn.inputs(), &self.post_norm, 0..t, eps)?;
        match &self.ffn {
            Ffn::Dense { gate_up, down } => {
                let w = down.cols;
                gate_up_swiglu(rec, gate_up, x, ws, MatmulArgs { norm, ..MatmulArgs::dense(t, w) }, w)?;
                kernels::matmul(rec, down, &ws.act, &ws.h, MatmulArgs { accumulate: true, ..MatmulArgs::dense(t, h) })?;
            }
            Ffn::Moe { router, experts_gate_up, experts_down, shared_gate_up, shared_down } => {
                let (k, e, w) = (cfg.num_experts_per_tok, cfg.num_local_experts, cfg.intermediate_size);
                // shared expert, added unscaled
                gate_up_swiglu(rec, shared_gate_up, x, ws, MatmulArgs::dense(t, w), w)?;
                kernels::matmul(
                    rec,
                    shared_down,
                    &ws.act,
                    &ws.h,
                    MatmulArgs { accumulate: true, ..MatmulArgs::dense(t, h) },
                )?;
                // router: top-k on raw logits, sigmoid scores; ids stay on the GPU
                kernels::matmul(rec, router, x, &ws.router_logits, MatmulArgs::dense(t, e))?;
                kernels::router_topk(rec, &ws.router_logits, &ws.top_ids, &ws.top_scores, t, e, k)?;
                let routed = Routed { gate_up: experts_gate_up, down: experts_down, t, h, k, w };
                match &ws.expert_rows {
                    Some(rows) => routed.grouped(rec, ws, rows)?,
                    None => routed.direct(rec, ws)?,
                }
            }
        }
        Ok(())
    }
}

/// Whether the matmuls `by`, the only readers of a norm's output, apply it themselves on `ctx`:
/// where there is one of them and it can ([`kernels::matmul::fuses_norm`]).
pub(crate) fn norm_fuses(ctx: &GpuContext, by: &[&Matrix]) -> bool {
    matches!(by, [w] if kernels::matmul::fuses_norm(ctx, w))
}

/// The input of the matmuls `by` (the only readers of the normed rows) for the RMSNorm by
/// `weight` of the residual rows `rows` of `ws.h`: `ws.h` itself and the norm where one matrix
/// reads them and applies the norm itself ([`kernels::matmul::fuses_norm`]), else the norm's pass
/// into `ws.x` and `ws.x` (its rows from 0).
pub(crate) fn normed_input<'a>(
    rec: &mut Recorder,
    ws: &'a Workspace,
    by: &[&Matrix],
    weight: &'a Activation,
    rows: std::ops::Range<usize>,
    eps: f32,
) -> Result<(&'a Activation, Option<RowNorm<'a>>)> {
    if norm_fuses(rec.ctx, by) {
        return Ok((&ws.h, Some(RowNorm { weight, eps })));
    }
    kernels::rmsnorm(rec, &ws.h, weight, &ws.x, rows, weight.len, eps)?;
    Ok((&ws.x, None))
}

/// `ws.act = swiglu(gate_up x)` over `args.n_tokens` rows of width `w` (`args` as for an output
/// `w` wide): one matmul where it can write the SwiGLU itself, else the matmul into `ws.gu` and
/// the SwiGLU pass.
fn gate_up_swiglu(
    rec: &mut Recorder,
    gate_up: &Matrix,
    x: &Activation,
    ws: &Workspace,
    args: MatmulArgs,
    w: usize,
) -> Result<()> {
    if kernels::matmul::fuses_swiglu(rec.ctx, gate_up) {
        return kernels::matmul(rec, gate_up, x, &ws.act, MatmulArgs { swiglu: true, ..args });
    }
    let rows = args.n_tokens;
    kernels::matmul(rec, gate_up, x, &ws.gu, MatmulArgs { out_stride: 2 * w, ..args })?;
    kernels::swiglu(rec, &ws.gu, &ws.act, rows, w)
}

/// A MoE layer's routed experts in one step of `t` tokens (hidden `h`, top-`k`, expert width `w`).
struct Routed<'a> {
    gate_up: &'a Matrix,
    down: &'a Matrix,
    t: usize,
    h: usize,
    k: usize,
    w: usize,
}

impl Routed<'_> {
    /// One activation row per assignment `a = t k + j` (token row `a / k`, its input scaled by
    /// its score): decode, where a step routes one token.
    fn direct(&self, rec: &mut Recorder, ws: &Workspace) -> Result<()> {
        let (n, h, k, w) = (self.t * self.k, self.h, self.k, self.w);
        let routing =
            |scale_input| ExpertRouting { ids: &ws.top_ids, scores: &ws.top_scores, scale_input, grouped: false };
        let gu_args = MatmulArgs { x_div: k, experts: Some(routing(true)), ..MatmulArgs::dense(n, w) };
        gate_up_swiglu(rec, self.gate_up, &ws.x, ws, gu_args, w)?;
        let down_args = MatmulArgs { experts: Some(routing(false)), ..MatmulArgs::dense(n, h) };
        kernels::matmul(rec, self.down, &ws.act, &ws.y, down_args)?;
        kernels::moe_combine(rec, &ws.y, &ws.h, self.t, h, k, None)
    }

    /// A prompt: the assignments sorted by expert on the GPU into whole tiles, their scaled
    /// inputs gathered, then matmuls in which each tile reads its expert's weights once, and the
    /// combine through each assignment's row.
    fn grouped(&self, rec: &mut Recorder, ws: &Workspace, rows: &kernels::ExpertRows) -> Result<()> {
        let (n, h, k, w) = (rows.n_rows, self.h, self.k, self.w);
        kernels::moe_group(rec, &ws.top_ids, rows)?;
        kernels::moe_gather(rec, &ws.x, &ws.top_scores, k, h, rows)?;
        let routing = || ExpertRouting { ids: &rows.expert, scores: &ws.top_scores, scale_input: false, grouped: true };
        let gu_args = MatmulArgs { experts: Some(routing()), ..MatmulArgs::dense(n, w) };
        gate_up_swiglu(rec, self.gate_up, &rows.x, ws, gu_args, w)?;
        let down_args = MatmulArgs { experts: Some(routing()), ..MatmulArgs::dense(n, h) };
        kernels::matmul(rec, self.down, &ws.act, &ws.y, down_args)?;
        kernels::moe_combine(rec, &ws.y, &ws.h, self.t, h, k, Some(&rows.slot))
    }
}
