//! `run --image`: the images a prompt takes, its `<|image|>` markers expanded, and the checks
//! that `<|patch|>` ids and images agree.

use anyhow::{bail, Result};
use llama4_wgpu::config::Architecture;
use llama4_wgpu::runtime::{ModelFiles, Tokenizer};
use llama4_wgpu::vision::{self, ImageTokens, PromptImages};
use std::path::PathBuf;

/// `<|patch|>` in Llama 4's vocabulary (spec §1.3, `image_token_index`).
const LLAMA4_PATCH: u32 = 200092;

/// Decodes and preprocesses `paths`; `None` when there are none.
pub fn load(paths: &[PathBuf], files: &ModelFiles, max_patches: Option<usize>) -> Result<Option<PromptImages>> {
    if paths.is_empty() {
        return Ok(None);
    }
    if files.vision.is_none() {
        bail!(
            "{}: this checkpoint has no vision tower (its config has no vision_config), so it cannot take --image",
            files.path.display()
        );
    }
    let mut cfg = files.processor.clone();
    if let Some(m) = max_patches {
        if m == 0 {
            bail!("--max-patches must be at least 1");
        }
        cfg.max_patches = m;
    }
    let imgs = paths.iter().map(|p| vision::image::load(p)).collect::<Result<Vec<_>, _>>()?;
    Ok(Some(PromptImages::new(&imgs, &cfg)))
}

/// Replaces each `<|image|>` of a tokenised prompt by its image's token layout.
pub fn expand(ids: &[u32], images: Option<&PromptImages>, files: &ModelFiles, tok: &Tokenizer) -> Result<Vec<u32>> {
    let (Some(images), Some(v)) = (images, &files.vision) else { return Ok(ids.to_vec()) };
    let tokens = ImageTokens::from_tokenizer(tok, v.image_token_index)?;
    Ok(tokens.expand(ids, &images.grids, v.tokens_per_tile())?)
}

/// The prompt's `<|patch|>` ids must be exactly the images' feature rows; with no images, a
/// prompt holding them is refused rather than run as text.
pub fn check_patches(
    ids: &[u32],
    images: Option<&PromptImages>,
    files: &ModelFiles,
    tok: Option<&Tokenizer>,
) -> Result<()> {
    // The image token: the vision config's, else the tokenizer's, else (a Llama 4 checkpoint run
    // from ids without its tokenizer) Llama 4's own id where the vocabulary has it.
    let llama4 = files.cfg.architecture != Architecture::Gguf && files.cfg.vocab_size > LLAMA4_PATCH as usize;
    let patch = match (&files.vision, tok) {
        (Some(v), _) => Some(v.image_token_index),
        (None, Some(t)) => t.token_id("<|patch|>"),
        (None, None) => llama4.then_some(LLAMA4_PATCH),
    };
    let Some(patch) = patch else { return Ok(()) };
    let n = ids.iter().filter(|&&i| i == patch).count();
    if files.vision.is_none() && n > 0 {
        bail!(
            "the prompt holds {n} <|patch|> token(s) (id {patch}), image positions, but {} has no vision tower to fill them",
            files.path.display()
        );
    }
    let rows = match (images, &files.vision) {
        (Some(i), Some(v)) => i.tiles() * v.tokens_per_tile(),
        _ => 0,
    };
    let n_images = images.map_or(0, |i| i.grids.len());
    Ok(vision::prompt::check_patch_count(ids, patch, rows, n_images)?)
}
