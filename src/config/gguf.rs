//! GGUF metadata -> [`TextConfig`] for the `llama` and `llama4` architectures, reading the keys
//! llama.cpp's converter writes and defaulting, where a file is silent, as llama.cpp does.
//!
//! `llama` (SmolLM2, the Llama 2/3 family) is the dense subset of the Llama 4 path: RoPE on every
//! layer (the converter already permuted Q/K rows into adjacent pairs), no chunking, no QK norm.

use super::{AttentionKind, FfnKind, LayerPlan, RopeScaling, TextConfig};
use crate::config::Architecture;
use crate::error::{Error, Result};
use crate::loader::gguf::{Gguf, Value};
use crate::loader::TensorSource;

struct Keys<'a> {
    g: &'a Gguf,
    arch: &'a str,
}

impl Keys<'_> {
    fn err(&self, reason: String) -> Error {
        Error::config(&self.g.path, reason)
    }
    fn get(&self, key: &str) -> Option<&Value> {
        self.g.get_meta(&format!("{}.{key}", self.arch))
    }
    fn usize_opt(&self, key: &str) -> Result<Option<usize>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(x) if x <= u32::MAX as u64 => Ok(Some(x as usize)),
                _ => Err(self.err(format!("`{}.{key}` must be a non-negative integer, got {v:?}", self.arch))),
            },
        }
    }
    fn usize_req(&self, key: &str) -> Result<usize> {
        self.usize_opt(key)?.ok_or_else(|| self.err(format!("GGUF metadata has no `{}.{key}`", self.arch)))
    }
    fn f64_opt(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite())
                .map(Some)
                .ok_or_else(|| self.err(format!("`{}.{key}` must be a number, got {v:?}", self.arch))),
        }
    }
}

/// The GGUF architectures this runtime runs.
pub const GGUF_ARCHITECTURES: [&str; 2] = ["llama", "llama4"];

/// Errors, naming the file, unless `arch` is one of [`GGUF_ARCHITECTURES`].
pub fn check_gguf_architecture(path: &std::path::Path, arch: &str) -> Result<()> {
    if !GGUF_ARCHITECTURES.contains(&arch) {
        let supported = GGUF_ARCHITECTURES.join(", ");
        return Err(Error::config(path, format!("unknown architecture `{arch}` (supported: {supported})")));
    }
    Ok(())
}

impl TextConfig {
    /// The text model described by a GGUF file's metadata.
    pub fn from_gguf(g: &Gguf) -> Result<Self> {
        let arch = g.architecture()?;
        check_gguf_architecture(&g.path, arch)?;
        let k = Keys { g, arch };
        let mut notes = vec![];
        let hidden_size = k.usize_req("embedding_length")?;
        let num_hidden_layers = k.usize_req("block_count")?;
        let num_attention_heads = k.usize_req("attention.head_count")?;
        let num_key_value_heads = k.usize_opt("attention.head_count_kv")?.unwrap_or(num_attention_heads);
        let head_dim = k.usize_opt("attention.key_length")?.unwrap_or(hidden_size / num_attention_heads.max(1));
        if let Some(rot) = k.usize_opt("rope.dimension_count")? {
            if rot != head_dim {
                return Err(k.err(format!("partial RoPE ({rot} of {head_dim} dimensions) is not supported")));
            }
        }
        let embed = g.get_any("token_embd.weight")?;
        let vocab_size = match k.usize_opt("vocab_size")? {
            Some(v) => v,
            None => match g.get_meta("tokenizer.ggml.tokens").and_then(|t| t.as_array()) {
                Some(t) => t.len(),
                None => embed.shape[0],
            },
        };
        if let Some(kind) = k.get("rope.scaling.type").and_then(|v| v.as_str()) {
            let factor = k.f64_opt("rope.scaling.factor")?.unwrap_or(1.0);
            if kind != "none" && !(kind == "linear" && factor == 1.0) {
                return Err(k.err(format!("rope scaling `{kind}` (factor {factor}) is not supported")));
            }
        }
        let rope_freq_factors = if g.contains("rope_freqs.weight") {
            g.get("rope_freqs.weight", &[head_dim / 2])?.to_f32()
        } else {
            vec![]
        };
        let tok = |key: &str| g.get_meta(key).and_then(|v| v.as_u64()).map(|x| x as u32);
        let eos_token_ids: Vec<u32> = ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"]
            .iter()
            .filter_map(|key| tok(key))
            .fold(vec![], |mut v, id| {
                if !v.contains(&id) {
                    v.push(id);
                }
                v
            });
        let context = k.usize_opt("context_length")?.unwrap_or(4096);
        let dense_ff = k.usize_opt("feed_forward_length")?;

        let (layers, moe) = if arch == "llama" {
            let ff = dense_ff.ok_or_else(|| k.err("GGUF metadata has no `llama.feed_forward_length`".into()))?;
            if k.usize_opt("expert_count")?.unwrap_or(0) > 0 {
                return Err(k.err("llama-architecture MoE (Mixtral-style) files are not supported".into()));
            }
            let plan = LayerPlan { attention: AttentionKind::ChunkedRope, ffn: FfnKind::Dense };
            (vec![plan; num_hidden_layers], (0, 1, 0, ff, false, u32::MAX as usize))
        } else {
            // llama4, as llama.cpp reads it (src/models/llama4.cpp): chunked attention with
            // chunk 8192 on 3 of 4 layers, temperature tuning with floor 8192 and scale 0.1, QK norm
            // except on the 128-expert model; MoE on every `interleave_moe_layer_step`-th layer.
            let experts = k.usize_req("expert_count")?;
            let used = k.usize_opt("expert_used_count")?.unwrap_or(1);
            let expert_ff = k.usize_req("expert_feed_forward_length")?;
            let step = k.usize_opt("interleave_moe_layer_step")?.unwrap_or(1).max(1);
            let no_swa = k.usize_opt("attention.sliding_window")? == Some(0);
            let chunk = if no_swa { u32::MAX as usize } else { 8192 };
            if !no_swa {
                notes.push("llama4 GGUF: attention chunk 8192, NoPE every 4th layer, temperature tuning floor 8192 and scale 0.1 (llama.cpp's fixed values; the file does not store them)".into());
            }
            let qk_norm = experts != 128;
            notes.push(format!(
                "llama4 GGUF: QK norm {} (llama.cpp: off only for 128 experts)",
                if qk_norm { "on" } else { "off" }
            ));
            let layers = (0..num_hidden_layers)
                .map(|i| LayerPlan {
                    attention: if !no_swa && (i + 1) % 4 == 0 {
                        AttentionKind::GlobalNope
                    } else {
                        AttentionKind::ChunkedRope
                    },
                    ffn: if (i + 1) % step == 0 { FfnKind::Moe } else { FfnKind::Dense },
                })
                .collect();
            (layers, (experts, used, expert_ff, dense_ff.unwrap_or(0), qk_norm, chunk))
        };
        let (num_local_experts, num_experts_per_tok, intermediate_size, intermediate_size_mlp, use_qk_norm, chunk) =
            moe;
        let cfg = TextConfig {
            architecture: Architecture::Gguf,
            vocab_size,
            hidden_size,
            intermediate_size: if arch == "llama" { intermediate_size_mlp } else { intermediate_size },
            intermediate_size_mlp,
            num_hidden_layers,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            rms_norm_eps: k.f64_opt("attention.layer_norm_rms_epsilon")?.unwrap_or(1e-5) as f32,
            tie_word_embeddings: !g.contains("output.weight"),
            num_experts_per_tok,
            num_local_experts,
            use_qk_norm,
            attention_chunk_size: chunk,
            attn_temperature_tuning: arch == "llama4",
            floor_scale: 8192.0,
            attn_scale: 0.1,
            rope_theta: k.f64_opt("rope.freq_base")?.unwrap_or(10000.0),
            rope_scaling: RopeScaling::None,
            max_position_embeddings: context,
            bos_token_id: tok("tokenizer.ggml.bos_token_id"),
            eos_token_ids,
            layers,
            rope_freq_factors,
            notes,
        };
        cfg.validate(&g.path)?;
        Ok(cfg)
    }
}
