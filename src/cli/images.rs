//! `run --image`: the images a prompt takes, its `<|image|>` markers expanded, and the checks
//! that `<|patch|>` ids and images agree.

use anyhow::{bail, Result};
use llama4_wgpu::config::Architecture;
use llama4_wgpu::config::VisionConfig;
use llama4_wgpu::loader::{Mmproj, TensorSource};
use llama4_wgpu::runtime::{ModelFiles, Tokenizer};
use llama4_wgpu::vision::{self, ImageTokens, ProcessorConfig, PromptImages};
use std::path::{Path, PathBuf};

/// `<|patch|>` in Llama 4's vocabulary (spec §1.3, `image_token_index`).
const LLAMA4_PATCH: u32 = 200092;

/// `--mmproj FILE`: the vision tower of llama.cpp's projector GGUF, in place of any the model has;
/// its tiles are the tower's size and normalised with the file's mean and std.
pub fn open_mmproj(path: &Path, files: &mut ModelFiles) -> Result<Mmproj> {
    let patch = patch_token(files, files.tokenizer.as_ref().ok()).unwrap_or(LLAMA4_PATCH);
    let m = Mmproj::open(path, patch)?;
    files.processor.tile = m.cfg.image_size;
    if let Some((mean, std)) = m.mean_std() {
        (files.processor.mean, files.processor.std) = (mean, std);
    }
    files.vision = Some(m.cfg.clone());
    Ok(m)
}

/// The image token: the vision config's, else the tokenizer's, else (a Llama 4 checkpoint run
/// from ids without its tokenizer) Llama 4's own id where the vocabulary has it.
fn patch_token(files: &ModelFiles, tok: Option<&Tokenizer>) -> Option<u32> {
    let llama4 = files.cfg.architecture != Architecture::Gguf && files.cfg.vocab_size > LLAMA4_PATCH as usize;
    match (&files.vision, tok) {
        (Some(v), _) => Some(v.image_token_index),
        (None, Some(t)) => t.token_id("<|patch|>"),
        (None, None) => llama4.then_some(LLAMA4_PATCH),
    }
}

/// Where the vision tower's weights come from: `--mmproj`'s file, else the checkpoint.
pub fn tower_source<'a>(mmproj: Option<&'a Mmproj>, files: &'a ModelFiles) -> &'a dyn TensorSource {
    match mmproj {
        Some(m) => m,
        None => files.tensors.as_ref(),
    }
}

/// Decodes and preprocesses `paths`; `None` when there are none.
pub fn load(paths: &[PathBuf], files: &ModelFiles, max_patches: Option<usize>) -> Result<Option<PromptImages>> {
    if paths.is_empty() {
        return Ok(None);
    }
    let imgs = paths.iter().map(|p| vision::image::load(p)).collect::<Result<Vec<_>, _>>()?;
    prepare(&imgs, files, max_patches).map(Some)
}

/// Runs decoded images through the model's processor (`max_patches` overriding its own).
pub fn prepare(imgs: &[vision::Rgb8], files: &ModelFiles, max_patches: Option<usize>) -> Result<PromptImages> {
    if files.vision.is_none() {
        bail!(
            "{}: this checkpoint has no vision tower (no vision_config; a GGUF model takes one with --mmproj), so it cannot take --image",
            files.path.display()
        );
    }
    let v = files.vision.as_ref().expect("checked above");
    let mut cfg = files.processor.clone();
    if cfg.tile != v.image_size {
        bail!(
            "{}: preprocessor_config.json cuts {}-pixel tiles but the vision tower takes {}-pixel ones (vision_config.image_size)",
            files.path.display(),
            cfg.tile,
            v.image_size
        );
    }
    if let Some(m) = max_patches {
        if m == 0 {
            bail!("--max-patches must be at least 1");
        }
        cfg.max_patches = m;
    }
    Ok(PromptImages::new(imgs, &cfg))
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
    let Some(patch) = patch_token(files, tok) else { return Ok(()) };
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
    Ok(vision::prompt::check_patch_count(ids, patch, rows, Some(n_images))?)
}

/// `info`'s vision lines: the tower, and what images of a few shapes cost in prompt tokens.
pub fn describe(v: &VisionConfig, processor: &ProcessorConfig, text_hidden: usize) {
    println!(
        "vision: {} layers, hidden {}, heads {} (head_dim {}), MLP {}, tile {} in {}x{} patches of {} (+ class token), \
         pixel shuffle {} -> {} <|patch|> tokens a tile, adapter {}->{}->{}, projector -> {}; {} parameters",
        v.num_hidden_layers,
        v.hidden_size,
        v.num_attention_heads,
        v.head_dim(),
        v.intermediate_size,
        v.image_size,
        v.grid(),
        v.grid(),
        v.patch_size,
        v.pixel_shuffle_ratio,
        v.tokens_per_tile(),
        v.intermediate_size,
        v.projector_input_dim,
        v.projector_output_dim,
        text_hidden,
        v.param_count(text_hidden)
    );
    println!(
        "image tokens (tile {}, at most {} tiles{}):",
        processor.tile,
        processor.max_patches,
        if processor.resize_to_max_canvas { ", resize to max canvas" } else { "" },
    );
    let t = processor.tile;
    for (h, w) in [(t, t), (480, 640), (1080, 1920), (1920, 1080), (3000, 4000), (2000, 100)] {
        let fit = vision::processor::plan(h, w, processor);
        let (rows, cols) = fit.grid(t);
        let tiles = fit.tiles(t);
        let ids = ImageTokens { start: 0, end: 0, image: 0, patch: 1, tile_x: 0, tile_y: 0 }
            .layout((rows, cols), v.tokens_per_tile());
        println!(
            "  {w:>5}x{h:<5} -> {rows}x{cols} tiles{} = {tiles} tile(s): {} <|patch|>, {} prompt ids",
            if tiles > 1 { " + global" } else { "" },
            ids.iter().filter(|&&i| i == 1).count(),
            ids.len()
        );
    }
}

/// GPU bytes of the vision tower's weights: matrices as stored, vectors as f32 (how
/// `VisionModel::load` uploads them). `tensors` is the checkpoint (its `vision_model.` and
/// `multi_modal_projector.` tensors) or an mmproj file (all of it).
pub fn tower_bytes(tensors: &dyn TensorSource, whole: bool) -> u64 {
    let ours = |n: &str| whole || n.starts_with("vision_model.") || n.starts_with("multi_modal_projector.");
    tensors
        .names()
        .into_iter()
        .filter(|n| ours(n))
        .filter_map(|n| tensors.get_any(n).ok())
        .map(|v| if v.shape.len() >= 2 { v.bytes.len() as u64 } else { 4 * v.numel() as u64 })
        .sum()
}
