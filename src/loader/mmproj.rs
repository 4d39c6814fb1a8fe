//! llama.cpp's multimodal projector GGUF (`--mmproj`: `general.architecture = clip`, projector
//! type `llama4`, what `convert_hf_to_gguf.py --mmproj` writes): its metadata as a
//! [`VisionConfig`], and its tensors under the Hugging Face names the vision tower loads.

use super::{Gguf, TensorSource, TensorView};
use crate::config::VisionConfig;
use crate::error::{Error, Result};
use crate::loader::gguf::Value;
use std::path::Path;

pub struct Mmproj {
    gguf: Gguf,
    pub cfg: VisionConfig,
}

/// The GGUF name of a vision-tower tensor's Hugging Face name (spec §3.2).
fn gguf_name(hf: &str) -> Option<String> {
    let fixed = [
        ("vision_model.patch_embedding.linear.weight", "v.patch_embd.weight"),
        ("vision_model.class_embedding", "v.class_embd"),
        ("vision_model.positional_embedding_vlm", "v.position_embd.weight"),
        ("vision_model.vision_adapter.mlp.fc1.weight", "mm.model.mlp.1.weight"),
        ("vision_model.vision_adapter.mlp.fc2.weight", "mm.model.mlp.2.weight"),
        ("multi_modal_projector.linear_1.weight", "mm.model.fc.weight"),
    ];
    if let Some((_, g)) = fixed.iter().find(|(h, _)| *h == hf) {
        return Some(g.to_string());
    }
    for (h, g) in [("vision_model.layernorm_pre.", "v.pre_ln."), ("vision_model.layernorm_post.", "v.post_ln.")] {
        if let Some(rest) = hf.strip_prefix(h) {
            return Some(format!("{g}{rest}"));
        }
    }
    let rest = hf.strip_prefix("vision_model.model.layers.")?;
    let (layer, part) = rest.split_once('.')?;
    let (module, kind) = part.rsplit_once('.')?;
    let g = match module {
        "input_layernorm" => "ln1",
        "post_attention_layernorm" => "attn_post_norm",
        "self_attn.q_proj" => "attn_q",
        "self_attn.k_proj" => "attn_k",
        "self_attn.v_proj" => "attn_v",
        "self_attn.o_proj" => "attn_out",
        "mlp.fc1" => "ffn_up",
        "mlp.fc2" => "ffn_down",
        _ => return None,
    };
    Some(format!("v.blk.{layer}.{g}.{kind}"))
}

impl Mmproj {
    /// Opens an mmproj file; `image_token_index` is the text model's `<|patch|>` id.
    pub fn open(path: &Path, image_token_index: u32) -> Result<Self> {
        Self::from_gguf(Gguf::open(path)?, image_token_index)
    }

    pub fn from_gguf(gguf: Gguf, image_token_index: u32) -> Result<Self> {
        let path = gguf.path.clone();
        let bad = |r: String| Error::config(&path, r);
        let arch = gguf.architecture()?;
        let projector = gguf.get_meta("clip.projector_type").and_then(Value::as_str);
        if arch != "clip" || projector != Some("llama4") {
            return Err(bad(format!(
                "not a Llama 4 multimodal projector: general.architecture `{arch}`, clip.projector_type {projector:?} (expected clip / llama4)"
            )));
        }
        let num = |key: &str| -> Result<usize> {
            gguf.get_meta(key)
                .and_then(Value::as_u64)
                .map(|v| v as usize)
                .ok_or_else(|| bad(format!("GGUF metadata has no integer `{key}`")))
        };
        let rows = |name: &str| -> Result<usize> { Ok(gguf.get_any(name)?.shape[0]) };
        let cols = |name: &str| -> Result<usize> { Ok(*gguf.get_any(name)?.shape.last().unwrap_or(&0)) };
        let scale = num("clip.vision.projector.scale_factor")?;
        let cfg = VisionConfig {
            hidden_size: num("clip.vision.embedding_length")?,
            num_hidden_layers: num("clip.vision.block_count")?,
            num_attention_heads: num("clip.vision.attention.head_count")?,
            intermediate_size: num("clip.vision.feed_forward_length")?,
            image_size: num("clip.vision.image_size")?,
            patch_size: num("clip.vision.patch_size")?,
            pixel_shuffle_ratio: 1.0 / scale.max(1) as f64,
            projector_input_dim: rows("mm.model.mlp.1.weight")?,
            projector_output_dim: rows("mm.model.mlp.2.weight")?,
            vision_output_dim: cols("mm.model.fc.weight")?,
            // llama.cpp's clip graph fixes it; so do Meta's reference and the hub configs.
            rope_theta: 10000.0,
            image_token_index,
        };
        cfg.validate(&path)?;
        Ok(Mmproj { gguf, cfg })
    }

    /// The file itself, under its own (GGUF) tensor names.
    pub fn gguf(&self) -> &Gguf {
        &self.gguf
    }

    /// The image mean and std the file asks for (the processor's normalisation).
    pub fn mean_std(&self) -> Option<([f32; 3], [f32; 3])> {
        let three = |key: &str| -> Option<[f32; 3]> {
            let a = self.gguf.get_meta(key)?.as_array()?;
            let v: Vec<f32> = a.iter().filter_map(|x| x.as_f64()).map(|x| x as f32).collect();
            v.try_into().ok()
        };
        Some((three("clip.vision.image_mean")?, three("clip.vision.image_std")?))
    }
}

impl TensorSource for Mmproj {
    fn origin(&self) -> &Path {
        &self.gguf.path
    }
    fn get_any(&self, name: &str) -> Result<TensorView<'_>> {
        let g =
            gguf_name(name).ok_or_else(|| Error::load(&self.gguf.path, name, "no GGUF name for this vision tensor"))?;
        self.gguf.get_any(&g)
    }
    fn contains(&self, name: &str) -> bool {
        gguf_name(name).is_some_and(|g| self.gguf.contains(&g))
    }
    fn names(&self) -> Vec<&str> {
        self.gguf.names()
    }
}

#[cfg(test)]
mod tests {
    use super::gguf_name;

    #[test]
    fn names_map_as_llama_cpp_converts_them() {
        let n = |h: &str| gguf_name(h).unwrap();
        assert_eq!(n("vision_model.model.layers.12.self_attn.o_proj.bias"), "v.blk.12.attn_out.bias");
        assert_eq!(n("vision_model.model.layers.0.post_attention_layernorm.weight"), "v.blk.0.attn_post_norm.weight");
        assert_eq!(n("vision_model.model.layers.3.mlp.fc2.weight"), "v.blk.3.ffn_down.weight");
        assert_eq!(n("vision_model.layernorm_post.bias"), "v.post_ln.bias");
        assert_eq!(n("multi_modal_projector.linear_1.weight"), "mm.model.fc.weight");
        assert_eq!(gguf_name("vision_model.model.layers.3.mlp.fc3.weight"), None);
    }
}
