//! `llama4-wgpu bench`: prefill and decode speed in llama-bench's terms (`-p`, `-n`, `-r`, `-o json`
//! with `n_prompt`, `n_gen`, `avg_ts`, `stddev_ts`, `samples_ts`), on a model or on random weights
//! at real Llama 4 shapes (`--synthetic scout|maverick|tiny`). Every pipeline of both step shapes
//! is compiled by a warm-up run before any clock starts, and every timed step ends with the
//! sampled id read back, so the clock stops only when the GPU has finished.

use crate::generate::{open_gpu, GpuArgs};
use anyhow::{bail, Result};
use llama4_wgpu::gpu::DispatchTime;
use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::loader::synthetic::{self, Synthetic};
use llama4_wgpu::loader::TensorSource;
use llama4_wgpu::model::{KvCache, LoadOptions, TextModel};
use llama4_wgpu::runtime::{ModelFiles, Session};
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
    /// Prompt tokens of the prefill test (ppN); 0 skips it.
    #[arg(short = 'p', long = "n-prompt", default_value_t = 512)]
    n_prompt: usize,
    /// Generated tokens of the decode test (tgN); 0 skips it.
    #[arg(short = 'n', long = "n-gen", default_value_t = 128)]
    n_gen: usize,
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
    /// Skip the per-kernel GPU times (one extra timed-dispatch run of each test's step).
    #[arg(long)]
    no_profile: bool,
    #[command(flatten)]
    gpu: GpuArgs,
}

/// One kernel's share of a step, from timestamp queries.
#[derive(serde::Serialize)]
struct KernelTime {
    kernel: String,
    /// Dispatches of this kernel in one step.
    calls: usize,
    /// GPU time of those dispatches in one step.
    gpu_ns: f64,
}

/// Sums `steps` profiled steps' dispatch times by kernel, per step, largest first.
fn kernel_times(steps: &[Vec<DispatchTime>]) -> Vec<KernelTime> {
    let mut out: Vec<KernelTime> = vec![];
    for d in steps.first().into_iter().flatten() {
        match out.iter_mut().find(|k| k.kernel == d.kernel) {
            Some(k) => k.calls += 1,
            None => out.push(KernelTime { kernel: d.kernel.clone(), calls: 1, gpu_ns: 0.0 }),
        }
    }
    for d in steps.iter().flatten() {
        if let Some(k) = out.iter_mut().find(|k| k.kernel == d.kernel) {
            k.gpu_ns += d.ns / steps.len() as f64;
        }
    }
    out.sort_by(|a, b| b.gpu_ns.total_cmp(&a.gpu_ns));
    out
}

/// One test's samples, in llama-bench's fields plus what this runtime adds.
#[derive(serde::Serialize)]
struct TestResult {
    model: String,
    model_size: u64,
    backend: String,
    adapter: String,
    n_prompt: usize,
    n_gen: usize,
    n_depth: usize,
    avg_ns: f64,
    stddev_ns: f64,
    avg_ts: f64,
    stddev_ts: f64,
    samples_ns: Vec<f64>,
    samples_ts: Vec<f64>,
    /// Prefill: the time to the first token (the prompt's prefill and its sampled id), ms.
    ttft_ms: Option<f64>,
    /// Decode: GPU dispatches one step records (all in one submit).
    dispatches_per_token: Option<usize>,
    kv_bytes: u64,
    /// The most bytes of GPU buffers held at once: weights, KV cache, workspaces.
    peak_gpu_bytes: u64,
    /// One step's GPU time by kernel (timestamp queries, each dispatch in its own pass); empty
    /// where the adapter has none or with --no-profile.
    kernels: Vec<KernelTime>,
}

fn mean_std(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = if x.len() > 1 { x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (mean, var.sqrt())
}

impl TestResult {
    fn new(base: &Base, n_prompt: usize, n_gen: usize, n_depth: usize, samples_ns: Vec<f64>) -> Self {
        let tokens = (n_prompt + n_gen) as f64;
        let samples_ts: Vec<f64> = samples_ns.iter().map(|ns| tokens * 1e9 / ns).collect();
        let (avg_ns, stddev_ns) = mean_std(&samples_ns);
        let (avg_ts, stddev_ts) = mean_std(&samples_ts);
        TestResult {
            model: base.model.clone(),
            model_size: base.model_size,
            backend: base.backend.clone(),
            adapter: base.adapter.clone(),
            n_prompt,
            n_gen,
            n_depth,
            avg_ns,
            stddev_ns,
            avg_ts,
            stddev_ts,
            samples_ns,
            samples_ts,
            ttft_ms: None,
            dispatches_per_token: None,
            kv_bytes: base.kv_bytes,
            peak_gpu_bytes: 0,
            kernels: vec![],
        }
    }
}

/// What every row shares.
struct Base {
    model: String,
    model_size: u64,
    backend: String,
    adapter: String,
    kv_bytes: u64,
}

pub fn bench(a: BenchArgs) -> Result<()> {
    if a.reps == 0 {
        bail!("-r must be at least 1");
    }
    if a.n_prompt == 0 && a.n_gen == 0 {
        bail!("nothing to measure: -p and -n are both 0");
    }
    let (cfg, source, name): (TextConfig, Box<dyn TensorSource>, String) = match (&a.model, &a.synthetic) {
        (_, Some(preset)) => {
            let cfg = synthetic::preset(preset, a.layers)?;
            let name = format!("synthetic {preset} {}L bf16", cfg.num_hidden_layers);
            let source = Box::new(Synthetic::new(&cfg, preset));
            (cfg, source, name)
        }
        (Some(path), None) => {
            if a.layers.is_some() {
                bail!("--layers goes with --synthetic");
            }
            let files = ModelFiles::open(path)?;
            (files.cfg, files.tensors, path.display().to_string())
        }
        (None, None) => bail!("give --model PATH or --synthetic NAME"),
    };
    let ctx = open_gpu(&a.gpu)?;
    let opts = LoadOptions { quantize: a.gpu.quantize, dtype: a.gpu.dtype };
    let t = Instant::now();
    let model = TextModel::load_with(&ctx, &cfg, source.as_ref(), &opts, |_| {})?;
    drop(source);
    eprintln!("loaded {name} in {:.1} s: {} MiB of weights", t.elapsed().as_secs_f64(), model.weight_bytes() >> 20);
    let max_context = a.depths.iter().max().unwrap_or(&0) + a.n_prompt.max(1) + a.n_gen + 1;
    let base = Base {
        model: name + &a.gpu.quantize.map(|q| format!(" -> {}", q.name())).unwrap_or_default(),
        model_size: model.weight_bytes(),
        backend: format!("{:?}", ctx.info.backend),
        adapter: ctx.info.name.clone(),
        kv_bytes: KvCache::bytes(&cfg, max_context, a.gpu.dtype),
    };
    let ids: Vec<u32> = (0..a.n_prompt.max(1) as u32).map(|i| (i * 7919 + 13) % cfg.vocab_size as u32).collect();
    let mut s = Session::new(&ctx, &model, max_context, SamplerConfig::default())?;
    // Warm-up: both step shapes (the prompt's and one token's) compile every pipeline.
    block_on(s.prefill(&ids, false))?;
    block_on(s.decode(None, false))?;

    let profile = !a.no_profile && ctx.features.contains(wgpu::Features::TIMESTAMP_QUERY);
    if !a.no_profile && !profile {
        eprintln!("no per-kernel times: `{}` has no timestamp queries", ctx.info.name);
    }
    let mut rows = vec![];
    for (i, &depth) in a.depths.iter().enumerate() {
        let profile = profile && i == 0;
        if a.n_prompt > 0 {
            let mut samples = vec![];
            for _ in 0..a.reps {
                at_depth(&mut s, depth)?;
                let t = Instant::now();
                block_on(s.prefill(&ids, false))?;
                samples.push(t.elapsed().as_nanos() as f64);
            }
            let mut r = TestResult::new(&base, a.n_prompt, 0, depth, samples);
            r.ttft_ms = Some(r.avg_ns / 1e6);
            if profile {
                at_depth(&mut s, depth)?;
                s.set_profiling(true);
                block_on(s.prefill(&ids, false))?;
                s.set_profiling(false);
                r.kernels = kernel_times(&[s.last_profile().unwrap_or_default().to_vec()]);
            }
            rows.push(r);
        }
        if a.n_gen > 0 {
            let mut samples = vec![];
            for _ in 0..a.reps {
                // as llama-bench's tg: one untimed token, then n_gen steps
                at_depth(&mut s, depth)?;
                block_on(s.prefill(&ids[..1], false))?;
                let t = Instant::now();
                for _ in 0..a.n_gen {
                    block_on(s.decode(None, false))?;
                }
                samples.push(t.elapsed().as_nanos() as f64);
            }
            let mut r = TestResult::new(&base, 0, a.n_gen, depth, samples);
            r.dispatches_per_token = s.decode_dispatches();
            if profile {
                at_depth(&mut s, depth)?;
                block_on(s.prefill(&ids[..1], false))?;
                s.set_profiling(true);
                let mut steps = vec![];
                for _ in 0..a.n_gen.min(3) {
                    block_on(s.decode(None, false))?;
                    steps.push(s.last_profile().unwrap_or_default().to_vec());
                }
                s.set_profiling(false);
                r.kernels = kernel_times(&steps);
            }
            rows.push(r);
        }
    }
    let peak = model.weight_bytes() + s.peak_bytes();
    rows.iter_mut().for_each(|r| r.peak_gpu_bytes = peak);
    if a.output == "json" {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print_table(&rows);
    }
    Ok(())
}

/// An empty cache, then `depth` positions skipped.
fn at_depth(s: &mut Session, depth: usize) -> Result<()> {
    s.rewind(0);
    s.skip(depth)?;
    Ok(())
}

/// llama-bench's test names: `pp512`, `tg128`, `tg128 @ d4096`.
fn test_name(r: &TestResult) -> String {
    let test = if r.n_gen == 0 { format!("pp{}", r.n_prompt) } else { format!("tg{}", r.n_gen) };
    if r.n_depth > 0 {
        format!("{test} @ d{}", r.n_depth)
    } else {
        test
    }
}

fn print_table(rows: &[TestResult]) {
    println!("| model | size | backend | adapter | test | t/s | TTFT ms | dispatches/token | peak GPU MiB |");
    println!("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        let test = test_name(r);
        let opt = |v: Option<String>| v.unwrap_or_default();
        println!(
            "| {} | {:.2} MiB | {} | {} | {test} | {:.2} ± {:.2} | {} | {} | {:.1} |",
            r.model,
            r.model_size as f64 / 1048576.0,
            r.backend,
            r.adapter,
            r.avg_ts,
            r.stddev_ts,
            opt(r.ttft_ms.map(|t| format!("{t:.1}"))),
            opt(r.dispatches_per_token.map(|d| d.to_string())),
            r.peak_gpu_bytes as f64 / 1048576.0,
        );
    }
    for r in rows.iter().filter(|r| !r.kernels.is_empty()) {
        let test = if r.n_gen == 0 { test_name(r) } else { format!("{} (one step)", test_name(r)) };
        let total: f64 = r.kernels.iter().map(|k| k.gpu_ns).sum();
        println!("\nGPU time by kernel, {test}: {:.2} ms in all (timestamp queries)\n", total / 1e6);
        println!("| kernel | calls | GPU ms | share | µs per call |");
        println!("| --- | ---: | ---: | ---: | ---: |");
        for k in &r.kernels {
            println!(
                "| {} | {} | {:.3} | {:.1}% | {:.1} |",
                k.kernel,
                k.calls,
                k.gpu_ns / 1e6,
                100.0 * k.gpu_ns / total,
                k.gpu_ns / 1e3 / k.calls as f64
            );
        }
    }
}
