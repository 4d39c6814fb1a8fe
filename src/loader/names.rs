//! Tensor names of the text model. The model code asks for weights by their Hugging Face Llama 4
//! names relative to a layer (`self_attn.q_proj.weight`, a prefix builder in the spirit of candle's
//! `vb.pp("mlp")`); each checkpoint format translates them to its own.

use crate::config::Architecture;

#[derive(Clone, Debug)]
pub enum WeightNames {
    /// Hugging Face: `model.` or `language_model.model.` before every name.
    Hf { model: String, lm_head: String },
    /// llama.cpp's GGUF names (`token_embd.weight`, `blk.{i}.attn_q.weight`, ...).
    Gguf,
}

/// HF suffix inside a layer -> GGUF suffix (gguf-py's tensor name map for llama / llama4).
const GGUF_LAYER: [(&str, &str); 16] = [
    ("input_layernorm.weight", "attn_norm.weight"),
    ("post_attention_layernorm.weight", "ffn_norm.weight"),
    ("self_attn.q_proj.weight", "attn_q.weight"),
    ("self_attn.k_proj.weight", "attn_k.weight"),
    ("self_attn.v_proj.weight", "attn_v.weight"),
    ("self_attn.o_proj.weight", "attn_output.weight"),
    ("feed_forward.gate_proj.weight", "ffn_gate.weight"),
    ("feed_forward.up_proj.weight", "ffn_up.weight"),
    ("feed_forward.down_proj.weight", "ffn_down.weight"),
    ("feed_forward.router.weight", "ffn_gate_inp.weight"),
    ("feed_forward.shared_expert.gate_proj.weight", "ffn_gate_shexp.weight"),
    ("feed_forward.shared_expert.up_proj.weight", "ffn_up_shexp.weight"),
    ("feed_forward.shared_expert.down_proj.weight", "ffn_down_shexp.weight"),
    // expert-stacked [E, rows, cols]; HF checkpoints have no such tensor
    ("feed_forward.experts.gate_proj.weight", "ffn_gate_exps.weight"),
    ("feed_forward.experts.up_proj.weight", "ffn_up_exps.weight"),
    ("feed_forward.experts.down_proj.weight", "ffn_down_exps.weight"),
];

impl WeightNames {
    pub fn new(arch: Architecture) -> Self {
        match arch {
            Architecture::CausalLm => WeightNames::Hf { model: "model.".into(), lm_head: "lm_head.weight".into() },
            Architecture::ConditionalGeneration => WeightNames::Hf {
                model: "language_model.model.".into(),
                lm_head: "language_model.lm_head.weight".into(),
            },
            Architecture::Gguf => WeightNames::Gguf,
        }
    }
    pub fn embed(&self) -> String {
        match self {
            WeightNames::Hf { model, .. } => format!("{model}embed_tokens.weight"),
            WeightNames::Gguf => "token_embd.weight".into(),
        }
    }
    pub fn norm(&self) -> String {
        match self {
            WeightNames::Hf { model, .. } => format!("{model}norm.weight"),
            WeightNames::Gguf => "output_norm.weight".into(),
        }
    }
    pub fn lm_head(&self) -> String {
        match self {
            WeightNames::Hf { lm_head, .. } => lm_head.clone(),
            WeightNames::Gguf => "output.weight".into(),
        }
    }
    /// Layer `i`'s tensor with HF suffix `rest` (`self_attn.q_proj.weight`).
    pub fn layer(&self, i: usize, rest: &str) -> String {
        match self {
            WeightNames::Hf { model, .. } => format!("{model}layers.{i}.{rest}"),
            WeightNames::Gguf => match GGUF_LAYER.iter().find(|(hf, _)| *hf == rest) {
                Some((_, g)) => format!("blk.{i}.{g}"),
                None => format!("blk.{i}.{rest}"), // no GGUF twin: reported missing under this name
            },
        }
    }
}
