//! `config.json` -> [`TextConfig`] + the per-layer plan.
//!
//! Both layouts the hub and transformers write are accepted (spec §1.1): transformers 5's
//! `rope_parameters`, and the hub's top-level `rope_theta` + `rope_scaling`, `no_rope_layers: []`
//! and an integer `attn_temperature_tuning`.

mod gguf;
mod vision;
pub use gguf::{check_gguf_architecture, GGUF_ARCHITECTURES};
pub use vision::VisionConfig;

use crate::error::{Error, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Which checkpoint class the weights come from; decides the tensor-name prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    /// `Llama4ForCausalLM`: `model.*`, `lm_head.weight`.
    CausalLm,
    /// `Llama4ForConditionalGeneration`: the text model under `language_model.`.
    ConditionalGeneration,
    /// A GGUF file (`llama` or `llama4`): llama.cpp's tensor names.
    Gguf,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RopeScaling {
    None,
    /// `_compute_llama3_parameters`.
    Llama3 {
        factor: f64,
        low_freq_factor: f64,
        high_freq_factor: f64,
        original_max_position_embeddings: f64,
    },
}

/// Attention of one decoder layer (spec §2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttentionKind {
    /// RoPE, optional QK norm, attention limited to the token's own chunk.
    ChunkedRope,
    /// No positional encoding, global causal attention, optional temperature tuning.
    GlobalNope,
}

/// Feed-forward of one decoder layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FfnKind {
    /// SwiGLU of width `intermediate_size_mlp`.
    Dense,
    /// Router + routed experts + shared expert, width `intermediate_size`.
    Moe,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerPlan {
    pub attention: AttentionKind,
    pub ffn: FfnKind,
}

/// The text model's hyper-parameters (`Llama4TextConfig`), validated.
#[derive(Clone, Debug)]
pub struct TextConfig {
    pub architecture: Architecture,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub intermediate_size_mlp: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    pub head_dim: usize,
    pub rms_norm_eps: f32,
    pub tie_word_embeddings: bool,
    pub num_experts_per_tok: usize,
    pub num_local_experts: usize,
    pub use_qk_norm: bool,
    pub attention_chunk_size: usize,
    pub attn_temperature_tuning: bool,
    pub floor_scale: f64,
    pub attn_scale: f64,
    pub rope_theta: f64,
    pub rope_scaling: RopeScaling,
    pub max_position_embeddings: usize,
    pub bos_token_id: Option<u32>,
    pub eos_token_ids: Vec<u32>,
    pub layers: Vec<LayerPlan>,
    /// Per-frequency divisors of the RoPE inverse frequencies (GGUF's `rope_freqs.weight`, how
    /// llama.cpp stores llama3 scaling); empty when the model has none.
    pub rope_freq_factors: Vec<f32>,
    /// What the loader assumed where the file was silent (shown by `info`).
    pub notes: Vec<String>,
}

pub(crate) struct Fields<'a> {
    pub(crate) obj: &'a serde_json::Map<String, Value>,
    pub(crate) path: &'a Path,
}

impl<'a> Fields<'a> {
    pub(crate) fn err(&self, reason: String) -> Error {
        Error::config(self.path, reason)
    }
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }
    pub(crate) fn usize_or(&self, key: &str, default: usize) -> Result<usize> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_u64()
                .map(|x| x as usize)
                .ok_or_else(|| self.err(format!("`{key}` must be a non-negative integer, got {v}"))),
        }
    }
    pub(crate) fn f64_or(&self, key: &str, default: f64) -> Result<f64> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.as_f64().ok_or_else(|| self.err(format!("`{key}` must be a number, got {v}"))),
        }
    }
    /// A boolean that early hub configs wrote as an integer (spec §10.6): any non-zero int is true.
    pub(crate) fn bool_or(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) if v.is_i64() || v.is_u64() => Ok(v.as_i64().unwrap_or(1) != 0),
            Some(v) => Err(self.err(format!("`{key}` must be a boolean, got {v}"))),
        }
    }
    pub(crate) fn usize_list(&self, key: &str) -> Result<Option<Vec<usize>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_u64()
                        .map(|x| x as usize)
                        .ok_or_else(|| self.err(format!("`{key}` must hold integers, got {v}")))
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(v) => Err(self.err(format!("`{key}` must be a list, got {v}"))),
        }
    }
    pub(crate) fn id_list(&self, key: &str) -> Result<Vec<u32>> {
        Ok(match self.get(key) {
            None => vec![],
            Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_u64()).map(|x| x as u32).collect(),
            Some(v) => v
                .as_u64()
                .map(|x| vec![x as u32])
                .ok_or_else(|| self.err(format!("`{key}` must be a token id or a list")))?,
        })
    }
}

impl TextConfig {
    /// Reads `DIR/config.json`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        Self::from_files(&crate::loader::Folder::new(dir))
    }

    /// Reads `config.json` of any file source (a folder, files in memory).
    pub fn from_files(src: &dyn crate::loader::FileSource) -> Result<Self> {
        Self::from_json_str(&src.read_text("config.json")?, &src.path_of("config.json"))
    }

    /// Parses config.json text; `path` only names the file in errors.
    ///
    /// ```
    /// use llama4_wgpu::config::{AttentionKind, FfnKind};
    /// let json = r#"{"architectures": ["Llama4ForCausalLM"], "hidden_size": 64, "num_attention_heads": 4,
    ///     "num_hidden_layers": 4, "vocab_size": 128, "no_rope_layers": [], "interleave_moe_layer_step": 2}"#;
    /// let cfg = llama4_wgpu::TextConfig::from_json_str(json, "config.json".as_ref()).unwrap();
    /// assert_eq!(cfg.layers[3].attention, AttentionKind::GlobalNope); // every 4th layer
    /// assert_eq!(cfg.layers[1].ffn, FfnKind::Moe); // odd layers with step 2
    /// assert_eq!(cfg.head_dim, 128); // the default, not hidden / heads
    /// ```
    pub fn from_json_str(text: &str, path: &Path) -> Result<Self> {
        let root: Value =
            serde_json::from_str(text).map_err(|e| Error::config(path, format!("not valid JSON: {e}")))?;
        let root = root.as_object().ok_or_else(|| Error::config(path, "the top level must be an object"))?;
        let archs: Vec<&str> = root
            .get("architectures")
            .and_then(|a| a.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        let model_type = root.get("model_type").and_then(|v| v.as_str()).unwrap_or("");
        let architecture = if archs.contains(&"Llama4ForConditionalGeneration") || model_type == "llama4" {
            Architecture::ConditionalGeneration
        } else if archs.contains(&"Llama4ForCausalLM") || model_type == "llama4_text" {
            Architecture::CausalLm
        } else {
            return Err(Error::config(
                path,
                format!("unknown architecture {archs:?} (model_type `{model_type}`); expected Llama4ForCausalLM or Llama4ForConditionalGeneration"),
            ));
        };
        let text_obj = match architecture {
            Architecture::ConditionalGeneration => {
                root.get("text_config").and_then(|v| v.as_object()).ok_or_else(|| {
                    Error::config(path, "Llama4ForConditionalGeneration config has no `text_config` object")
                })?
            }
            Architecture::CausalLm | Architecture::Gguf => root,
        };
        let f = Fields { obj: text_obj, path };
        let top = Fields { obj: root, path };

        let hidden_size = f.usize_or("hidden_size", 5120)?;
        let num_attention_heads = f.usize_or("num_attention_heads", 40)?;
        let num_hidden_layers = f.usize_or("num_hidden_layers", 48)?;
        let num_key_value_heads = f.usize_or("num_key_value_heads", num_attention_heads)?;
        // head_dim defaults to a fixed 128; only an explicit null falls back to hidden/heads (spec §1.1).
        let head_dim = match text_obj.get("head_dim") {
            None => 128,
            Some(Value::Null) => hidden_size / num_attention_heads.max(1),
            Some(v) => v.as_u64().ok_or_else(|| f.err(format!("`head_dim` must be an integer, got {v}")))? as usize,
        };

        // RoPE: transformers 5 `rope_parameters`, else hub `rope_theta` + `rope_scaling`.
        let (rope_theta, scaling_obj) = if let Some(rp) = f.get("rope_parameters") {
            let rp = rp.as_object().ok_or_else(|| f.err("`rope_parameters` must be an object".into()))?;
            (rp.get("rope_theta").and_then(|v| v.as_f64()).unwrap_or(500000.0), Some(rp))
        } else {
            (f.f64_or("rope_theta", 500000.0)?, f.get("rope_scaling").and_then(|v| v.as_object()))
        };
        let rope_scaling = match scaling_obj {
            None => RopeScaling::None,
            Some(s) => {
                let kind = s.get("rope_type").or_else(|| s.get("type")).and_then(|v| v.as_str()).unwrap_or("default");
                let sf = Fields { obj: s, path };
                match kind {
                    "default" => RopeScaling::None,
                    "llama3" => RopeScaling::Llama3 {
                        factor: sf.f64_or("factor", 8.0)?,
                        low_freq_factor: sf.f64_or("low_freq_factor", 1.0)?,
                        high_freq_factor: sf.f64_or("high_freq_factor", 4.0)?,
                        original_max_position_embeddings: sf.f64_or("original_max_position_embeddings", 8192.0)?,
                    },
                    other => return Err(f.err(format!("unsupported rope_type `{other}` (supported: default, llama3)"))),
                }
            }
        };

        // Layer plan. no_rope_layers: 1 = RoPE; None or [] -> derived from the interval (spec §10.3).
        let interval = f.usize_or("no_rope_layer_interval", 4)?.max(1);
        let no_rope = match f.usize_list("no_rope_layers")? {
            Some(v) if !v.is_empty() => v,
            _ => (0..num_hidden_layers).map(|i| ((i + 1) % interval != 0) as usize).collect(),
        };
        if no_rope.len() != num_hidden_layers {
            return Err(f.err(format!("`no_rope_layers` has {} entries for {num_hidden_layers} layers", no_rope.len())));
        }
        let step = f.usize_or("interleave_moe_layer_step", 1)?.max(1);
        let moe_layers = match f.usize_list("moe_layers")? {
            Some(v) => v,
            None => (step - 1..num_hidden_layers).step_by(step).collect(),
        };
        if let Some(&bad) = moe_layers.iter().find(|&&l| l >= num_hidden_layers) {
            return Err(f.err(format!("`moe_layers` names layer {bad} of {num_hidden_layers}")));
        }
        let layers = (0..num_hidden_layers)
            .map(|i| LayerPlan {
                attention: if no_rope[i] != 0 { AttentionKind::ChunkedRope } else { AttentionKind::GlobalNope },
                ffn: if moe_layers.contains(&i) { FfnKind::Moe } else { FfnKind::Dense },
            })
            .collect();

        if let Some(act) = f.get("hidden_act").and_then(|v| v.as_str()) {
            if act != "silu" {
                return Err(f.err(format!("hidden_act `{act}` is not supported (Llama 4 uses silu)")));
            }
        }
        if f.bool_or("attention_bias", false)? {
            return Err(f.err("attention_bias = true is not supported (Llama 4 has no attention biases)".into()));
        }
        let eos = f.id_list("eos_token_id")?;
        let cfg = TextConfig {
            architecture,
            vocab_size: f.usize_or("vocab_size", 202048)?,
            hidden_size,
            intermediate_size: f.usize_or("intermediate_size", 8192)?,
            intermediate_size_mlp: f.usize_or("intermediate_size_mlp", 16384)?,
            num_hidden_layers,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            rms_norm_eps: f.f64_or("rms_norm_eps", 1e-5)? as f32,
            // The text config's own flag decides for the causal LM; the outer config for the VLM.
            tie_word_embeddings: match architecture {
                Architecture::CausalLm | Architecture::Gguf => f.bool_or("tie_word_embeddings", false)?,
                Architecture::ConditionalGeneration => {
                    top.bool_or("tie_word_embeddings", f.bool_or("tie_word_embeddings", false)?)?
                }
            },
            num_experts_per_tok: f.usize_or("num_experts_per_tok", 1)?,
            num_local_experts: f.usize_or("num_local_experts", 16)?,
            use_qk_norm: f.bool_or("use_qk_norm", true)?,
            // null: no chunking (every key of the context is in the token's one chunk)
            attention_chunk_size: match text_obj.get("attention_chunk_size") {
                Some(Value::Null) => u32::MAX as usize,
                _ => f.usize_or("attention_chunk_size", 8192)?,
            },
            attn_temperature_tuning: f.bool_or("attn_temperature_tuning", true)?,
            floor_scale: f.f64_or("floor_scale", 8192.0)?,
            attn_scale: f.f64_or("attn_scale", 0.1)?,
            rope_theta,
            rope_scaling,
            max_position_embeddings: f.usize_or("max_position_embeddings", 131072)?,
            bos_token_id: f.get("bos_token_id").and_then(|v| v.as_u64()).map(|x| x as u32),
            eos_token_ids: if eos.is_empty() { top.id_list("eos_token_id")? } else { eos },
            layers,
            rope_freq_factors: vec![],
            notes: vec![],
        };
        cfg.validate(path)?;
        Ok(cfg)
    }

    pub(crate) fn validate(&self, path: &Path) -> Result<()> {
        let e = |r: String| Err(Error::config(PathBuf::from(path), r));
        let pos = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.num_key_value_heads),
            ("head_dim", self.head_dim),
            ("attention_chunk_size", self.attention_chunk_size),
            ("intermediate_size", self.intermediate_size),
        ];
        if let Some((k, _)) = pos.iter().find(|(_, v)| *v == 0) {
            return e(format!("`{k}` must be positive"));
        }
        if !self.num_attention_heads.is_multiple_of(self.num_key_value_heads) {
            return e(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {}",
                self.num_attention_heads, self.num_key_value_heads
            ));
        }
        if !self.head_dim.is_multiple_of(2) {
            return e(format!("head_dim {} must be even (RoPE rotates pairs)", self.head_dim));
        }
        if self.has_moe() && (self.num_experts_per_tok == 0 || self.num_experts_per_tok > self.num_local_experts) {
            return e(format!(
                "num_experts_per_tok {} must be in 1..={}",
                self.num_experts_per_tok, self.num_local_experts
            ));
        }
        if self.layers.iter().any(|l| l.ffn == FfnKind::Dense) && self.intermediate_size_mlp == 0 {
            return e("`intermediate_size_mlp` must be positive".into());
        }
        Ok(())
    }

    pub fn has_moe(&self) -> bool {
        self.layers.iter().any(|l| l.ffn == FfnKind::Moe)
    }

    /// Width of the fused q|k|v projection output: `(nh + 2 nkv) * d`.
    pub fn qkv_width(&self) -> usize {
        (self.num_attention_heads + 2 * self.num_key_value_heads) * self.head_dim
    }

    /// RoPE inverse frequencies in float32, with llama3 scaling (spec §2.3). The smoothing
    /// band is only evaluated when it is non-empty (`low_freq_factor != high_freq_factor`).
    pub fn rope_inv_freq(&self) -> Vec<f32> {
        let d = self.head_dim;
        (0..d / 2)
            .map(|j| {
                // torch: 1.0 / (base ** (arange(0, d, 2).float() / d)), evaluated in float32.
                let exponent = (2 * j) as f32 / d as f32;
                let inv = 1.0f32 / (self.rope_theta as f32).powf(exponent);
                let inv = match self.rope_freq_factors.get(j) {
                    Some(&f) => inv / f,
                    None => inv,
                };
                match self.rope_scaling {
                    RopeScaling::None => inv,
                    RopeScaling::Llama3 {
                        factor,
                        low_freq_factor,
                        high_freq_factor,
                        original_max_position_embeddings: orig,
                    } => {
                        let wavelen = 2.0 * std::f64::consts::PI / inv as f64;
                        let low_wl = orig / low_freq_factor;
                        let high_wl = orig / high_freq_factor;
                        if wavelen < high_wl {
                            inv
                        } else if wavelen > low_wl {
                            (inv as f64 / factor) as f32
                        } else if high_freq_factor == low_freq_factor {
                            inv // empty band: unreachable in exact arithmetic, never divide by zero
                        } else {
                            let s = (orig / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
                            ((1.0 - s) * inv as f64 / factor + s * inv as f64) as f32
                        }
                    }
                }
            })
            .collect()
    }

    /// Attention temperature of a NoPE layer at absolute position `pos` (spec §2.4), as torch
    /// computes it in float32.
    pub fn attn_temperature(&self, pos: usize) -> f32 {
        if !self.attn_temperature_tuning {
            return 1.0;
        }
        let fl = ((pos as f32 + 1.0) / self.floor_scale as f32).floor();
        fl.ln_1p() * self.attn_scale as f32 + 1.0
    }

    /// Parameter count of the text model.
    pub fn param_count(&self) -> u64 {
        let (h, d) = (self.hidden_size as u64, self.head_dim as u64);
        let attn =
            h * (self.num_attention_heads as u64 * d) * 2 + h * (self.num_key_value_heads as u64 * d) * 2 + 2 * h;
        let mut total = self.vocab_size as u64 * h * if self.tie_word_embeddings { 1 } else { 2 } + h;
        for l in &self.layers {
            total += attn;
            total += match l.ffn {
                FfnKind::Dense => 3 * h * self.intermediate_size_mlp as u64,
                FfnKind::Moe => {
                    (self.num_local_experts as u64 + 1) * 3 * h * self.intermediate_size as u64
                        + self.num_local_experts as u64 * h
                }
            };
        }
        total
    }
}
