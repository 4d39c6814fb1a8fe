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

    /// Positions the attention of a token at `pos` reads, summed over layers (a chunked layer
    /// reads its chunk so far, a global one every position), and the cache bytes that is.
    pub fn token_reads(cfg: &TextConfig, pos: usize, dtype: Dtype) -> (u64, u64) {
        cfg.layers.iter().fold((0, 0), |(n, b), l| {
            let s = Self::shape(cfg, l.attention, 1, dtype);
            let seen = if s.chunk > 0 { pos % s.chunk + 1 } else { pos + 1 } as u64;
            (n + seen, b + seen * 2 * 4 * s.cache_words() as u64)
        })
    }

    /// The most positions, at most `want`, for which every layer's K and V caches each fit one
    /// storage binding of `max_binding` bytes.
    pub fn positions_within(cfg: &TextConfig, want: usize, dtype: Dtype, max_binding: u64) -> usize {
        let fits = |n| {
            cfg.layers.iter().all(|l| Self::shape(cfg, l.attention, n, dtype).cache_words() as u64 * 4 <= max_binding)
        };
        if fits(want) {
            return want;
        }
        // a layer's cache grows with n, so the positions that fit are 0..=some n below `want`
        let (mut lo, mut hi) = (0, want);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_within_a_binding() {
        // the scout fixture: 2 KV heads of 16 (128 bytes a position in f32), chunk 8, a NoPE layer
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scout");
        let cfg = TextConfig::from_dir(&dir).unwrap();
        let within = |bytes, dtype| KvCache::positions_within(&cfg, 2048, dtype, bytes);
        assert_eq!(within(1 << 30, Dtype::F32), 2048);
        assert_eq!(within(128 * 100 + 5, Dtype::F32), 100);
        assert_eq!(within(128 * 100 + 5, Dtype::F16), 200);
        // under one chunk's ring (8 x 128 bytes) the chunked layers bound it too
        assert_eq!(within(1000, Dtype::F32), 7);
        assert_eq!(within(0, Dtype::F32), 0);
        assert_eq!(KvCache::positions_within(&cfg, 50, Dtype::F32, 128 * 100), 50);
    }
}
