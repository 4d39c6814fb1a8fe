//! `llama4-wgpu perplexity`: llama-perplexity's convention. The file's tokens (BOS first where the
//! model's metadata asks for it) are cut in chunks of `--ctx`; each chunk starts a fresh context
//! (its first token replaced by BOS where the model wants one) and is scored on its second half:
//! positions ctx/2 .. ctx-2 predict the next token. Perplexity = exp(mean negative log-likelihood).

use crate::generate::{load_model, open_gpu, GpuArgs};
use anyhow::{bail, Result};
use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::runtime::{ModelFiles, Session};
use std::time::Instant;

#[derive(clap::Args)]
pub struct PerplexityArgs {
    /// A GGUF file, or a checkpoint folder.
    #[arg(long)]
    model: std::path::PathBuf,
    /// The text to score.
    #[arg(long)]
    file: std::path::PathBuf,
    /// Tokens per chunk.
    #[arg(long, default_value_t = 512)]
    ctx: usize,
    /// Score at most this many chunks (default: all).
    #[arg(long)]
    chunks: Option<usize>,
    /// Print {"perplexity": P, "chunks": C, "tokens_scored": S}.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    gpu: GpuArgs,
}

/// -log softmax(logits)[target], in f64.
pub fn nll(logits: &[f32], target: u32) -> f64 {
    let max = logits.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64;
    let sum: f64 = logits.iter().map(|&v| (v as f64 - max).exp()).sum();
    sum.ln() + max - logits[target as usize] as f64
}

pub fn perplexity(a: PerplexityArgs) -> Result<()> {
    let files = ModelFiles::open(&a.model)?;
    let tok = match &files.tokenizer {
        Ok(t) => t,
        Err(e) => bail!("perplexity needs a tokenizer: {e}"),
    };
    let text = std::fs::read_to_string(&a.file).map_err(|e| anyhow::anyhow!("{}: {e}", a.file.display()))?;
    let tokens = tok.encode_prompt(&text)?;
    if a.ctx < 4 {
        bail!("--ctx {} is too small (at least 4)", a.ctx);
    }
    let mut n_chunks = tokens.len() / a.ctx;
    if let Some(c) = a.chunks {
        n_chunks = n_chunks.min(c);
    }
    if n_chunks == 0 {
        bail!("{}: {} tokens, fewer than one chunk of --ctx {}", a.file.display(), tokens.len(), a.ctx);
    }
    let cfg = &files.cfg;
    let ctx = open_gpu(&a.gpu)?;
    let model = load_model(&ctx, &files, &a.gpu, a.json)?;
    let mut session = Session::new(&ctx, &model, a.ctx, SamplerConfig::default())?;
    let (v, first) = (cfg.vocab_size, a.ctx / 2);
    let (mut sum, mut count) = (0.0f64, 0usize);
    let t0 = Instant::now();
    for c in 0..n_chunks {
        let mut ids = tokens[c * a.ctx..(c + 1) * a.ctx].to_vec();
        if let (true, Some(b)) = (tok.add_bos, tok.bos) {
            ids[0] = b;
        }
        session.rewind(0);
        let logits = pollster::block_on(session.prefill(&ids, true))?.logits.expect("all logits");
        for j in first..a.ctx - 1 {
            sum += nll(&logits[j * v..(j + 1) * v], ids[j + 1]);
            count += 1;
        }
        if !a.json {
            eprintln!(
                "[{}/{n_chunks}] perplexity so far {:.4} ({:.1}s)",
                c + 1,
                (sum / count as f64).exp(),
                t0.elapsed().as_secs_f64()
            );
        }
    }
    let ppl = (sum / count as f64).exp();
    if a.json {
        println!("{}", serde_json::json!({"perplexity": ppl, "chunks": n_chunks, "tokens_scored": count}));
    } else {
        println!("perplexity {ppl:.4} over {n_chunks} chunks of {} ({count} tokens scored)", a.ctx);
    }
    Ok(())
}
