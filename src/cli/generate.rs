//! What `run` and `chat` share: opening the GPU, loading a model with a progress bar, and streaming
//! generated text.

use anyhow::Result;
use llama4_wgpu::gpu::{parse_backend, parse_limits, AdapterChoice, GpuContext, LimitsPreset};
use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::model::{Dtype, LoadOptions, TextModel};
use llama4_wgpu::quant::{quantize::TARGETS, WeightFormat};
use llama4_wgpu::runtime::tokenizer::StreamDecoder;
use llama4_wgpu::runtime::{ModelFiles, Session, Tokenizer};
use std::io::{IsTerminal, Write};
use std::time::Instant;

#[derive(clap::Args)]
pub struct GpuArgs {
    /// vulkan, metal, dx12 or gl.
    #[arg(long)]
    pub backend: Option<String>,
    /// Adapter index from `llama4-wgpu adapters`.
    #[arg(long)]
    pub adapter: Option<usize>,
    /// `webgpu-default`: run under the WebGPU spec's default limits with shader-f16 and subgroups
    /// masked off (what a browser page gets), on any adapter. Default: the adapter's own.
    #[arg(long, value_parser = parse_limits_arg)]
    pub limits: Option<LimitsPreset>,
    /// Quantize float weights on load (q8_0, q4_0 or q4_k; ggml's bytes): attention, dense and
    /// expert matrices whose width is whole blocks. Norms, router and embeddings stay as stored.
    #[arg(long, value_parser = parse_quantize)]
    pub quantize: Option<WeightFormat>,
    /// `f16`: keep the KV cache in f16 (half the memory), read with f16 math where the adapter
    /// has shader-f16. Default `f32`.
    #[arg(long, value_parser = parse_dtype, default_value = "f32")]
    pub dtype: Dtype,
    /// Prompt matmuls on GPUs: `tiled` (a workgroup-memory GEMM, the default) or `rows` (the
    /// GEMV with 8 token rows a workgroup), to compare them. CPU adapters have their own layout.
    #[arg(long, default_value = "tiled", value_parser = ["tiled", "rows"])]
    pub gemm: String,
    /// RMSNorms: `fused` into the matmul that reads the normed rows where one matrix does, or
    /// `pass` (the norm's own pass). Default: fused on GPUs, passes on CPU adapters (faster
    /// there, measured on lavapipe).
    #[arg(long, value_parser = ["fused", "pass"])]
    pub norm: Option<String>,
}

pub fn parse_dtype(s: &str) -> std::result::Result<Dtype, String> {
    Dtype::parse(s).map_err(|e| e.to_string())
}

fn parse_limits_arg(s: &str) -> std::result::Result<LimitsPreset, String> {
    parse_limits(s).map_err(|e| e.to_string())
}

pub fn parse_quantize(s: &str) -> std::result::Result<WeightFormat, String> {
    WeightFormat::parse(s).filter(|f| TARGETS.contains(f)).ok_or_else(|| {
        format!("`{s}` is not a quantize-on-load format (one of: {})", TARGETS.map(|f| f.name()).join(", "))
    })
}

#[derive(clap::Args)]
pub struct SamplingArgs {
    /// 0 = greedy.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl SamplingArgs {
    pub fn config(&self) -> Result<SamplerConfig> {
        let s = SamplerConfig { temperature: self.temperature, top_k: self.top_k, top_p: self.top_p, seed: self.seed };
        s.validate()?;
        Ok(s)
    }
}

pub fn open_gpu(a: &GpuArgs) -> Result<GpuContext> {
    let backend = a.backend.as_deref().map(parse_backend).transpose()?;
    let limits = a.limits.unwrap_or_default();
    let tiled_gemm = Some(a.gemm == "tiled");
    Ok(pollster::block_on(GpuContext::new(&AdapterChoice {
        backend,
        index: a.adapter,
        limits,
        tiled_gemm,
        fused_norm: a.norm.as_deref().map(|n| n == "fused"),
        ..Default::default()
    }))?)
}

/// Uploads the weights; a progress bar when stderr is a terminal, a summary line unless `quiet`.
pub fn load_model(
    ctx: &GpuContext,
    files: &ModelFiles,
    gpu: &GpuArgs,
    quiet: bool,
) -> Result<std::sync::Arc<TextModel>> {
    let cfg = &files.cfg;
    let t = Instant::now();
    let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
        indicatif::ProgressBar::new(cfg.num_hidden_layers as u64).with_style(
            indicatif::ProgressStyle::with_template("loading {bar:30} layer {pos}/{len} {elapsed}").unwrap(),
        )
    });
    let opts = LoadOptions { quantize: gpu.quantize, dtype: gpu.dtype };
    let model = std::sync::Arc::new(TextModel::load_with(ctx, cfg, files.tensors.as_ref(), &opts, |u| {
        if let Some(b) = &bar {
            b.set_position(u.layer as u64);
        }
    })?);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if !quiet {
        eprintln!(
            "loaded {} layers ({:.1} MiB) on {} ({:?}) in {:.2}s",
            cfg.num_hidden_layers,
            model.weight_bytes() as f64 / 1048576.0,
            ctx.info.name,
            ctx.info.backend,
            t.elapsed().as_secs_f64()
        );
    }
    Ok(model)
}

/// Feeds the model from `first` (the token prefill sampled) until a stop id or `max` tokens;
/// prints the text as it comes when `print`. Returns the generated ids, the stop id included.
/// Every id but the last has been fed to the model.
pub fn stream(
    session: &mut Session,
    first: u32,
    max: usize,
    stop: &[u32],
    tokenizer: Option<&Tokenizer>,
    print: bool,
) -> Result<Vec<u32>> {
    let mut tokens = vec![];
    let mut dec = StreamDecoder::new();
    let mut failed = None;
    // takes one id: false to stop (a stop id, an output error, or `max` ids)
    let mut take = |id: u32| -> bool {
        tokens.push(id);
        if stop.contains(&id) {
            return false;
        }
        if let (true, Some(tok)) = (print, tokenizer) {
            let shown = dec.push(tok, id).map_err(anyhow::Error::from).and_then(|piece| {
                let mut out = std::io::stdout().lock();
                out.write_all(piece.as_bytes())?;
                Ok(out.flush()?)
            });
            if let Err(e) = shown {
                failed = Some(e);
                return false;
            }
        }
        tokens.len() < max
    };
    // the ids print while the GPU is already on the next one
    if max > 0 && take(first) {
        pollster::block_on(session.decode_stream(max - 1, &mut take))?;
    }
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(tokens)
}
