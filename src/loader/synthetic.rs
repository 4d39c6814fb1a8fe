//! Random weights at a model's shapes, with no checkpoint: what `bench --synthetic` loads. Every
//! matrix is a view into one buffer of small random values stored in the chosen format (bf16, f16,
//! f32, or ggml blocks quantized once), sized for the largest tensor; every norm and the router
//! are bf16 views. Routed experts are expert-stacked `[E, rows, cols]` (GGUF's layout), so loading
//! is a copy: even Scout's shapes cost one large allocation, no transposition and no disk.

use super::tensor::{TensorSource, TensorView};
use crate::config::{FfnKind, TextConfig};
use crate::error::{Error, Result};
use crate::quant::quantize::{quantize_row, TARGETS};
use crate::quant::WeightFormat;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The presets `bench --synthetic` knows: real Llama 4 shapes and a small one for slow adapters.
pub const PRESETS: [&str; 3] = ["scout", "maverick", "tiny"];

/// The `config.json` of a preset with `layers` layers and `experts` routed experts per MoE layer
/// (`None`: the model's own).
pub fn preset(name: &str, layers: Option<usize>, experts: Option<usize>) -> Result<TextConfig> {
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
    if let Some(e) = experts {
        if e == 0 {
            return Err(Error::Input("--experts must be at least 1".into()));
        }
        c["num_local_experts"] = e.into();
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
                put("feed_forward.experts.gate_proj.weight", vec![e, w, h]);
                put("feed_forward.experts.up_proj.weight", vec![e, w, h]);
                put("feed_forward.experts.down_proj.weight", vec![e, h, w]);
                (w, "feed_forward.shared_expert.")
            }
        };
        put(&format!("{ff}gate_proj.weight"), vec![w, h]);
        put(&format!("{ff}up_proj.weight"), vec![w, h]);
        put(&format!("{ff}down_proj.weight"), vec![h, w]);
    }
    t
}

/// The formats synthetic matrices can be stored in: the float formats, and the ones
/// quantize-on-load writes.
pub fn storable(f: WeightFormat) -> bool {
    matches!(f, WeightFormat::F32 | WeightFormat::F16 | WeightFormat::Bf16) || TARGETS.contains(&f)
}

/// Random weights for every tensor of a text model.
pub struct Synthetic {
    path: PathBuf,
    shapes: BTreeMap<String, Vec<usize>>,
    format: WeightFormat,
    /// Random values in [-0.02, 0.02) stored in `format`, as many as the largest matrix holds.
    random: Vec<u8>,
    /// bf16 random values for the router.
    router: Vec<u8>,
    /// bf16 ones, as long as the largest norm.
    ones: Vec<u8>,
}

/// The values of `block` (whole blocks of `format`) stored in `format`.
fn store(format: WeightFormat, block: &[f32]) -> Vec<u8> {
    match format {
        WeightFormat::F32 => block.iter().flat_map(|x| x.to_le_bytes()).collect(),
        WeightFormat::F16 => block.iter().flat_map(|&x| half::f16::from_f32(x).to_le_bytes()).collect(),
        WeightFormat::Bf16 => block.iter().flat_map(|&x| half::bf16::from_f32(x).to_le_bytes()).collect(),
        f => {
            let mut out = Vec::with_capacity(f.bytes_for(block.len()).unwrap_or(0));
            quantize_row(f, block, &mut out);
            out
        }
    }
}

/// `block` repeated up to `len` bytes.
fn repeat_to(block: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        out.extend_from_slice(&block[..block.len().min(len - out.len())]);
    }
    out
}

impl Synthetic {
    /// Weights for `cfg` with matrices stored in `format` (one of [`storable`]), named `name` in
    /// errors. Every matrix width must be whole blocks of `format`.
    pub fn new(cfg: &TextConfig, name: &str, format: WeightFormat) -> Result<Self> {
        let path = synthetic_path(name);
        if !storable(format) {
            return Err(Error::Input(format!("synthetic weights cannot be stored as {}", format.name())));
        }
        let shapes = tensor_shapes(cfg);
        let is_matrix = |n: &str| !n.ends_with("norm.weight") && !n.ends_with("router.weight");
        let mut largest = 0;
        for (n, s) in shapes.iter().filter(|(n, _)| is_matrix(n)) {
            let cols = s.last().copied().unwrap_or(1);
            if !cols.is_multiple_of(format.block_elems()) {
                return Err(Error::load(
                    &path,
                    n,
                    format!("{cols} columns are not whole {}-element {} blocks", format.block_elems(), format.name()),
                ));
            }
            largest = largest.max(s.iter().product::<usize>());
        }
        // 1 Mi random values (whole blocks of every format), stored once and repeated: storing
        // Scout's 1.3 G values one by one would take longer than the upload
        let block: Vec<f32> =
            crate::conformance::data::rand_vec(1 << 20, 0x5eed).into_iter().map(|x| 0.02 * x).collect();
        let random = repeat_to(&store(format, &block), format.bytes_for(largest).unwrap_or(0));
        let router_len = 2 * cfg.num_local_experts * cfg.hidden_size;
        let router = repeat_to(&store(WeightFormat::Bf16, &block), router_len);
        let ones = half::bf16::from_f32(1.0).to_le_bytes().repeat(cfg.hidden_size.max(cfg.head_dim));
        Ok(Synthetic { path, shapes, format, random, router, ones })
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
        let (dtype, src) = if name.ends_with("norm.weight") {
            (WeightFormat::Bf16, &self.ones)
        } else if name.ends_with("router.weight") {
            (WeightFormat::Bf16, &self.router)
        } else {
            (self.format, &self.random)
        };
        let bytes = dtype.bytes_for(shape.iter().product()).unwrap_or(0);
        Ok(TensorView { name: key, path: &self.path, dtype, shape, bytes: &src[..bytes] })
    }

    fn contains(&self, name: &str) -> bool {
        self.shapes.contains_key(name)
    }

    fn names(&self) -> Vec<&str> {
        self.shapes.keys().map(|s| s.as_str()).collect()
    }
}
