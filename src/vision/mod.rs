//! Images in (spec §4, §5): a file -> [`image::Rgb8`] -> Llama 4's processor
//! ([`processor::preprocess`]: best-fit canvas, bf16 tiles) -> the vision tower -> feature rows
//! that replace the `<|patch|>` embeddings; [`prompt`] lays those tokens out.

pub mod image;
pub mod processor;
pub mod prompt;
pub mod resize;

pub use image::Rgb8;
pub use processor::{preprocess, PixelValues, ProcessorConfig};
pub use prompt::ImageTokens;
