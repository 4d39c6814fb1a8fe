//! Random bf16 weights at a model's shapes, with no checkpoint: what `bench --synthetic` loads.
//! Every matrix is a view into one buffer of small random bf16 values (sized for the largest
//! tensor), every norm a view of ones, so even Scout's shapes cost one large allocation and no disk.

use super::tensor::{TensorSource, TensorView};
use crate::config::{FfnKind, TextConfig};
use crate::error::{Error, Result};
use crate::quant::WeightFormat;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The presets `bench --synthetic` knows: real Llama 4 shapes and a small one for slow adapters.
pub const PRESETS: [&str; 3] = ["scout", "maverick", "tiny"];

/// The `config.json` of a preset with `layers` layers (`None`: the model's own depth).
pub fn preset(name: &str, layers: Option<usize>) -> Result<TextConfig> {
    let mut c = serde_json::json!({
        "architectures": ["Llama4ForCausalLM"], "model_type": "llama4_text", "vocab_size": 202048, "hidden_size": 5120,
        "intermediate_size": 8192, "intermediate_size_mlp": 16384, "num_attention_heads": 40, "num_key_value_heads": 8,
        "head_dim": 128, "num_local_experts": 16, "num_experts_per_tok": 1, "interleave_moe_layer_step": 1,
        "use_qk_norm": true, "attention_chunk_size": 8192, "max_position_embeddings": 262144, "rope_theta": 500000.0,
        "rope_scaling": {"rope_type": "llama3", "factor": 16.0, "low_freq_factor": 1.0, "high_freq_factor": 1.0,
                         "original_max_position_embeddings": 8192},
        "no_rope_layers": [], "tie_word_embeddings": false, "num_hidden_layers": 48
    });
    match name {
        "scout" => {}
        "maverick" => {
            c["num_local_experts"] = 128.into();
            c["interleave_moe_layer_step"] = 2.into();
            c["use_qk_norm"] = false.into();
            c["rope_scaling"] = serde_json::Value::Null;
        }
        "tiny" => {
            for (k, v) in [
                ("hidden_size", 256),
                ("intermediate_size", 512),
                ("intermediate_size_mlp", 1024),
                ("num_attention_heads", 8),
                ("num_key_value_heads", 2),
                ("head_dim", 32),
                ("vocab_size", 32000),
                ("num_hidden_layers", 4),
            ] {
                c[k] = v.into();
            }
        }
        other => {
            return Err(Error::Input(format!("unknown synthetic model `{other}` (one of: {})", PRESETS.join(", "))));
        }
    }
    if let Some(n) = layers {
        if n == 0 {
            return Err(Error::Input("--layers must be at least 1".into()));
        }
        c["num_hidden_layers"] = n.into();
    }
    TextConfig::from_json_str(&c.to_string(), &synthetic_path(name))
}

fn synthetic_path(name: &str) -> PathBuf {
    PathBuf::from(format!("synthetic:{name}"))
}

/// Tensor names (Hugging Face `Llama4ForCausalLM`) and shapes of `cfg`'s text model.
fn tensor_shapes(cfg: &TextConfig) -> BTreeMap<String, Vec<usize>> {
    let (h, d, nh, nkv, v) =
        (cfg.hidden_size, cfg.head_dim, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.vocab_size);
    let mut t = BTreeMap::new();
    t.insert("model.embed_tokens.weight".to_string(), vec![v, h]);
    t.insert("model.norm.weight".into(), vec![h]);
    if !cfg.tie_word_embeddings {
        t.insert("lm_head.weight".into(), vec![v, h]);
    }
    for (i, l) in cfg.layers.iter().enumerate() {
        let mut put = |r: &str, shape: Vec<usize>| t.insert(format!("model.layers.{i}.{r}"), shape);
        put("input_layernorm.weight", vec![h]);
        put("post_attention_layernorm.weight", vec![h]);
        put("self_attn.q_proj.weight", vec![nh * d, h]);
        put("self_attn.k_proj.weight", vec![nkv * d, h]);
        put("self_attn.v_proj.weight", vec![nkv * d, h]);
        put("self_attn.o_proj.weight", vec![h, nh * d]);
        let (w, ff) = match l.ffn {
            FfnKind::Dense => (cfg.intermediate_size_mlp, "feed_forward."),
            FfnKind::Moe => {
                let (e, w) = (cfg.num_local_experts, cfg.intermediate_size);
                put("feed_forward.router.weight", vec![e, h]);
                put("feed_forward.experts.gate_up_proj", vec![e, h, 2 * w]);
                put("feed_forward.experts.down_proj", vec![e, w, h]);
                (w, "feed_forward.shared_expert.")
            }
        };
        put(&format!("{ff}gate_proj.weight"), vec![w, h]);
        put(&format!("{ff}up_proj.weight"), vec![w, h]);
        put(&format!("{ff}down_proj.weight"), vec![h, w]);
    }
    t
}

/// Random bf16 weights for every tensor of a text model.
pub struct Synthetic {
    path: PathBuf,
    shapes: BTreeMap<String, Vec<usize>>,
    /// Random bf16 values in [-0.02, 0.02), as long as the largest matrix.
    random: Vec<u8>,
    /// bf16 ones, as long as the largest norm.
    ones: Vec<u8>,
}

impl Synthetic {
    /// Weights for `cfg`, named `name` in errors.
    pub fn new(cfg: &TextConfig, name: &str) -> Self {
        let shapes = tensor_shapes(cfg);
        let numel = |s: &Vec<usize>| s.iter().product::<usize>();
        let largest = shapes.values().map(numel).max().unwrap_or(0);
        // 1 Mi random values, repeated: generating Scout's 1.3 G values one by one would take longer
        // than the upload
        let block: Vec<u8> = crate::conformance::data::rand_vec(1 << 20, 0x5eed)
            .into_iter()
            .flat_map(|x| half::bf16::from_f32(0.02 * x).to_le_bytes())
            .collect();
        let mut random = Vec::with_capacity(largest * 2);
        while random.len() < largest * 2 {
            let n = block.len().min(largest * 2 - random.len());
            random.extend_from_slice(&block[..n]);
        }
        let ones = half::bf16::from_f32(1.0).to_le_bytes().repeat(cfg.hidden_size.max(cfg.head_dim));
        Synthetic { path: synthetic_path(name), shapes, random, ones }
    }
}

impl TensorSource for Synthetic {
    fn origin(&self) -> &Path {
        &self.path
    }

    fn get_any(&self, name: &str) -> Result<TensorView<'_>> {
        let (key, shape) = self
            .shapes
            .get_key_value(name)
            .ok_or_else(|| Error::load(&self.path, name, "not a tensor of this synthetic model"))?;
        let bytes = 2 * shape.iter().product::<usize>();
        let src = if name.ends_with("norm.weight") { &self.ones } else { &self.random };
        Ok(TensorView { name: key, path: &self.path, dtype: WeightFormat::Bf16, shape, bytes: &src[..bytes] })
    }

    fn contains(&self, name: &str) -> bool {
        self.shapes.contains_key(name)
    }

    fn names(&self) -> Vec<&str> {
        self.shapes.keys().map(|s| s.as_str()).collect()
    }
}
