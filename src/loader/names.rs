//! Tensor names of the text model, with the prefix of the checkpoint class (a prefix builder in
//! the spirit of candle's `vb.pp("mlp")`).

use crate::config::Architecture;

#[derive(Clone, Debug)]
pub struct WeightNames {
    /// `model.` or `language_model.model.`
    pub model: String,
    /// `lm_head.weight` or `language_model.lm_head.weight`
    pub lm_head: String,
}

impl WeightNames {
    pub fn new(arch: Architecture) -> Self {
        match arch {
            Architecture::CausalLm => WeightNames { model: "model.".into(), lm_head: "lm_head.weight".into() },
            Architecture::ConditionalGeneration => {
                WeightNames { model: "language_model.model.".into(), lm_head: "language_model.lm_head.weight".into() }
            }
        }
    }
    pub fn embed(&self) -> String {
        format!("{}embed_tokens.weight", self.model)
    }
    pub fn norm(&self) -> String {
        format!("{}norm.weight", self.model)
    }
    /// `…layers.{i}.{rest}`
    pub fn layer(&self, i: usize, rest: &str) -> String {
        format!("{}layers.{i}.{rest}", self.model)
    }
}
