//! KV cache: global (NoPE) layers keep every position; chunked (RoPE) layers keep a ring of
//! `min(chunk, max_context)` slots, which holds everything the chunk mask can still show. The
//! cache holds f32, or f16 with `--dtype f16`.

use crate::config::{AttentionKind, TextConfig};
use crate::error::Result;
use crate::gpu::{Activation, GpuContext};
use crate::kernels::AttentionShape;
use crate::model::Dtype;

pub struct LayerCache {
    pub shape: AttentionShape,
    pub k: Activation,
    pub v: Activation,
}

pub struct KvCache {
    pub layers: Vec<LayerCache>,
    pub max_context: usize,
}

impl KvCache {
    pub fn shape(cfg: &TextConfig, kind: AttentionKind, max_context: usize, dtype: Dtype) -> AttentionShape {
        let chunked = kind == AttentionKind::ChunkedRope;
        AttentionShape {
            nh: cfg.num_attention_heads,
            nkv: cfg.num_key_value_heads,
            d: cfg.head_dim,
            cap: if chunked { cfg.attention_chunk_size.min(max_context) } else { max_context },
            chunk: if chunked { cfg.attention_chunk_size } else { 0 },
            kv_f16: dtype == Dtype::F16,
        }
    }

    /// Bytes the cache needs for `max_context` positions.
    pub fn bytes(cfg: &TextConfig, max_context: usize, dtype: Dtype) -> u64 {
        cfg.layers
            .iter()
            .map(|l| (2 * Self::shape(cfg, l.attention, max_context, dtype).cache_words() * 4) as u64)
            .sum()
    }

    pub fn new(ctx: &GpuContext, cfg: &TextConfig, max_context: usize, dtype: Dtype) -> Result<Self> {
        let layers = cfg
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let shape = Self::shape(cfg, l.attention, max_context, dtype);
                let n = shape.cache_words();
                Ok(LayerCache {
                    shape,
                    k: Activation::new(ctx, &format!("k_cache.{i}"), n)?,
                    v: Activation::new(ctx, &format!("v_cache.{i}"), n)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(KvCache { layers, max_context })
    }
}
