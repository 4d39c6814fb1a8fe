//! `llama4-wgpu bench`: prefill and decode speed in llama-bench's terms (`-p`, `-n`, `-r`, `-o json`
//! with `n_prompt`, `n_gen`, `avg_ts`, `stddev_ts`, `samples_ts`), on a model or on random weights
//! at real Llama 4 shapes (`--synthetic scout|maverick|tiny`). Every pipeline of both step shapes
//! is compiled by a warm-up run before any clock starts, and every timed step ends with the
//! sampled id read back, so the clock stops only when the GPU has finished.

use crate::bench_report::{kernel_times, print_table, Base, TestResult, Work};
use crate::generate::{open_gpu, GpuArgs, SamplingArgs};
use anyhow::{bail, Result};
use llama4_wgpu::kernels::peaks;
use llama4_wgpu::loader::synthetic::{self, Synthetic};
use llama4_wgpu::loader::TensorSource;
use llama4_wgpu::model::{KvCache, LoadOptions, TextModel};
use llama4_wgpu::quant::WeightFormat;
use llama4_wgpu::runtime::{bench, ModelFiles, Session};
use llama4_wgpu::TextConfig;
use pollster::block_on;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// A GGUF file or a checkpoint folder.
    #[arg(long, required_unless_present = "synthetic", conflicts_with = "synthetic")]
    model: Option<PathBuf>,
    /// Random bf16 weights at a preset's shapes, no checkpoint: scout, maverick or tiny.
    #[arg(long)]
    synthetic: Option<String>,
    /// With --synthetic: keep this many layers (Scout has 48).
    #[arg(long)]
    layers: Option<usize>,
    /// With --synthetic: routed experts per MoE layer (Scout has 16, Maverick 128). Active
    /// parameters stay the same: one routed expert per token.
    #[arg(long)]
    experts: Option<usize>,
    /// With --synthetic: the format every matrix is stored in (bf16, f16, f32, q8_0, q4_0, q4_k),
    /// as a checkpoint in that format would hold it. Norms and the router stay bf16.
    #[arg(long, default_value = "bf16", value_parser = parse_stored)]
    quant: WeightFormat,
    /// Prompt tokens of the prefill tests (ppN; comma-separated, as llama-bench's -p); 0 skips.
    #[arg(short = 'p', long = "n-prompt", value_delimiter = ',', default_value = "512")]
    n_prompt: Vec<usize>,
    /// Generated tokens of the decode tests (tgN; comma-separated); 0 skips.
    #[arg(short = 'n', long = "n-gen", value_delimiter = ',', default_value = "128")]
    n_gen: Vec<usize>,
    /// Context depths (comma-separated, llama-bench's -d): each test runs after this many
    /// positions are in the KV cache. They are skipped, not computed (the cache holds zeros
    /// there): attention's cost depends on how many positions it reads, not on their values.
    #[arg(short = 'd', long = "n-depth", value_delimiter = ',', default_value = "0")]
    depths: Vec<usize>,
    /// Repetitions of each test.
    #[arg(short = 'r', long = "repetitions", default_value_t = 5)]
    reps: usize,
    /// `md` (a table, as llama-bench prints) or `json` (an array of objects, as llama-bench -o json).
    #[arg(short = 'o', long = "output", default_value = "md", value_parser = ["md", "json"])]
    output: String,
    /// Skip measuring the adapter's copy bandwidth and multiply-add rate (the denominators of
    /// the achieved rates).
    #[arg(long)]
    no_peaks: bool,
    /// Skip the per-kernel GPU times (one extra timed-dispatch run of each test's step).
    #[arg(long)]
    no_profile: bool,
    /// The sampler every step runs (default greedy, as llama-bench's steps pick no token; with
    /// --temperature and --top-k / --top-p the tg rows and profiles include what sampling costs).
    #[command(flatten)]
    sampling: SamplingArgs,
    #[command(flatten)]
    gpu: GpuArgs,
}

fn parse_stored(s: &str) -> std::result::Result<WeightFormat, String> {
    WeightFormat::parse(s).filter(|&f| synthetic::storable(f)).ok_or_else(|| {
        let names: Vec<_> =
            WeightFormat::ALL.into_iter().filter(|&f| synthetic::storable(f)).map(|f| f.name()).collect();
        format!("`{s}` is not a format synthetic weights are stored in (one of: {})", names.join(", "))
    })
}

pub fn bench(a: BenchArgs) -> Result<()> {
    if a.reps == 0 {
        bail!("-r must be at least 1");
    }
    let prompts: Vec<usize> = a.n_prompt.iter().copied().filter(|&p| p > 0).collect();
    let gens: Vec<usize> = a.n_gen.iter().copied().filter(|&n| n > 0).collect();
    if prompts.is_empty() && gens.is_empty() {
        bail!("nothing to measure: -p and -n are both 0");
    }
    let (cfg, source, name): (TextConfig, Box<dyn TensorSource>, String) = match (&a.model, &a.synthetic) {
        (_, Some(preset)) => {
            let cfg = synthetic::preset(preset, a.layers, a.experts)?;
            let experts = a.experts.map(|e| format!(" {e}E")).unwrap_or_default();
            let name = format!("synthetic {preset} {}L{experts} {}", cfg.num_hidden_layers, a.quant.name());
            let source = Box::new(Synthetic::new(&cfg, preset, a.quant)?);
            (cfg, source, name)
        }
        (Some(path), None) => {
            if a.layers.is_some() || a.experts.is_some() || a.quant != WeightFormat::Bf16 {
                bail!("--layers, --experts and --quant go with --synthetic (--quantize quantizes a model's float weights)");
            }
            let files = ModelFiles::open(path)?;
            (files.cfg, files.tensors, path.display().to_string())
        }
        (None, None) => bail!("give --model PATH or --synthetic NAME"),
    };
    let ctx = open_gpu(&a.gpu)?;
    let opts = LoadOptions { quantize: a.gpu.quantize, dtype: a.gpu.dtype };
    let t = Instant::now();
    let model = std::sync::Arc::new(TextModel::load_with(&ctx, &cfg, source.as_ref(), &opts, |_| {})?);
    drop(source);
    eprintln!("loaded {name} in {:.1} s: {} MiB of weights", t.elapsed().as_secs_f64(), model.weight_bytes() >> 20);
    let longest = prompts.iter().max().copied().unwrap_or(1);
    let max_context = a.depths.iter().max().unwrap_or(&0) + longest + gens.iter().max().unwrap_or(&0) + 1;
    let peaks = if a.no_peaks {
        None
    } else {
        let start = Instant::now();
        Some(block_on(peaks::measure(&ctx, &|| start.elapsed().as_secs_f64()))?)
    };
    let work = Work::new(&model);
    let base = Base {
        model: name + &a.gpu.quantize.map(|q| format!(" -> {}", q.name())).unwrap_or_default(),
        model_size: model.weight_bytes(),
        backend: format!("{:?}", ctx.info.backend),
        adapter: ctx.info.name.clone(),
        kv_bytes: KvCache::bytes(&cfg, max_context, a.gpu.dtype),
        peaks,
    };
    let ids = bench::prompt_ids(longest, cfg.vocab_size);
    let sampler = a.sampling.config()?;
    if !sampler.greedy() {
        eprintln!("sampling: temperature {}, top-k {}, top-p {}", sampler.temperature, sampler.top_k, sampler.top_p);
    }
    let mut s = Session::new(&ctx, &model, max_context, sampler)?;
    block_on(bench::warm_up(&mut s, &ids))?;

    let profile = !a.no_profile && ctx.features.contains(wgpu::Features::TIMESTAMP_QUERY);
    if !a.no_profile && !profile {
        eprintln!("no per-kernel times: `{}` has no timestamp queries", ctx.info.name);
    }
    let mut rows = vec![];
    for (i, &depth) in a.depths.iter().enumerate() {
        let profile = profile && i == 0;
        for &n_prompt in &prompts {
            let mut r = TestResult::new(&base, block_on(bench::prefill(&mut s, &ids[..n_prompt], depth, a.reps))?);
            r.ttft_ms = Some(r.timing.avg_ns / 1e6);
            r.achieved_gflops = Some(work.prefill_gflops(depth, n_prompt, r.timing.avg_ns));
            if profile {
                bench::at_depth(&mut s, depth)?;
                s.set_profiling(true);
                block_on(s.prefill(&ids[..n_prompt], false))?;
                s.set_profiling(false);
                r.kernels = kernel_times(&[s.last_profile().unwrap_or_default().to_vec()]);
            }
            rows.push(r);
        }
        for &n_gen in &gens {
            let mut r = TestResult::new(&base, block_on(bench::decode(&mut s, ids[0], n_gen, depth, a.reps))?);
            r.dispatches_per_token = s.decode_dispatches();
            r.achieved_gbps = Some(work.decode_gbps(depth, n_gen, r.timing.avg_ns));
            if profile {
                bench::at_depth(&mut s, depth)?;
                block_on(s.prefill(&ids[..1], false))?;
                s.set_profiling(true);
                let mut steps = vec![];
                for _ in 0..n_gen.min(3) {
                    block_on(s.decode(None, false))?;
                    steps.push(s.last_profile().unwrap_or_default().to_vec());
                }
                s.set_profiling(false);
                r.kernels = kernel_times(&steps);
            }
            rows.push(r);
        }
    }
    // the weights as the GPU holds them (texture padding included), the cache and workspaces
    let peak = model.gpu_bytes() + s.peak_bytes();
    rows.iter_mut().for_each(|r| r.peak_gpu_bytes = peak);
    if a.output == "json" {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print_table(&rows);
    }
    Ok(())
}
