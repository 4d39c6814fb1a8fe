//! The Llama 4 text model on the GPU: weights, the per-layer forward encoding, the KV cache and
//! the activation workspaces.

pub mod kv_cache;
pub mod layer;
pub mod workspace;

pub use kv_cache::KvCache;
pub use layer::{Ffn, Layer};
pub use workspace::Workspace;

use crate::config::TextConfig;
use crate::error::{Error, Result};
use crate::gpu::{Activation, GpuContext, Matrix, Recorder, RowPart};
use crate::kernels::{self, MatmulArgs, SamplerConfig};
use crate::loader::{TensorSource, WeightNames};
use std::sync::Arc;

pub struct TextModel {
    pub cfg: TextConfig,
    pub embed: Arc<Matrix>,
    /// The same matrix as `embed` when embeddings are tied.
    pub lm_head: Arc<Matrix>,
    pub norm: Activation,
    pub layers: Vec<Layer>,
    pub inv_freq: Vec<f32>,
}

impl TextModel {
    /// Uploads every weight. `progress(i, n)` is called after each layer.
    pub fn load(
        ctx: &GpuContext,
        cfg: &TextConfig,
        ck: &dyn TensorSource,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Self> {
        let names = WeightNames::new(cfg.architecture);
        let (v, h) = (cfg.vocab_size, cfg.hidden_size);
        let embed_name = names.embed();
        let embed =
            Arc::new(Matrix::upload(ctx, &embed_name, 1, h, &[RowPart::Linear(ck.get(&embed_name, &[v, h])?)])?);
        let lm_head = if cfg.tie_word_embeddings {
            embed.clone()
        } else {
            let lm_head = names.lm_head();
            if !ck.contains(&lm_head) {
                return Err(Error::load(
                    ck.origin(),
                    &lm_head,
                    "missing from the checkpoint (and tie_word_embeddings is false)",
                ));
            }
            Arc::new(Matrix::upload(ctx, &lm_head, 1, h, &[RowPart::Linear(ck.get(&lm_head, &[v, h])?)])?)
        };
        let norm = layer::load_norm(ctx, ck, &names.norm(), h)?;
        let n = cfg.num_hidden_layers;
        let mut layers = Vec::with_capacity(n);
        for i in 0..n {
            layers.push(Layer::load(ctx, cfg, ck, &names, i)?);
            progress(i + 1, n);
        }
        ctx.check_errors("uploading the weights")?;
        Ok(TextModel { cfg: cfg.clone(), embed, lm_head, norm, layers, inv_freq: cfg.rope_inv_freq() })
    }

    pub fn weight_bytes(&self) -> u64 {
        let head = if Arc::ptr_eq(&self.embed, &self.lm_head) { 0 } else { self.lm_head.bytes() };
        self.embed.bytes() + head + self.layers.iter().map(|l| l.weight_bytes()).sum::<u64>()
    }

    /// Records one forward step of `ws.n_tokens` tokens, the logits and the sampler.
    pub fn record(
        &self,
        ctx: &GpuContext,
        ws: &Workspace,
        cache: &KvCache,
        sampler: &SamplerConfig,
    ) -> Result<crate::gpu::Plan> {
        let cfg = &self.cfg;
        let mut rec = Recorder::new(ctx);
        let (t, h, v) = (ws.n_tokens, cfg.hidden_size, cfg.vocab_size);
        kernels::embed(&mut rec, &self.embed, &ws.ids, &ws.h, t)?;
        for (layer, lc) in self.layers.iter().zip(&cache.layers) {
            layer.encode(&mut rec, cfg, ws, lc)?;
        }
        // Final norm and lm_head on the rows whose logits are wanted (all, or the last).
        let rows = ws.logits_rows;
        kernels::rmsnorm(&mut rec, &ws.h, &self.norm, &ws.x, rows, h, cfg.rms_norm_eps, t - rows)?;
        let per = ws.logits_block_rows;
        for (b, block) in ws.logits.iter().enumerate() {
            let n = per.min(rows - b * per);
            kernels::matmul(
                &mut rec,
                &self.lm_head,
                &ws.x,
                block,
                MatmulArgs { x_row0: b * per, ..MatmulArgs::dense(n, v) },
            )?;
        }
        let last = ws.logits.last().unwrap();
        kernels::sample(&mut rec, sampler, last, last.len / v - 1, v, &ws.token, &ws.step)?;
        let plan = rec.finish();
        ctx.check_errors("recording a step")?;
        Ok(plan)
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
