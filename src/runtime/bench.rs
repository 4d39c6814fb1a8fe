//! The timed loops of `llama4-wgpu bench` and of the browser page's benchmark, in llama-bench's
//! terms: a ppN test times `reps` prefills of N prompt tokens, a tgN test `reps` runs of N decode
//! steps after one untimed token, each after `depth` positions skipped in the KV cache. Every
//! step ends with its sampled id read back, so a clock stops only when the GPU has finished. The
//! clock is `web_time` (`Instant` natively, `performance.now()` in a page).

use super::Session;
use crate::error::Result;
use web_time::Instant;

/// One test's samples in llama-bench's `-o json` fields.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Timing {
    pub n_prompt: usize,
    pub n_gen: usize,
    pub n_depth: usize,
    pub avg_ns: f64,
    pub stddev_ns: f64,
    pub avg_ts: f64,
    pub stddev_ts: f64,
    pub samples_ns: Vec<f64>,
    pub samples_ts: Vec<f64>,
}

/// Mean and sample standard deviation (0 for one sample).
fn mean_std(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = if x.len() > 1 { x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (mean, var.sqrt())
}

impl Timing {
    /// The statistics of `samples_ns`, each the time of `n_prompt + n_gen` tokens.
    pub fn new(n_prompt: usize, n_gen: usize, n_depth: usize, samples_ns: Vec<f64>) -> Self {
        let tokens = (n_prompt + n_gen) as f64;
        let samples_ts: Vec<f64> = samples_ns.iter().map(|ns| tokens * 1e9 / ns).collect();
        let (avg_ns, stddev_ns) = mean_std(&samples_ns);
        let (avg_ts, stddev_ts) = mean_std(&samples_ts);
        Timing { n_prompt, n_gen, n_depth, avg_ns, stddev_ns, avg_ts, stddev_ts, samples_ns, samples_ts }
    }

    /// llama-bench's test name: `pp512`, `tg128`, with `@ d4096` at a depth.
    pub fn name(&self) -> String {
        test_name(self.n_prompt, self.n_gen, self.n_depth)
    }
}

/// llama-bench's name of a test of `n_prompt` prefill or `n_gen` decode tokens at `n_depth`.
pub fn test_name(n_prompt: usize, n_gen: usize, n_depth: usize) -> String {
    let t = if n_gen > 0 { format!("tg{n_gen}") } else { format!("pp{n_prompt}") };
    if n_depth > 0 {
        format!("{t} @ d{n_depth}")
    } else {
        t
    }
}

/// `n` prompt ids spread over a vocabulary of `vocab` (the same ones on every run).
pub fn prompt_ids(n: usize, vocab: usize) -> Vec<u32> {
    (0..n as u64).map(|i| ((i * 7919 + 13) % vocab.max(1) as u64) as u32).collect()
}

/// An empty cache, then `depth` positions skipped.
pub fn at_depth(s: &mut Session, depth: usize) -> Result<()> {
    s.rewind(0);
    s.skip(depth)
}

/// Compiles every pipeline of both step shapes (a prompt's and one token's) before any clock
/// starts: one untimed prefill of `ids` and one decode step.
pub async fn warm_up(s: &mut Session, ids: &[u32]) -> Result<()> {
    at_depth(s, 0)?;
    s.prefill(ids, false).await?;
    s.decode(None, false).await?;
    Ok(())
}

/// ppN: `reps` prefills of `ids`, each after `depth` positions.
pub async fn prefill(s: &mut Session, ids: &[u32], depth: usize, reps: usize) -> Result<Timing> {
    let mut samples = vec![];
    for _ in 0..reps {
        at_depth(s, depth)?;
        let t = Instant::now();
        s.prefill(ids, false).await?;
        samples.push(t.elapsed().as_nanos() as f64);
    }
    Ok(Timing::new(ids.len(), 0, depth, samples))
}

/// tgN: `reps` runs of `n_gen` decode steps, each after `depth` positions and one untimed token
/// (`first`), as llama-bench's tg.
pub async fn decode(s: &mut Session, first: u32, n_gen: usize, depth: usize, reps: usize) -> Result<Timing> {
    let mut samples = vec![];
    for _ in 0..reps {
        at_depth(s, depth)?;
        s.prefill(&[first], false).await?;
        let t = Instant::now();
        s.decode_stream(n_gen, |_| true).await?;
        samples.push(t.elapsed().as_nanos() as f64);
    }
    Ok(Timing::new(0, n_gen, depth, samples))
}
