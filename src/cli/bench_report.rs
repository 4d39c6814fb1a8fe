//! What `bench` reports: one row per test in llama-bench's fields plus this runtime's (time to
//! first token, dispatches, peak memory, per-kernel time, achieved bandwidth and FLOP rate
//! against the adapter's measured peaks), as a table or as JSON.

use llama4_wgpu::gpu::DispatchTime;
use llama4_wgpu::kernels::peaks::Peaks;
use llama4_wgpu::model::{Dtype, KvCache, TextModel};
use llama4_wgpu::runtime::bench::Timing;
use llama4_wgpu::TextConfig;

/// What the model's steps read and compute, from its shapes: the numerators of the achieved
/// rates.
pub struct Work {
    cfg: TextConfig,
    dtype: Dtype,
    /// Per token, the decoder layers (routed experts: only the chosen ones): weight bytes read
    /// and multiply-adds.
    layers: (u64, u64),
    /// Once per step (one row of logits): the LM head's bytes and multiply-adds.
    head: (u64, u64),
}

impl Work {
    pub fn new(model: &TextModel) -> Self {
        let h = &model.lm_head;
        Work {
            cfg: model.cfg.clone(),
            dtype: model.dtype,
            layers: model.token_work(),
            head: (h.bytes(), (h.rows * h.cols) as u64),
        }
    }

    /// GB/s of a decode test: `n_gen` steps after `depth` positions (the first at depth + 1),
    /// each reading the layers' weights, the head and the cache its attention sees.
    pub fn decode_gbps(&self, depth: usize, n_gen: usize, ns: f64) -> f64 {
        let kv: u64 = (depth + 1..=depth + n_gen).map(|pos| KvCache::token_reads(&self.cfg, pos, self.dtype).1).sum();
        ((self.layers.0 + self.head.0) * n_gen as u64 + kv) as f64 / ns
    }

    /// GFLOP/s of a prefill test: the matmuls of `n_prompt` tokens and one row of logits, and
    /// attention (q.k and p.v: 4 nh d FLOPs a position read).
    pub fn prefill_gflops(&self, depth: usize, n_prompt: usize, ns: f64) -> f64 {
        let c = &self.cfg;
        let seen: u64 = (depth..depth + n_prompt).map(|pos| KvCache::token_reads(c, pos, self.dtype).0).sum();
        let attn = 4 * (c.num_attention_heads * c.head_dim) as u64 * seen;
        (2 * (self.layers.1 * n_prompt as u64 + self.head.1) + attn) as f64 / ns
    }
}

/// One kernel's share of a step, from timestamp queries.
#[derive(serde::Serialize)]
pub struct KernelTime {
    kernel: String,
    /// Dispatches of this kernel in one step.
    calls: usize,
    /// GPU time of those dispatches in one step.
    gpu_ns: f64,
}

/// Sums `steps` profiled steps' dispatch times by kernel, per step, largest first.
pub fn kernel_times(steps: &[Vec<DispatchTime>]) -> Vec<KernelTime> {
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
pub struct TestResult {
    pub model: String,
    pub model_size: u64,
    pub backend: String,
    pub adapter: String,
    /// n_prompt, n_gen, n_depth, avg_ns, stddev_ns, avg_ts, stddev_ts, samples_ns, samples_ts
    #[serde(flatten)]
    pub timing: Timing,
    /// Prefill: the time to the first token (the prompt's prefill and its sampled id), ms.
    pub ttft_ms: Option<f64>,
    /// Decode: GPU dispatches one step records (all in one submit).
    pub dispatches_per_token: Option<usize>,
    pub kv_bytes: u64,
    /// The most bytes of GPU buffers held at once: weights, KV cache, workspaces.
    pub peak_gpu_bytes: u64,
    /// One step's GPU time by kernel (timestamp queries, each dispatch in its own pass); empty
    /// where the adapter has none or with --no-profile.
    pub kernels: Vec<KernelTime>,
    /// Decode: weight and KV-cache bytes the steps read, per second, GB/s.
    pub achieved_gbps: Option<f64>,
    /// Prefill: matmul and attention FLOPs per second, GFLOP/s.
    pub achieved_gflops: Option<f64>,
    /// The adapter's stream-copy bandwidth (read + write) and f32 multiply-add rate, measured by
    /// `bench`'s microkernels.
    pub peaks: Option<Peaks>,
}

impl TestResult {
    pub fn new(base: &Base, timing: Timing) -> Self {
        TestResult {
            model: base.model.clone(),
            model_size: base.model_size,
            backend: base.backend.clone(),
            adapter: base.adapter.clone(),
            timing,
            ttft_ms: None,
            dispatches_per_token: None,
            kv_bytes: base.kv_bytes,
            peak_gpu_bytes: 0,
            kernels: vec![],
            achieved_gbps: None,
            achieved_gflops: None,
            peaks: base.peaks,
        }
    }
}

/// What every row shares.
pub struct Base {
    pub model: String,
    pub model_size: u64,
    pub backend: String,
    pub adapter: String,
    pub kv_bytes: u64,
    pub peaks: Option<Peaks>,
}

/// `812.3 GB/s (27% of copy)` or `1520.0 GFLOP/s (3% of fma)`.
fn achieved(r: &TestResult) -> String {
    let share = |v: f64, peak: Option<f64>, of: &str| match peak {
        Some(p) if p > 0.0 => format!(" ({:.0}% of {of})", 100.0 * v / p),
        _ => String::new(),
    };
    match (r.achieved_gbps, r.achieved_gflops) {
        (Some(g), _) => format!("{g:.1} GB/s{}", share(g, r.peaks.map(|p| p.copy_gbps), "copy")),
        (_, Some(f)) => format!("{f:.1} GFLOP/s{}", share(f, r.peaks.map(|p| p.fma_gflops), "fma")),
        _ => String::new(),
    }
}

pub fn print_table(rows: &[TestResult]) {
    if let Some(p) = rows.first().and_then(|r| r.peaks) {
        println!("adapter peaks (bench microkernels): stream copy {:.1} GB/s (read + write), f32 multiply-add {:.1} GFLOP/s\n", p.copy_gbps, p.fma_gflops);
    }
    println!(
        "| model | size | backend | adapter | test | t/s | TTFT ms | dispatches/token | peak GPU MiB | achieved |"
    );
    println!("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        let test = r.timing.name();
        let opt = |v: Option<String>| v.unwrap_or_default();
        println!(
            "| {} | {:.2} MiB | {} | {} | {test} | {:.2} ± {:.2} | {} | {} | {:.1} | {} |",
            r.model,
            r.model_size as f64 / 1048576.0,
            r.backend,
            r.adapter,
            r.timing.avg_ts,
            r.timing.stddev_ts,
            opt(r.ttft_ms.map(|t| format!("{t:.1}"))),
            opt(r.dispatches_per_token.map(|d| d.to_string())),
            r.peak_gpu_bytes as f64 / 1048576.0,
            achieved(r),
        );
    }
    for r in rows.iter().filter(|r| !r.kernels.is_empty()) {
        let name = r.timing.name();
        let test = if r.timing.n_gen == 0 { name } else { format!("{name} (one step)") };
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
