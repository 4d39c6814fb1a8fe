//! `vision_config` of a `Llama4ForConditionalGeneration` config (spec §1.2, §1.3) -> [`VisionConfig`].

use super::Fields;
use crate::error::{Error, Result};
use serde_json::Value;
use std::path::Path;

/// The vision tower's hyper-parameters and the image token ids, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct VisionConfig {
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    /// The encoder MLP width and the adapter's input width (`hidden / ratio²`), spec §9.6.
    pub intermediate_size: usize,
    /// Tile side in pixels.
    pub image_size: usize,
    pub patch_size: usize,
    pub pixel_shuffle_ratio: f64,
    pub projector_input_dim: usize,
    pub projector_output_dim: usize,
    pub vision_output_dim: usize,
    pub rope_theta: f64,
    /// `<|patch|>`: the token whose embedding rows receive the image features.
    pub image_token_index: u32,
}

impl VisionConfig {
    /// The vision tower of `DIR/config.json`, `None` for a text-only checkpoint.
    pub fn from_dir(dir: &Path) -> Result<Option<Self>> {
        Self::from_files(&crate::loader::Folder::new(dir))
    }

    /// The vision tower of a file source's `config.json`.
    pub fn from_files(src: &dyn crate::loader::FileSource) -> Result<Option<Self>> {
        Self::from_json_str(&src.read_text("config.json")?, &src.path_of("config.json"))
    }

    pub fn from_json_str(text: &str, path: &Path) -> Result<Option<Self>> {
        let root: Value =
            serde_json::from_str(text).map_err(|e| Error::config(path, format!("not valid JSON: {e}")))?;
        let root = root.as_object().ok_or_else(|| Error::config(path, "the top level must be an object"))?;
        Self::from_root(root, path)
    }

    /// The `vision_config` of a config.json root object, or `None` when it has none.
    pub fn from_root(root: &serde_json::Map<String, Value>, path: &Path) -> Result<Option<Self>> {
        let Some(v) = root.get("vision_config").filter(|v| !v.is_null()) else { return Ok(None) };
        let obj = v.as_object().ok_or_else(|| Error::config(path, "`vision_config` must be an object"))?;
        let f = Fields { obj, path };
        let top = Fields { obj: root, path };
        let rope_theta = match f.get("rope_parameters").and_then(|r| r.as_object()) {
            Some(r) => r.get("rope_theta").and_then(Value::as_f64).unwrap_or(10000.0),
            None => f.f64_or("rope_theta", 10000.0)?,
        };
        let c = VisionConfig {
            hidden_size: f.usize_or("hidden_size", 768)?,
            num_hidden_layers: f.usize_or("num_hidden_layers", 34)?,
            num_attention_heads: f.usize_or("num_attention_heads", 16)?,
            intermediate_size: f.usize_or("intermediate_size", 5632)?,
            image_size: f.usize_or("image_size", 448)?,
            patch_size: f.usize_or("patch_size", 14)?,
            pixel_shuffle_ratio: f.f64_or("pixel_shuffle_ratio", 0.5)?,
            projector_input_dim: f.usize_or("projector_input_dim", 4096)?,
            projector_output_dim: f.usize_or("projector_output_dim", 4096)?,
            vision_output_dim: f.usize_or("vision_output_dim", 7680)?,
            rope_theta,
            image_token_index: top.usize_or("image_token_index", 200092)? as u32,
        };
        if f.usize_or("num_channels", 3)? != 3 {
            return Err(f.err("vision_config.num_channels must be 3 (RGB)".into()));
        }
        c.validate(path)?;
        Ok(Some(c))
    }

    pub(crate) fn validate(&self, path: &Path) -> Result<()> {
        let e = |r: String| Err(Error::config(path, format!("vision_config: {r}")));
        for (k, v) in [
            ("hidden_size", self.hidden_size),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("image_size", self.image_size),
            ("patch_size", self.patch_size),
            ("projector_input_dim", self.projector_input_dim),
            ("projector_output_dim", self.projector_output_dim),
            ("vision_output_dim", self.vision_output_dim),
        ] {
            if v == 0 {
                return e(format!("`{k}` must be positive"));
            }
        }
        if !self.image_size.is_multiple_of(self.patch_size) {
            return e(format!("image_size {} is not a multiple of patch_size {}", self.image_size, self.patch_size));
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) || !self.head_dim().is_multiple_of(4) {
            return e(format!(
                "head_dim = hidden_size {} / heads {} must be a whole multiple of 4 (2D RoPE splits it into x and y pairs)",
                self.hidden_size, self.num_attention_heads
            ));
        }
        let r = self.pixel_shuffle_ratio;
        let g = self.grid() as f64 * r;
        let c = self.hidden_size as f64 / (r * r);
        if r.is_nan() || r <= 0.0 || (1.0 / r).fract() != 0.0 || g.fract() != 0.0 || c.fract() != 0.0 || g == 0.0 {
            return e(format!(
                "pixel_shuffle_ratio {r} must be 1/n and divide the {0}x{0} patch grid and hidden_size {1} evenly",
                self.grid(),
                self.hidden_size
            ));
        }
        if c as usize != self.intermediate_size {
            return e(format!(
                "intermediate_size {} must equal hidden_size / pixel_shuffle_ratio² = {} (transformers uses it for both the MLP and the adapter input)",
                self.intermediate_size, c
            ));
        }
        if self.projector_input_dim != self.projector_output_dim {
            return e(format!(
                "projector_input_dim {} must equal projector_output_dim {} (the adapter's fc1 output is its fc2 input)",
                self.projector_input_dim, self.projector_output_dim
            ));
        }
        if self.vision_output_dim != self.projector_output_dim {
            return e(format!(
                "vision_output_dim {} must equal projector_output_dim {} (the projector reads the adapter's output)",
                self.vision_output_dim, self.projector_output_dim
            ));
        }
        Ok(())
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
    /// Patches per tile side.
    pub fn grid(&self) -> usize {
        self.image_size / self.patch_size
    }
    /// Patches per tile (without the class token).
    pub fn patches(&self) -> usize {
        self.grid() * self.grid()
    }
    /// Side of the patch grid after the pixel shuffle.
    pub fn shuffled_grid(&self) -> usize {
        (self.grid() as f64 * self.pixel_shuffle_ratio).round() as usize
    }
    /// `<|patch|>` tokens per tile: the rows the pixel shuffle leaves.
    pub fn tokens_per_tile(&self) -> usize {
        self.shuffled_grid() * self.shuffled_grid()
    }
    /// Width of a row after the pixel shuffle (`hidden / ratio²`).
    pub fn shuffled_width(&self) -> usize {
        self.intermediate_size
    }
    /// The vision tower's parameter count (encoder, adapter and projector; `text_hidden` wide out).
    pub fn param_count(&self, text_hidden: usize) -> u64 {
        let (h, i, p) = (self.hidden_size as u64, self.intermediate_size as u64, self.patch_size as u64);
        let layer = 4 * (h * h + h) + (i * h + i) + (h * i + h) + 4 * h;
        let embed = 3 * p * p * h + h + (self.patches() as u64 + 1) * h + 4 * h;
        let adapter = self.projector_input_dim as u64 * i + (self.projector_output_dim as u64).pow(2);
        embed + self.num_hidden_layers as u64 * layer + adapter + text_hidden as u64 * self.vision_output_dim as u64
    }
}
