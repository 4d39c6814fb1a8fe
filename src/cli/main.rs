//! The `llama4-wgpu` command line: `adapters`, `info`, `run`, `chat`, `perplexity`, `doctor`, `bench`.
//! Thin: parsing, files, printing.

mod bench;
mod bench_report;
mod chat;
mod doctor;
mod generate;
mod images;
mod perplexity;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use generate::{load_model, open_gpu, stream, GpuArgs, SamplingArgs};
use llama4_wgpu::config::{AttentionKind, FfnKind};
use llama4_wgpu::gpu::{list_adapters, parse_backend};
use llama4_wgpu::model::{matrix_specs, Dtype, KvCache, VisionModel};
use llama4_wgpu::quant::WeightFormat;
use llama4_wgpu::runtime::chat::{render as render_chat, Message};
use llama4_wgpu::runtime::{npy, ModelFiles, Session};
use llama4_wgpu::vision::with_markers;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "llama4-wgpu", version, about = "Llama 4 inference on WGSL compute shaders through wgpu")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List every GPU adapter with its backend, features and key limits.
    Adapters {
        #[arg(long)]
        backend: Option<String>,
    },
    /// Print the layer plan, parameter count and GPU memory a model needs.
    Info {
        #[arg(long)]
        model: PathBuf,
        /// Context length the KV cache is sized for.
        #[arg(long, default_value_t = 4096)]
        max_context: usize,
        /// Size the GPU weights as `run --quantize` would load them.
        #[arg(long, value_parser = generate::parse_quantize)]
        quantize: Option<WeightFormat>,
        /// Size the KV cache as `run --dtype` would hold it.
        #[arg(long, value_parser = generate::parse_dtype, default_value = "f32")]
        dtype: Dtype,
        /// llama.cpp's multimodal projector GGUF: describe it as the model's vision tower.
        #[arg(long)]
        mmproj: Option<PathBuf>,
    },
    /// Generate text.
    Run(RunArgs),
    /// Chat interactively (history, the model's template, stop tokens; /reset; Ctrl-D quits).
    Chat(chat::ChatArgs),
    /// Perplexity of a text file, as llama-perplexity computes it.
    Perplexity(perplexity::PerplexityArgs),
    /// Check every adapter: identity, features, limits, every kernel variant against the CPU
    /// reference and a built-in tiny Llama 4 against transformers. Exits 1 on any failure.
    Doctor(doctor::DoctorArgs),
    /// Prefill and decode speed in llama-bench's terms (-p, -n, -r, -o json), on a model or on
    /// random weights at real Llama 4 shapes (--synthetic scout|maverick|tiny --layers N).
    Bench(bench::BenchArgs),
}

#[derive(Args)]
struct RunArgs {
    /// A GGUF file, or a checkpoint folder (config.json, *.safetensors, tokenizer.json).
    #[arg(long)]
    model: PathBuf,
    #[arg(long, conflicts_with = "prompt_ids")]
    prompt: Option<String>,
    /// Comma-separated token ids, used as given.
    #[arg(long, value_delimiter = ',')]
    prompt_ids: Option<Vec<u32>>,
    /// Wrap the prompt in the Llama 4 chat template and stop at <|eot|>, <|eom|>, <|end_of_text|>.
    #[arg(long)]
    chat: bool,
    #[arg(long)]
    system: Option<String>,
    #[arg(long, default_value_t = 128)]
    max_tokens: usize,
    #[command(flatten)]
    sampling: SamplingArgs,
    /// Print one JSON object (tokens, text, timings) instead of streaming text.
    #[arg(long)]
    json: bool,
    /// Write the logits at every prompt position as float32 .npy [prompt_len, vocab].
    #[arg(long)]
    dump_logits: Option<PathBuf>,
    /// Context length the KV cache is sized for (default: min(max_position_embeddings, 4096, prompt + max_tokens)).
    #[arg(long)]
    max_context: Option<usize>,
    /// An image for the prompt (repeatable; PNG, JPEG, WebP, GIF). Each `<|image|>` in the
    /// prompt takes the next one; a prompt without markers gets one per image at its start.
    /// With --prompt-ids, the ids' <|patch|> rows take the images' features in order.
    #[arg(long)]
    image: Vec<PathBuf>,
    /// Most tiles an image is cut into (default: the checkpoint's preprocessor_config.json, else 16).
    #[arg(long)]
    max_patches: Option<usize>,
    /// llama.cpp's multimodal projector GGUF (`convert_hf_to_gguf.py --mmproj`): the vision tower
    /// for a GGUF model (or in place of a checkpoint's own).
    #[arg(long)]
    mmproj: Option<PathBuf>,
    #[command(flatten)]
    gpu: GpuArgs,
}

fn main() {
    llama4_wgpu::gpu::quiet_headless_vulkan();
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Adapters { backend } => adapters(backend),
        Cmd::Info { model, max_context, quantize, dtype, mmproj } => info(model, max_context, quantize, dtype, mmproj),
        Cmd::Run(a) => run(a),
        Cmd::Chat(a) => chat::chat(a),
        Cmd::Perplexity(a) => perplexity::perplexity(a),
        Cmd::Doctor(a) => doctor::doctor(a),
        Cmd::Bench(a) => bench::bench(a),
    };
    if let Err(e) = r {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn adapters(backend: Option<String>) -> Result<()> {
    let be = backend.as_deref().map(parse_backend).transpose()?;
    let all = pollster::block_on(list_adapters(be));
    if all.is_empty() {
        bail!("no GPU adapter found (install a Vulkan driver, e.g. mesa-vulkan-drivers, or try --backend gl)");
    }
    for (_, r) in all {
        println!("{r}");
    }
    Ok(())
}

fn info(
    path: PathBuf,
    max_context: usize,
    quantize: Option<WeightFormat>,
    dtype: Dtype,
    mmproj: Option<PathBuf>,
) -> Result<()> {
    let mut files = ModelFiles::open_with(&path, false)?;
    let mmproj = mmproj.as_deref().map(|m| images::open_mmproj(m, &mut files)).transpose()?;
    let cfg = &files.cfg;
    let ck = &files.tensors;
    println!("model: {} ({:?})", path.display(), cfg.architecture);
    println!(
        "text: {} layers, hidden {}, heads {}/{} kv, head_dim {}, vocab {}, chunk {}, experts {} (top-{}), expert width {}, dense width {}",
        cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim, cfg.vocab_size,
        cfg.attention_chunk_size, cfg.num_local_experts, cfg.num_experts_per_tok, cfg.intermediate_size, cfg.intermediate_size_mlp
    );
    println!(
        "rope: theta {}, {:?}{}",
        cfg.rope_theta,
        cfg.rope_scaling,
        if cfg.rope_freq_factors.is_empty() { "" } else { ", per-frequency factors (rope_freqs)" }
    );
    for n in &cfg.notes {
        println!("note: {n}");
    }
    println!("layer plan:");
    for (i, l) in cfg.layers.iter().enumerate() {
        let a = match l.attention {
            AttentionKind::ChunkedRope => format!("RoPE + chunked({})", cfg.attention_chunk_size),
            AttentionKind::GlobalNope => {
                format!("NoPE + global{}", if cfg.attn_temperature_tuning { " + temperature" } else { "" })
            }
        };
        let f = match l.ffn {
            FfnKind::Dense => format!("dense({})", cfg.intermediate_size_mlp),
            FfnKind::Moe => format!(
                "MoE({}x{}, top-{}, + shared)",
                cfg.num_local_experts, cfg.intermediate_size, cfg.num_experts_per_tok
            ),
        };
        println!("  {i:>3}: {a:<32} {f}");
    }
    let params = cfg.param_count();
    let active = {
        let mut c = cfg.clone();
        c.num_local_experts = c.num_experts_per_tok;
        c.param_count()
    };
    println!(
        "parameters: {} ({:.3} B), active per token: {} ({:.3} B)",
        params,
        params as f64 / 1e9,
        active,
        active as f64 / 1e9
    );
    println!("weights by format, as stored:");
    for (f, count, bytes) in ck.format_histogram() {
        println!("  {:>5}: {count} tensors, {:.1} MiB", f.name(), bytes as f64 / 1048576.0);
    }
    // What the GPU holds: the matrices (each in its stored format, or quantized on load) + f32 norms.
    let specs = matrix_specs(cfg, ck.as_ref())?;
    let mut by_format = std::collections::BTreeMap::<WeightFormat, u64>::new();
    for m in &specs {
        for p in &m.parts {
            *by_format.entry(m.gpu_format(p, quantize)).or_default() += m.part_bytes(p, quantize);
        }
    }
    let norms = 4 * cfg.hidden_size as u64 * (2 * cfg.num_hidden_layers as u64 + 1);
    let weights = by_format.values().sum::<u64>() + norms;
    match quantize {
        Some(q) => println!("on the GPU, quantized on load to {}:", q.name()),
        None => println!("on the GPU (each matrix in its stored format):"),
    }
    for (f, bytes) in &by_format {
        println!("  {:>5}: {:.1} MiB", f.name(), *bytes as f64 / 1048576.0);
    }
    if let Some(q) = quantize {
        let mut kept = std::collections::BTreeMap::<String, Vec<&str>>::new();
        for m in &specs {
            if let Some(reason) = m.kept_reason(q) {
                kept.entry(reason).or_default().push(&m.name);
            }
        }
        for (reason, names) in kept {
            let more = if names.len() > 1 { format!(" and {} more", names.len() - 1) } else { String::new() };
            println!("  kept as stored: {}{more}: {reason}", names[0]);
        }
    }
    if let Some(v) = &files.vision {
        images::describe(v, &files.processor, cfg.hidden_size);
    }
    let kv = KvCache::bytes(cfg, max_context, dtype);
    println!(
        "GPU memory: weights {:.1} MiB (norms f32) + KV cache {:.1} MiB for {max_context} positions ({}) = {:.1} MiB, plus activations",
        weights as f64 / 1048576.0,
        kv as f64 / 1048576.0,
        dtype.name(),
        (weights + kv) as f64 / 1048576.0
    );
    if files.vision.is_some() {
        let tower = match &mmproj {
            Some(m) => images::tower_bytes(m.gguf(), true),
            None => images::tower_bytes(files.tensors.as_ref(), false),
        };
        println!("with images: + vision tower {:.1} MiB (loaded by the first --image)", tower as f64 / 1048576.0);
    }
    Ok(())
}

fn run(a: RunArgs) -> Result<()> {
    let sampler = a.sampling.config()?;
    // --prompt and --chat need the tokenizer; streamed text uses it when there is one.
    let required = a.prompt.is_some() || a.chat;
    let mut files = ModelFiles::open_with(&a.model, required || !a.json)?;
    let mmproj = a.mmproj.as_deref().map(|p| images::open_mmproj(p, &mut files)).transpose()?;
    let cfg = files.cfg.clone();
    let tokenizer = match &files.tokenizer {
        Ok(t) => Some(t),
        Err(e) if required => {
            bail!("{} needs a tokenizer: {e}", if a.chat { "--chat" } else { "--prompt" })
        }
        Err(_) => None,
    };
    let images = images::load(&a.image, &files, a.max_patches)?;
    let ids: Vec<u32> = match (&a.prompt, &a.prompt_ids) {
        (_, Some(ids)) => ids.clone(),
        (Some(p), None) => {
            let tok = tokenizer.as_ref().context("--prompt needs a tokenizer")?;
            let p = with_markers(p, images.as_ref().map_or(0, |i| i.grids.len()));
            let ids = if a.chat {
                let (template, bos) = &files.chat_template;
                let mut msgs = vec![];
                if let Some(s) = &a.system {
                    msgs.push(Message { role: "system".into(), content: s.clone() });
                }
                msgs.push(Message { role: "user".into(), content: p });
                tok.encode_prompt(&render_chat(template, bos, &msgs, true)?)?
            } else {
                tok.encode_prompt(&p)?
            };
            images::expand(&ids, images.as_ref(), &files, tok)?
        }
        (None, None) => bail!("give --prompt TEXT or --prompt-ids 1,2,3"),
    };
    images::check_patches(&ids, images.as_ref(), &files, tokenizer)?;
    // End-of-generation ids stop a chat turn, and always for GGUF models (llama.cpp's convention).
    let stop: Vec<u32> = match &tokenizer {
        Some(t) if a.chat || files.is_gguf => t.stop_ids(),
        _ => vec![],
    };
    if ids.is_empty() {
        bail!("the prompt is empty");
    }
    let Some(need) = ids.len().checked_add(a.max_tokens) else {
        bail!("--max-tokens {} is too large", a.max_tokens);
    };
    // Default: room for this run, and at least min(max_position_embeddings, 4096) positions.
    let max_context = a.max_context.unwrap_or_else(|| cfg.max_position_embeddings.min(4096).max(need));
    if need > max_context {
        bail!(
            "prompt ({} tokens) + --max-tokens {} exceed the maximum context of {max_context} (raise --max-context)",
            ids.len(),
            a.max_tokens
        );
    }
    if let Some(&bad) = ids.iter().find(|&&x| x as usize >= cfg.vocab_size) {
        bail!("prompt token id {bad} is out of the vocabulary (vocab_size {})", cfg.vocab_size);
    }

    let ctx = open_gpu(&a.gpu)?;
    let model = load_model(&ctx, &files, &a.gpu, a.json)?;

    let mut session = Session::new(&ctx, &model, max_context, sampler)?;
    let t0 = Instant::now();
    let first = match &images {
        Some(imgs) => {
            let vcfg = files.vision.as_ref().context("images need a vision tower")?;
            let vision = VisionModel::load(&ctx, vcfg, cfg.hidden_size, images::tower_source(mmproj.as_ref(), &files))?;
            let features = vision.encode(&ctx, &imgs.pixels)?;
            pollster::block_on(session.prefill_images(&ids, a.dump_logits.is_some(), vcfg.image_token_index, features))?
        }
        None => pollster::block_on(session.prefill(&ids, a.dump_logits.is_some()))?,
    };
    let prefill_s = t0.elapsed().as_secs_f64();
    if let (Some(path), Some(l)) = (&a.dump_logits, &first.logits) {
        npy::write_f32(path, &[ids.len(), cfg.vocab_size], l)?;
    }
    let t1 = Instant::now();
    let tokens = stream(&mut session, first.token, a.max_tokens, &stop, tokenizer, !a.json)?;
    let decode_s = t1.elapsed().as_secs_f64();
    let gen_text = match &tokenizer {
        Some(t) => t.decode(tokens.iter().copied().filter(|x| !stop.contains(x)).collect::<Vec<_>>().as_slice())?,
        None => String::new(),
    };
    let decode_steps = tokens.len().saturating_sub(1);
    if a.json {
        let obj = serde_json::json!({
            "prompt_ids": ids,
            "tokens": tokens,
            "text": gen_text,
            "adapter": ctx.info.name,
            "backend": format!("{:?}", ctx.info.backend),
            "timings": {
                "prompt_tokens": ids.len(),
                "prefill_s": prefill_s,
                "prefill_tokens_per_s": ids.len() as f64 / prefill_s,
                "decode_steps": decode_steps,
                "decode_s": decode_s,
                "decode_tokens_per_s": if decode_steps > 0 { decode_steps as f64 / decode_s } else { 0.0 },
            }
        });
        println!("{obj}");
    } else {
        if tokenizer.is_none() {
            println!("{tokens:?}");
        } else {
            println!();
        }
        eprintln!(
            "prompt {} tokens in {:.3}s ({:.1} tok/s), generated {} tokens, {:.1} tok/s decode",
            ids.len(),
            prefill_s,
            ids.len() as f64 / prefill_s,
            tokens.len(),
            if decode_steps > 0 { decode_steps as f64 / decode_s } else { 0.0 }
        );
    }
    Ok(())
}
