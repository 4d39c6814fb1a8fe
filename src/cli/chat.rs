//! `llama4-wgpu chat`: an interactive chat. Each turn renders the whole history with the model's
//! template and prefills only what the KV cache does not hold yet. `/image PATH` attaches an
//! image to the next message (`--image` to the first); `/reset` forgets the history; Ctrl-D (end
//! of input) quits.

use crate::generate::{load_model, open_gpu, stream, GpuArgs, SamplingArgs};
use crate::images;
use anyhow::{Context, Result};
use llama4_wgpu::model::VisionModel;
use llama4_wgpu::runtime::chat::{self, Message};
use llama4_wgpu::runtime::{ModelFiles, Session};
use llama4_wgpu::vision::{self, ImageTokens, PromptImages};
use std::io::{BufRead, IsTerminal, Write};

#[derive(clap::Args)]
pub struct ChatArgs {
    /// A GGUF file, or a checkpoint folder.
    #[arg(long)]
    model: std::path::PathBuf,
    #[arg(long)]
    system: Option<String>,
    /// Most tokens per answer.
    #[arg(long, default_value_t = 512)]
    max_tokens: usize,
    /// Context length the KV cache is sized for.
    #[arg(long, default_value_t = 4096)]
    max_context: usize,
    #[command(flatten)]
    sampling: SamplingArgs,
    /// An image for the first message (repeatable); `/image PATH` attaches one later.
    #[arg(long)]
    image: Vec<std::path::PathBuf>,
    /// Most tiles an image is cut into (default: the checkpoint's processor config, else 16).
    #[arg(long)]
    max_patches: Option<usize>,
    /// llama.cpp's multimodal projector GGUF: the vision tower for a GGUF model.
    #[arg(long)]
    mmproj: Option<std::path::PathBuf>,
    #[command(flatten)]
    gpu: GpuArgs,
}

/// The conversation's images: every image's tiles in order, and their features once encoded.
struct Images<'a> {
    tower: Option<VisionModel>,
    all: Vec<vision::Rgb8>,
    prepared: Option<PromptImages>,
    features: Option<llama4_wgpu::gpu::Activation>,
    files: &'a ModelFiles,
    tensors: &'a dyn llama4_wgpu::loader::TensorSource,
    max_patches: Option<usize>,
}

impl Images<'_> {
    /// Adds images and encodes every image of the conversation again (the tower runs per tile).
    fn add(&mut self, ctx: &llama4_wgpu::gpu::GpuContext, new: Vec<vision::Rgb8>) -> Result<()> {
        let Some(v) = &self.files.vision else {
            anyhow::bail!("this model has no vision tower (a GGUF model takes one with --mmproj)")
        };
        self.all.extend(new);
        let prepared = images::prepare(&self.all, self.files, self.max_patches)?;
        if self.tower.is_none() {
            self.tower = Some(VisionModel::load(ctx, v, self.files.cfg.hidden_size, self.tensors)?);
        }
        self.features = Some(self.tower.as_ref().unwrap().encode(ctx, &prepared.pixels)?);
        self.prepared = Some(prepared);
        Ok(())
    }
    fn clear(&mut self) {
        self.all.clear();
        self.prepared = None;
        self.features = None;
    }
}

pub fn chat(a: ChatArgs) -> Result<()> {
    let sampler = a.sampling.config()?;
    let mut files = ModelFiles::open(&a.model)?;
    let mmproj = a.mmproj.as_deref().map(|p| images::open_mmproj(p, &mut files)).transpose()?;
    let tensors = images::tower_source(mmproj.as_ref(), &files);
    let tok = files.tokenizer.as_ref().map_err(|e| anyhow::anyhow!("{e}")).context("chat needs a tokenizer")?;
    let (template, bos) = &files.chat_template;
    let stop = tok.stop_ids();
    let ctx = open_gpu(&a.gpu)?;
    let model = load_model(&ctx, &files, &a.gpu, false)?;
    let max_context = a.max_context.min(files.cfg.max_position_embeddings.max(a.max_tokens.saturating_add(1)));
    let mut session = Session::new(&ctx, &model, max_context, sampler)?;
    let system: Vec<Message> = a.system.iter().map(|s| Message { role: "system".into(), content: s.clone() }).collect();
    let mut history = system.clone();
    // The ids the KV cache holds, in order.
    let mut cached: Vec<u32> = vec![];
    let mut imgs = Images {
        tower: None,
        all: vec![],
        prepared: None,
        features: None,
        files: &files,
        tensors,
        max_patches: a.max_patches,
    };
    // Images for the next message.
    let mut pending: Vec<vision::Rgb8> = a.image.iter().map(|p| vision::image::load(p)).collect::<Result<_, _>>()?;
    let interactive = std::io::stdin().is_terminal();
    let mut lines = std::io::stdin().lock().lines();
    loop {
        if interactive {
            eprint!("> ");
            std::io::stderr().flush()?;
        }
        let Some(line) = lines.next() else { break };
        let line = line?;
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        if text == "/reset" {
            history = system.clone();
            cached.clear();
            imgs.clear();
            session.rewind(0);
            eprintln!("(history cleared)");
            continue;
        }
        if let Some(path) = text.strip_prefix("/image ") {
            match vision::image::load(path.trim().as_ref()) {
                Ok(img) => {
                    eprintln!("(image attached to the next message: {}x{})", img.width, img.height);
                    pending.push(img);
                }
                Err(e) => eprintln!("error: {e}"),
            }
            continue;
        }
        let had = imgs.all.len();
        if !pending.is_empty() {
            if let Err(e) = imgs.add(&ctx, std::mem::take(&mut pending)) {
                eprintln!("error: {e:#}");
                imgs.all.truncate(had);
                continue;
            }
        }
        let content = vision::with_markers(text, imgs.all.len() - had);
        history.push(Message { role: "user".into(), content });
        let ids = tok.encode_prompt(&chat::render(template, bos, &history, true)?)?;
        let ids = images::expand(&ids, imgs.prepared.as_ref(), &files, tok)?;
        if ids.len().saturating_add(a.max_tokens) > max_context {
            history.pop();
            eprintln!("error: the conversation ({} tokens) + --max-tokens {} exceed the context of {max_context}; /reset to start over", ids.len(), a.max_tokens);
            continue;
        }
        // Keep what the cache holds of this rendering; prefill the rest (at least one token).
        let common = session.keep_prefix(&cached, &ids);
        let first = match (&imgs.features, &files.vision) {
            (Some(f), Some(v)) if ids[common..].contains(&v.image_token_index) => {
                let before = ids[..common].iter().filter(|&&i| i == v.image_token_index).count();
                let rest = session.prefill_images_from(&ids[common..], false, v.image_token_index, f.clone(), before);
                pollster::block_on(rest)?.token
            }
            _ => pollster::block_on(session.prefill(&ids[common..], false))?.token,
        };
        let out = stream(&mut session, first, a.max_tokens, &stop, Some(tok), true)?;
        println!();
        cached = ids;
        cached.extend(&out[..out.len() - 1]);
        let answer: Vec<u32> = out.iter().copied().filter(|t| !stop.contains(t)).collect();
        // An answer's image-layout tokens are not images: kept in the text, they would read as
        // markers when the history is rendered again.
        let content = ImageTokens::NAMES.iter().fold(tok.decode(&answer)?, |t, s| t.replace(s, ""));
        history.push(Message { role: "assistant".into(), content });
    }
    Ok(())
}
