//! Activations for one step shape (`n_tokens`, logits rows), allocated once and reused, plus the
//! per-step inputs the host writes before each submit (token ids, positions, RoPE table).

use crate::config::{FfnKind, TextConfig};
use crate::error::Result;
use crate::gpu::{Activation, GpuContext};
use crate::kernels;
use crate::model::Passes;

pub struct Workspace {
    pub n_tokens: usize,
    /// Logits rows computed: all `n_tokens` (for --dump-logits) or only the last.
    pub logits_rows: usize,
    pub ids: Activation, // u32 [T]
    pub h: Activation,   // [T, H] residual stream
    /// `[T, H]` a norm's output, where some norm runs as its own pass (else unused, one word).
    pub x: Activation,
    pub qkv: Activation,  // [T, (nh + 2 nkv) d]
    pub attn: Activation, // [T, nh d]
    /// What this step's attention plan needs besides its inputs (see
    /// [`kernels::AttentionPlan::pick`]).
    pub attn_scratch: kernels::AttentionScratch,
    /// `[T k (or the grouped rows), 2 max(I, Imlp)]` where some gate|up matmul leaves its
    /// SwiGLU to a second pass (else unused, one word).
    pub gu: Activation,
    /// `[T k (or the grouped rows), max(I, Imlp)]`, and during attention its partial results
    /// (`attn_scratch.part` shares the buffer).
    pub act: Activation,
    pub router_logits: Activation, // [T, E]
    pub top_ids: Activation,       // u32 [T k]
    pub top_scores: Activation,    // [T k]
    pub y: Activation,             // [T k (or the grouped rows), H] routed expert outputs (MoE)
    /// Prefill (T > 1) of a MoE model: the routed assignments sorted by expert, so that each
    /// expert's weights are read once per tile of rows (`gu`, `act` and `y` then hold the sorted
    /// rows). Decode routes its one token directly.
    pub expert_rows: Option<kernels::ExpertRows>,
    /// `[logits_rows, V]` in blocks of rows that each fit one storage binding.
    pub logits: Vec<Activation>,
    pub logits_block_rows: usize,
    pub token: Activation, // u32 [1] sampled id
    /// What the sampler's passes hand on (see [`kernels::sample`]).
    pub sample: kernels::SampleScratch,
    pub rope_table: Activation, // [T, d/2, 2] cos, sin
    pub temps: Activation,      // [T]
    /// Uniform: past, n_tokens, sample counter, pad.
    pub step: wgpu::Buffer,
}

/// The float (or id) count of each activation of a step of `n_tokens` tokens: what
/// [`Workspace::new`] allocates, and what [`Workspace::max_tokens`] checks against the binding
/// limit before anything is allocated.
struct Lens {
    h: usize,
    /// The normed rows `[T, H]` (0 where every norm is fused into its matmul).
    x: usize,
    qkv: usize,
    attn: usize,
    /// Routed assignments `T k` (`T` for a dense model).
    routed: usize,
    /// `[rows, 2 w]` (0 where every gate|up matmul writes its SwiGLU) and `[rows, w]`: rows are
    /// `T k`, or the grouped rows (prefill of a MoE model); `w` the widest feed-forward,
    /// `max(I, Imlp)` over the layers' kinds.
    gate_up: usize,
    act: usize,
    /// `[rows, H]`: the routed experts' outputs (0 for a dense model), and the grouped inputs
    /// when grouped.
    y: usize,
    grouped: bool,
    router_logits: usize,
    rope_table: usize,
    logits_rows: usize,
    logits_block_rows: usize,
    attn_scratch: [usize; 3],
}

impl Lens {
    fn new(ctx: &GpuContext, cfg: &TextConfig, passes: Passes, t: usize, all_logits: bool) -> Lens {
        let k = if cfg.has_moe() { cfg.num_experts_per_tok } else { 1 };
        let dense_w = if cfg.layers.iter().any(|l| l.ffn == FfnKind::Dense) { cfg.intermediate_size_mlp } else { 0 };
        let moe_w = if cfg.has_moe() { cfg.intermediate_size } else { 0 };
        let w = dense_w.max(moe_w);
        // beyond MAX_GROUPED_EXPERTS, ExpertRows::new refuses: route directly instead
        let grouped = cfg.has_moe() && t > 1 && cfg.num_local_experts <= kernels::MAX_GROUPED_EXPERTS;
        let rows = if grouped { kernels::ExpertRows::rows_for(t * k, cfg.num_local_experts) } else { t * k };
        let logits_rows = if all_logits { t } else { 1 };
        Lens {
            h: t * cfg.hidden_size,
            x: if passes.norm { t * cfg.hidden_size } else { 0 },
            qkv: t * cfg.qkv_width(),
            attn: t * cfg.num_attention_heads * cfg.head_dim,
            routed: t * k,
            gate_up: if passes.swiglu { rows * 2 * w } else { 0 },
            act: rows * w,
            y: if cfg.has_moe() { rows * cfg.hidden_size } else { 0 },
            grouped,
            router_logits: t * cfg.num_local_experts.max(1),
            rope_table: t * cfg.head_dim,
            logits_rows,
            logits_block_rows: ((ctx.split_limit / 4) as usize / cfg.vocab_size).clamp(1, logits_rows),
            attn_scratch: kernels::AttentionScratch::lens_for_step(ctx, attention_geometry(cfg), t),
        }
    }

    /// The most floats any one activation holds (the logits come in blocks that each fit).
    fn largest(&self) -> usize {
        let each = [self.h, self.qkv, self.attn, self.gate_up, self.act, self.y, self.router_logits, self.rope_table];
        each.into_iter().chain(self.attn_scratch).max().unwrap_or(0)
    }
}

/// Tokens a prompt step takes at most by default (llama.cpp's micro-batch): enough to keep a
/// large GPU busy, while a Scout step's activations stay well under 128 MiB bindings.
pub const PREFILL_BATCH: usize = 512;

impl Workspace {
    /// The most tokens (up to `want`) one step may take on `ctx` with every activation within
    /// the adapter's storage binding limit; 0 when not even one token fits (`passes` as for
    /// [`Workspace::new`]).
    pub fn max_tokens(ctx: &GpuContext, cfg: &TextConfig, passes: Passes, want: usize) -> usize {
        let fits = |t: usize| (Lens::new(ctx, cfg, passes, t, false).largest() * 4) as u64 <= ctx.max_binding;
        let mut t = want.max(1);
        while t > 0 && !fits(t) {
            t /= 2;
        }
        t
    }

    /// `passes`: the separate passes a step of the model runs
    /// ([`crate::model::TextModel::passes`]): a SwiGLU pass needs the `[rows, 2 I]` buffer `gu`,
    /// a norm pass the `[T, H]` buffer `x`.
    pub fn new(ctx: &GpuContext, cfg: &TextConfig, passes: Passes, n_tokens: usize, all_logits: bool) -> Result<Self> {
        let t = n_tokens;
        let l = Lens::new(ctx, cfg, passes, t, all_logits);
        let expert_rows = match l.grouped {
            true => Some(kernels::ExpertRows::new(ctx, l.routed, cfg.num_local_experts, cfg.hidden_size)?),
            false => None,
        };
        let (logits_rows, block_rows) = (l.logits_rows, l.logits_block_rows);
        let a = |name: &str, n: usize| Activation::new(ctx, name, n);
        // matmul inputs: uniform-readable on CPU adapters (see Flag::XUniform)
        let mm_in = |name: &str, n: usize| Activation::new_uniform_readable(ctx, name, n);
        // a layer's attention is done before its feed-forward starts, and the next layer's
        // attention starts after it: `act` holds the attention's partial results too
        let act = mm_in("act", l.act.max(l.attn_scratch[0]))?;
        let attn_scratch = kernels::AttentionScratch::for_step(ctx, attention_geometry(cfg), t, Some(&act))?;
        Ok(Workspace {
            n_tokens: t,
            logits_rows,
            ids: a("ids", t)?,
            // read by the matmuls that apply their norms: uniform-readable as their inputs are
            h: if passes.fused_norm { mm_in("h", l.h)? } else { a("h", l.h)? },
            x: if l.x > 0 { mm_in("x", l.x)? } else { a("x", 0)? },
            qkv: a("qkv", l.qkv)?,
            attn: mm_in("attn", l.attn)?,
            attn_scratch,
            gu: a("gate_up", l.gate_up)?,
            act,
            router_logits: a("router_logits", l.router_logits)?,
            top_ids: a("top_ids", l.routed)?,
            top_scores: a("top_scores", l.routed)?,
            y: a("expert_out", l.y)?,
            expert_rows,
            logits: (0..logits_rows.div_ceil(block_rows))
                .map(|b| a("logits", block_rows.min(logits_rows - b * block_rows) * cfg.vocab_size))
                .collect::<Result<_>>()?,
            logits_block_rows: block_rows,
            token: a("token", 1)?,
            sample: kernels::SampleScratch::new(ctx, cfg.vocab_size)?,
            rope_table: a("rope_table", l.rope_table)?,
            temps: a("temps", t)?,
            step: ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("step"),
                size: 16,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
        })
    }

    /// Bytes of GPU buffers this workspace holds.
    pub fn bytes(&self) -> u64 {
        let one = [
            &self.ids,
            &self.h,
            &self.x,
            &self.qkv,
            &self.attn,
            &self.gu,
            &self.act,
            &self.router_logits,
            &self.top_ids,
            &self.top_scores,
            &self.y,
            &self.token,
            &self.rope_table,
            &self.temps,
        ];
        one.into_iter().chain(&self.logits).map(|a| a.buffer.size()).sum::<u64>()
            + self.attn_scratch.bytes()
            + self.expert_rows.as_ref().map_or(0, |r| r.bytes())
            + self.sample.bytes()
            + self.step.size()
    }

    /// Writes this step's inputs: positions `past..past+T`, their RoPE cos/sin and temperatures.
    pub fn write_step(
        &self,
        ctx: &GpuContext,
        cfg: &TextConfig,
        inv_freq: &[f32],
        past: usize,
        counter: u32,
        ids: Option<&[u32]>,
    ) {
        let t = self.n_tokens;
        ctx.queue.write_buffer(&self.step, 0, bytemuck::cast_slice(&[past as u32, t as u32, counter, 0]));
        let mut table = Vec::with_capacity(t * inv_freq.len() * 2);
        let mut temps = Vec::with_capacity(t);
        for i in 0..t {
            let pos = past + i;
            for &f in inv_freq {
                let angle = pos as f32 * f; // float32, as torch's inv_freq @ position_ids
                table.push((angle as f64).cos() as f32);
                table.push((angle as f64).sin() as f32);
            }
            temps.push(cfg.attn_temperature(pos));
        }
        ctx.queue.write_buffer(&self.rope_table.buffer, 0, bytemuck::cast_slice(&table));
        ctx.queue.write_buffer(&self.temps.buffer, 0, bytemuck::cast_slice(&temps));
        if let Some(ids) = ids {
            ctx.queue.write_buffer(&self.ids.buffer, 0, bytemuck::cast_slice(ids));
        }
    }
}

/// The attention geometry every layer of `cfg` shares (the cache size differs per layer and does
/// not change what a workspace holds).
fn attention_geometry(cfg: &TextConfig) -> kernels::AttentionShape {
    kernels::AttentionShape {
        nh: cfg.num_attention_heads,
        nkv: cfg.num_key_value_heads,
        d: cfg.head_dim,
        cap: 0,
        chunk: 0,
        kv_f16: false,
    }
}
