//! Images in (spec §4, §5): a file -> [`image::Rgb8`] -> Llama 4's processor
//! ([`processor::preprocess`]: best-fit canvas, bf16 tiles) -> the vision tower -> feature rows
//! that replace the `<|patch|>` embeddings; [`prompt`] lays those tokens out.

pub mod image;
pub mod jpeg;
pub mod processor;
pub mod prompt;
pub mod resize;

pub use image::Rgb8;
pub use processor::{preprocess, PixelValues, ProcessorConfig};
pub use prompt::ImageTokens;

/// The images of one prompt, through the processor: every image's tiles, in prompt order.
pub struct PromptImages {
    /// `[tiles, 3, S, S]`, all images.
    pub pixels: Vec<f32>,
    /// Each image's tile grid (rows, columns).
    pub grids: Vec<(usize, usize)>,
    pub tile: usize,
}

impl PromptImages {
    pub fn new(images: &[Rgb8], cfg: &ProcessorConfig) -> Self {
        let mut out = PromptImages { pixels: vec![], grids: vec![], tile: cfg.tile };
        for img in images {
            let pv = preprocess(img, cfg);
            out.grids.push(pv.grid());
            out.pixels.extend(pv.data);
        }
        out
    }

    pub fn tiles(&self) -> usize {
        self.pixels.len() / (3 * self.tile * self.tile)
    }
}

/// The marker each image needs in a text prompt: `text` as given when it already holds
/// `<|image|>` markers, else one marker per image before it (as the chat template places an
/// image content item before its text).
pub fn with_markers(text: &str, images: usize) -> String {
    if images == 0 || text.contains("<|image|>") {
        return text.to_string();
    }
    "<|image|>".repeat(images) + text
}
