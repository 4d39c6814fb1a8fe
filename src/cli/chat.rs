//! `llama4-wgpu chat`: an interactive chat. Each turn renders the whole history with the model's
//! template and prefills only what the KV cache does not hold yet. `/reset` forgets the history;
//! Ctrl-D (end of input) quits.

use crate::generate::{load_model, open_gpu, stream, GpuArgs, SamplingArgs};
use anyhow::{Context, Result};
use llama4_wgpu::runtime::chat::{self, Message};
use llama4_wgpu::runtime::{ModelFiles, Session};
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
    #[command(flatten)]
    gpu: GpuArgs,
}

pub fn chat(a: ChatArgs) -> Result<()> {
    let sampler = a.sampling.config()?;
    let files = ModelFiles::open(&a.model)?;
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
            session.rewind(0);
            eprintln!("(history cleared)");
            continue;
        }
        history.push(Message { role: "user".into(), content: text.to_string() });
        let ids = tok.encode_prompt(&chat::render(template, bos, &history, true)?)?;
        if ids.len().saturating_add(a.max_tokens) > max_context {
            history.pop();
            eprintln!("error: the conversation ({} tokens) + --max-tokens {} exceed the context of {max_context}; /reset to start over", ids.len(), a.max_tokens);
            continue;
        }
        // Keep what the cache holds of this rendering; prefill the rest (at least one token).
        let common = session.keep_prefix(&cached, &ids);
        let first = pollster::block_on(session.prefill(&ids[common..], false))?.token;
        let out = stream(&mut session, first, a.max_tokens, &stop, Some(tok), true)?;
        println!();
        cached = ids;
        cached.extend(&out[..out.len() - 1]);
        let answer: Vec<u32> = out.iter().copied().filter(|t| !stop.contains(t)).collect();
        history.push(Message { role: "assistant".into(), content: tok.decode(&answer)? });
    }
    Ok(())
}
