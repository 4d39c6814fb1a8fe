//! A tiny Llama 4 built into the library: 4 layers (RoPE with chunked attention and QK norm on
//! three, NoPE with the temperature on the fourth; MoE on every other layer, 8 experts + shared),
//! as llama.cpp's converter wrote it to GGUF, with transformers' logits for a 24-token prompt and
//! 8 greedy tokens (`tools/make_llama4_gguf_fixture.py`; the test fixture of the same name). Run
//! through the whole runtime, it shows a user's adapter computes Llama 4, not only its kernels.

use super::data::{mismatches, rel_err};
use super::Checks;
use crate::config::TextConfig;
use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::kernels::SamplerConfig;
use crate::loader::Gguf;
use crate::model::TextModel;
use crate::runtime::{npy, Session};
use std::path::Path;

const GGUF: &[u8] = include_bytes!("../../tests/fixtures/llama4_gguf/model-f32.gguf");
const PROMPT_LOGITS: &[u8] = include_bytes!("../../tests/fixtures/llama4_gguf/prompt_logits.npy");
const DECODE_LOGITS: &[u8] = include_bytes!("../../tests/fixtures/llama4_gguf/decode_logits.npy");
const REFERENCE: &str = include_str!("../../tests/fixtures/llama4_gguf/reference.json");

/// Logits against transformers (f32 on both sides; summation order differs).
pub const TOL: f64 = 1e-4;

#[derive(serde::Deserialize)]
struct Reference {
    prompt_ids: Vec<u32>,
    greedy_tokens: Vec<u32>,
}

/// What the built-in model produced: prompt logits, greedy tokens and the logits that chose them.
struct Outcome {
    prompt_logits: Vec<f32>,
    tokens: Vec<u32>,
    step_logits: Vec<f32>,
}

const NAME: &str = "<built-in tiny llama4>";

fn reference() -> Result<Reference> {
    serde_json::from_str(REFERENCE).map_err(|e| Error::file(NAME, e))
}

/// Loads the built-in model on `ctx` and generates `r`'s greedy tokens with logits.
async fn generate(ctx: &GpuContext, r: &Reference) -> Result<Outcome> {
    let g = Gguf::from_static(Path::new(NAME), GGUF)?;
    let cfg = TextConfig::from_gguf(&g)?;
    let model = std::sync::Arc::new(TextModel::load(ctx, &cfg, &g, |_| {})?);
    let mut s = Session::new(ctx, &model, 64, SamplerConfig::default())?;
    let out = s.prefill(&r.prompt_ids, true).await?;
    let prompt_logits = out.logits.ok_or_else(|| Error::Gpu("prefill returned no logits".into()))?;
    let v = cfg.vocab_size;
    let mut step_logits = prompt_logits[(r.prompt_ids.len() - 1) * v..].to_vec();
    let mut tokens = vec![out.token];
    while tokens.len() < r.greedy_tokens.len() {
        let o = s.decode(None, true).await?;
        tokens.push(o.token);
        step_logits.extend(o.logits.ok_or_else(|| Error::Gpu("decode returned no logits".into()))?);
    }
    Ok(Outcome { prompt_logits, tokens, step_logits })
}

/// The three end-to-end checks: prompt logits, decode logits, greedy tokens.
pub async fn run(ctx: &GpuContext, variant: &str, checks: &mut Checks<'_>) {
    let r = reference().expect("built-in reference.json");
    let t0 = web_time::Instant::now();
    let outcome = generate(ctx, &r).await;
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    let reference = |bytes: &[u8], what: &str| npy::parse_f32(bytes, Path::new(what)).map(|(_, v)| v);
    let measure = |i: usize| -> Result<f64> {
        let o = outcome.as_ref().map_err(|e| Error::Gpu(e.to_string()))?;
        Ok(match i {
            0 => rel_err(&o.prompt_logits, &reference(PROMPT_LOGITS, "prompt_logits.npy")?),
            1 => rel_err(&o.step_logits, &reference(DECODE_LOGITS, "decode_logits.npy")?),
            _ => mismatches(&o.tokens, &r.greedy_tokens),
        })
    };
    let shape = format!("4 layers, prompt {}, {} tokens", r.prompt_ids.len(), r.greedy_tokens.len());
    for (i, (what, tol)) in
        [("prompt logits", TOL), ("decode logits", TOL), ("greedy tokens", 0.0)].into_iter().enumerate()
    {
        // the whole generation's time goes to the first check
        let spent = if i == 0 { ms } else { 0.0 };
        checks.run_timed("llama4 e2e", format!("{variant} {what}"), shape.clone(), tol, spent, measure(i));
    }
}
