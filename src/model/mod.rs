//! The Llama 4 text model on the GPU: weights, the per-layer forward encoding, the KV cache and
//! the activation workspaces.

pub mod kv_cache;
pub mod layer;
pub mod spec;
pub mod vision;
pub mod workspace;

pub use kv_cache::KvCache;
pub use layer::{Ffn, Layer};
pub use spec::LayerSpec;
pub use vision::VisionModel;
pub use workspace::Workspace;

use crate::config::TextConfig;
use crate::error::{Error, Result};
use crate::gpu::{Activation, GpuContext, Matrix, MatrixSpec, Recorder, RowPart};
use crate::kernels::{self, MatmulArgs, SamplerConfig};
use crate::loader::{TensorSource, WeightNames};
use crate::quant::{quantize::TARGETS, WeightFormat};
use layer::normed_input;
use std::sync::Arc;

pub struct TextModel {
    pub cfg: TextConfig,
    pub embed: Arc<Matrix>,
    /// The same matrix as `embed` when embeddings are tied.
    pub lm_head: Arc<Matrix>,
    pub norm: Activation,
    pub layers: Vec<Layer>,
    pub inv_freq: Vec<f32>,
    /// The KV cache precision sessions on this model use.
    pub dtype: Dtype,
}

/// The precision of activations the runtime keeps between steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dtype {
    /// f32 everywhere (matches transformers' f32 to ~1e-6).
    #[default]
    F32,
    /// The KV cache in f16 (half the memory); where the adapter has shader-f16, attention reads
    /// it with f16 math and matmuls multiply in f16 (sums of more than four terms stay f32);
    /// elsewhere the cache is unpacked to f32 math.
    F16,
}

impl Dtype {
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::F16 => "f16",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "float32" => Ok(Dtype::F32),
            "f16" | "float16" | "half" => Ok(Dtype::F16),
            other => Err(Error::Input(format!("unknown dtype `{other}` (f32, f16)"))),
        }
    }
}

/// How weights go up to the GPU, and the model's activation precision.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoadOptions {
    /// Quantize-on-load: float attention, dense and expert weights become this format (one of
    /// [`crate::quant::quantize::TARGETS`]) where their width is whole blocks of it.
    pub quantize: Option<WeightFormat>,
    pub dtype: Dtype,
}

impl LoadOptions {
    pub fn validate(&self) -> Result<()> {
        match self.quantize {
            Some(q) if !TARGETS.contains(&q) => Err(Error::Input(format!(
                "quantize-on-load writes {}, not {}",
                TARGETS.map(|f| f.name()).join(", "),
                q.name()
            ))),
            _ => Ok(()),
        }
    }
}

/// The embedding table and the LM head (the same spec when tied); never quantized on load.
fn head_specs<'a>(cfg: &TextConfig, ck: &'a dyn TensorSource, names: &WeightNames) -> Result<Vec<MatrixSpec<'a>>> {
    let (v, h) = (cfg.vocab_size, cfg.hidden_size);
    let spec = |name: String| -> Result<MatrixSpec<'a>> {
        let view = ck.get(&name, &[v, h])?;
        Ok(MatrixSpec::new(name, 1, h, vec![RowPart::Linear(view)]).kept())
    };
    let mut specs = vec![spec(names.embed())?];
    if !cfg.tie_word_embeddings {
        let lm_head = names.lm_head();
        if !ck.contains(&lm_head) {
            return Err(Error::load(
                ck.origin(),
                &lm_head,
                "missing from the checkpoint (and tie_word_embeddings is false)",
            ));
        }
        specs.push(spec(lm_head)?);
    }
    Ok(specs)
}

/// Every matrix a load uploads, in order (norms aside): what `info` sizes.
pub fn matrix_specs<'a>(cfg: &TextConfig, ck: &'a dyn TensorSource) -> Result<Vec<MatrixSpec<'a>>> {
    let names = WeightNames::new(cfg.architecture);
    let mut specs = head_specs(cfg, ck, &names)?;
    for i in 0..cfg.num_hidden_layers {
        specs.extend(LayerSpec::gather(cfg, ck, &names, i)?.matrices().into_iter().cloned());
    }
    Ok(specs)
}

/// Bytes of the embedding and the head (once when they are tied).
fn heads_bytes(embed: &Arc<Matrix>, lm_head: &Arc<Matrix>, bytes: fn(&Matrix) -> u64) -> u64 {
    bytes(embed) + if Arc::ptr_eq(embed, lm_head) { 0 } else { bytes(lm_head) }
}

/// Which of the passes that a matmul can take over some step of a model still runs on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Passes {
    /// A gate|up matmul writes gate and up for a SwiGLU pass (else each writes its SwiGLU,
    /// [`kernels::matmul::fuses_swiglu`], and no step needs a `[rows, 2 I]` buffer).
    pub swiglu: bool,
    /// An RMSNorm writes its output for its readers (else each norm is applied by the one matmul
    /// reading it, [`kernels::matmul::fuses_norm`], and no step needs the `[T, H]` normed rows).
    pub norm: bool,
    /// A matmul applies its input's norm itself, reading the residual rows `h`.
    pub fused_norm: bool,
}

/// How far an upload has come, given to the load callback after each layer.
#[derive(Clone, Copy, Debug)]
pub struct Uploaded {
    /// Layers uploaded so far, of `layers`.
    pub layer: usize,
    pub layers: usize,
    /// Bytes of GPU weight buffers written so far (the embedding and head first).
    pub bytes: u64,
}

impl TextModel {
    /// The separate passes some step of this model runs on `ctx`, and so the buffers its
    /// workspaces need.
    pub fn passes(&self, ctx: &GpuContext) -> Passes {
        let fuses_swiglu = |m: &Matrix| crate::kernels::matmul::fuses_swiglu(ctx, m);
        let head = layer::norm_fuses(ctx, &[&*self.lm_head]);
        Passes {
            swiglu: self.layers.iter().flat_map(|l| l.ffn.gate_ups()).any(|m| !fuses_swiglu(m)),
            norm: self.layers.iter().any(|l| l.norm_passes(ctx) > 0) || !head,
            fused_norm: self.layers.iter().any(|l| l.norm_passes(ctx) < 2) || head,
        }
    }

    /// Uploads every weight as stored. `progress` is called after each layer.
    pub fn load(
        ctx: &GpuContext,
        cfg: &TextConfig,
        ck: &dyn TensorSource,
        progress: impl FnMut(Uploaded),
    ) -> Result<Self> {
        Self::load_with(ctx, cfg, ck, &LoadOptions::default(), progress)
    }

    /// Uploads every weight as `opts` asks. `progress` is called after each layer.
    pub fn load_with(
        ctx: &GpuContext,
        cfg: &TextConfig,
        ck: &dyn TensorSource,
        opts: &LoadOptions,
        mut progress: impl FnMut(Uploaded),
    ) -> Result<Self> {
        opts.validate()?;
        if opts.dtype == Dtype::F16 && !ctx.f16_in_f32 {
            return Err(Error::Unsupported {
                adapter: ctx.info.name.clone(),
                what: "pack2x16float / unpack2x16float (wgpu's SHADER_F16_IN_F32), which an f16 KV cache needs".into(),
            });
        }
        kernels::attention::check_shape(cfg.head_dim, cfg.num_attention_heads, cfg.num_key_value_heads)?;
        let scope = ctx.error_scope();
        let names = WeightNames::new(cfg.architecture);
        let mut heads = head_specs(cfg, ck, &names)?.into_iter().map(|s| s.upload(ctx, None).map(Arc::new));
        let embed = heads.next().unwrap()?;
        let lm_head = heads.next().transpose()?.unwrap_or_else(|| embed.clone());
        let norm = layer::load_norm(ctx, ck, &names.norm(), cfg.hidden_size)?;
        let n = cfg.num_hidden_layers;
        let mut layers = Vec::with_capacity(n);
        let mut bytes = heads_bytes(&embed, &lm_head, Matrix::bytes);
        for i in 0..n {
            let layer = Layer::load(ctx, cfg, ck, &names, i, opts.quantize)?;
            bytes += layer.weight_bytes();
            layers.push(layer);
            progress(Uploaded { layer: i + 1, layers: n, bytes });
        }
        scope.check(ctx, "uploading the weights")?;
        Ok(TextModel {
            cfg: cfg.clone(),
            embed,
            lm_head,
            norm,
            layers,
            inv_freq: cfg.rope_inv_freq(),
            dtype: opts.dtype,
        })
    }

    pub fn weight_bytes(&self) -> u64 {
        self.bytes_by(Matrix::bytes)
    }

    /// The GPU memory the weights take: [`TextModel::weight_bytes`] and the chunks' padding.
    pub fn gpu_bytes(&self) -> u64 {
        self.bytes_by(Matrix::gpu_bytes)
    }

    fn bytes_by(&self, bytes: fn(&Matrix) -> u64) -> u64 {
        heads_bytes(&self.embed, &self.lm_head, bytes)
            + self.layers.iter().map(|l| l.weight_bytes_by(bytes)).sum::<u64>()
    }

    /// What a step does per token with the decoder layers' matrices: (weight bytes read,
    /// multiply-adds), only the routed experts counted. The LM head (one row of logits a step)
    /// adds [`Matrix::bytes`] and `rows * cols` of `self.lm_head` once per step.
    pub fn token_work(&self) -> (u64, u64) {
        let k = self.cfg.num_experts_per_tok;
        self.layers.iter().map(|l| l.token_work(k)).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }

    /// Records one forward step of `ws.n_tokens` tokens, the logits and the sampler.
    pub fn record(
        &self,
        ctx: &GpuContext,
        ws: &Workspace,
        cache: &KvCache,
        sampler: &SamplerConfig,
    ) -> Result<crate::gpu::Plan> {
        self.record_with(ctx, ws, cache, sampler, None)
    }

    /// [`TextModel::record`] with image features merged into the embeddings after the gather.
    pub fn record_with(
        &self,
        ctx: &GpuContext,
        ws: &Workspace,
        cache: &KvCache,
        sampler: &SamplerConfig,
        merge: Option<&ImageMerge>,
    ) -> Result<crate::gpu::Plan> {
        let cfg = &self.cfg;
        let scope = ctx.error_scope();
        let mut rec = Recorder::new(ctx);
        rec.f16_math = self.dtype == Dtype::F16;
        let (t, v) = (ws.n_tokens, cfg.vocab_size);
        kernels::embed(&mut rec, &self.embed, &ws.ids, &ws.h, t)?;
        if let Some(m) = merge {
            let dims = (cfg.hidden_size, t, m.pos0);
            kernels::vision::merge_features(&mut rec, &m.rows, &m.features, &ws.h, &ws.step, dims)?;
        }
        for (layer, lc) in self.layers.iter().zip(&cache.layers) {
            layer.encode(&mut rec, cfg, ws, lc)?;
        }
        // Final norm and lm_head on the rows whose logits are wanted (all, or the last).
        let rows = ws.logits_rows;
        let (x, norm) = normed_input(&mut rec, ws, &[&self.lm_head], &self.norm, t - rows..t, cfg.rms_norm_eps)?;
        // the wanted rows start at row t - rows of h, or at row 0 of the norm's output
        let row0 = if norm.is_some() { t - rows } else { 0 };
        let per = ws.logits_block_rows;
        for (b, block) in ws.logits.iter().enumerate() {
            let n = per.min(rows - b * per);
            let args = MatmulArgs { x_row0: row0 + b * per, norm, ..MatmulArgs::dense(n, v) };
            kernels::matmul(&mut rec, &self.lm_head, x, block, args)?;
        }
        let last = ws.logits.last().unwrap();
        kernels::sample(&mut rec, sampler, last, last.len / v - 1, v, &ws.token, &ws.step, &ws.sample)?;
        let plan = rec.finish();
        scope.check(ctx, "recording a step")?;
        Ok(plan)
    }
}

/// Image features a prefill writes over the embeddings of its `<|patch|>` tokens (spec §4.10).
pub struct ImageMerge {
    /// Per prompt position from `pos0`: the feature row, or `u32::MAX` for a text token.
    pub rows: Activation,
    /// `[n_patch, hidden]`, e.g. from [`VisionModel::encode`].
    pub features: Activation,
    pub pos0: usize,
}

impl ImageMerge {
    /// Maps the `patch` tokens of `ids` (a prompt starting at position `pos0`) to the rows of
    /// `features` from `first_row` on, in order; they must take every row from there.
    pub fn new(
        ctx: &GpuContext,
        ids: &[u32],
        patch: u32,
        features: Activation,
        (hidden, pos0, first_row): (usize, usize, usize),
    ) -> Result<Self> {
        if !features.len.is_multiple_of(hidden) {
            return Err(Error::Shape(format!(
                "image features of {} values are not whole rows of the text model's hidden size {hidden}",
                features.len
            )));
        }
        let rows = (features.len / hidden).checked_sub(first_row).ok_or_else(|| {
            Error::Input(format!("feature row {first_row} is past the {} rows of the images", features.len / hidden))
        })?;
        crate::vision::prompt::check_patch_count(ids, patch, rows, None)?;
        let mut next = crate::kernels::params::fit(first_row)?;
        let rows: Vec<u32> = ids
            .iter()
            .map(|&i| {
                if i == patch {
                    next += 1;
                    next - 1
                } else {
                    u32::MAX
                }
            })
            .collect();
        Ok(ImageMerge { rows: Activation::from_u32(ctx, "image rows", &rows)?, features, pos0 })
    }
}

/// Every id must index the embedding table.
pub(crate) fn check_ids(ids: &[u32], vocab: usize) -> Result<()> {
    if let Some((i, &bad)) = ids.iter().enumerate().find(|(_, &x)| x as usize >= vocab) {
        return Err(Error::Input(format!(
            "token id {bad} at position {i} is out of the vocabulary (vocab_size {vocab})"
        )));
    }
    Ok(())
}
