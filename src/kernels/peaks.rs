//! The adapter's own ceilings, measured with two microkernels (shaders/bench): stream-copy
//! bandwidth and the f32 multiply-add rate. `bench` reports each test's achieved bandwidth and
//! FLOP rate against them. Timing is the caller's clock (natively `Instant`, in a page
//! `performance.now`): the library stays free of clocks that a browser lacks.

use super::div_ceil;
use super::params::{fit, PeakParams};
use crate::error::Result;
use crate::gpu::buffers::read_words;
use crate::gpu::{Activation, GpuContext, Plan, Recorder, Shader, Variant};

/// Measured ceilings of one adapter.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Peaks {
    /// Stream copy: bytes read plus bytes written, GB/s.
    pub copy_gbps: f64,
    /// Register multiply-adds: f32 FLOP/s (2 per multiply-add), in GFLOP/s.
    pub fma_gflops: f64,
}

/// Largest copy buffer: far past any cache (50 MB of L2 on an H100), small enough for a browser.
const COPY_BYTES: u64 = 256 << 20;
/// Invocations of both kernels: enough to fill the largest GPUs many times over.
const GRID: usize = 4096 * 256;
/// A timed submit lasts at least this long (s), so the submit and readback around it (tens of
/// microseconds) stay under 1% of it.
const MIN_SECONDS: f64 = 0.02;
/// Timed submits of each kernel: at least [`TRIALS`], and on for [`SPIN_UP`] seconds in all, the
/// fastest counting. A GPU idle through a long model load sits at its lowest clocks (an H100 at
/// 345 MHz against 1980 under load) and takes a while to raise them.
const TRIALS: usize = 3;
const SPIN_UP: f64 = 1.0;

/// Measures both peaks. Each kernel runs once untimed (pipeline compile, first touch, and the
/// dispatches per submit that last [`MIN_SECONDS`]), then [`TRIALS`] submits are timed with
/// `now` (seconds) and the fastest counts.
pub async fn measure(ctx: &GpuContext, now: &dyn Fn() -> f64) -> Result<Peaks> {
    let bytes = COPY_BYTES.min(ctx.split_limit) & !15;
    let floats = (bytes / 4) as usize;
    // random data: some GPUs compress zeros in their caches
    let src = Activation::from_f32(ctx, "peak src", &crate::conformance::data::rand_vec(floats, 0x9eaf))?;
    let dst = Activation::new(ctx, "peak dst", floats)?;
    let n = floats / 4;
    let copy = PeakParams { n: fit(n)?, iters: 0, stride: fit(GRID.min(n.next_multiple_of(256)))? };
    // a CPU adapter runs about a thousandth of a GPU's multiply-adds: fewer, or the bench waits
    let fma = PeakParams { n: fit(n)?, iters: if ctx.is_cpu() { 16 } else { 1024 }, stride: fit(GRID)? };
    let (reps, copy_s) = fastest(ctx, Shader::PeakCopy, &copy, &src, &dst, now).await?;
    let copied = (reps as u64 * 2 * n as u64 * 16) as f64;
    let (reps, fma_s) = fastest(ctx, Shader::PeakFma, &fma, &src, &dst, now).await?;
    let flops = (reps * GRID) as f64 * fma.iters as f64 * 64.0;
    Ok(Peaks { copy_gbps: copied / copy_s / 1e9, fma_gflops: flops / fma_s / 1e9 })
}

/// (dispatches per submit, the fastest timed submit's seconds) of kernel `s`.
async fn fastest(
    ctx: &GpuContext,
    s: Shader,
    p: &PeakParams,
    src: &Activation,
    dst: &Activation,
    now: &dyn Fn() -> f64,
) -> Result<(usize, f64)> {
    let one = plan(ctx, s, p, src, dst, 1)?;
    time(ctx, &one, dst, now).await?; // compile and first touch
    let single = time(ctx, &one, dst, now).await?;
    let reps = ((MIN_SECONDS / single).ceil() as usize).clamp(1, 256);
    let many = plan(ctx, s, p, src, dst, reps)?;
    let (start, mut best, mut trials) = (now(), f64::MAX, 0);
    while trials < TRIALS || (now() - start < SPIN_UP && trials < 200) {
        best = best.min(time(ctx, &many, dst, now).await?);
        trials += 1;
    }
    Ok((reps, best))
}

fn plan(ctx: &GpuContext, s: Shader, p: &PeakParams, src: &Activation, dst: &Activation, reps: usize) -> Result<Plan> {
    let mut rec = Recorder::new(ctx);
    let key = super::key(Variant::new(s));
    for _ in 0..reps {
        rec.dispatch(&key, p, &[&src.buffer, &dst.buffer], [div_ceil(p.stride as usize, 256), 1, 1])?;
    }
    Ok(rec.finish())
}

/// Seconds one submit of `plan` takes; the clock stops when a word of `dst` is back.
async fn time(ctx: &GpuContext, plan: &Plan, dst: &Activation, now: &dyn Fn() -> f64) -> Result<f64> {
    let t = now();
    ctx.scoped("the peak microkernels", || {
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        plan.encode(&mut enc);
        ctx.queue.submit([enc.finish()]);
        Ok(())
    })?;
    read_words(ctx, &dst.buffer, 0, 1).await?;
    let s = now() - t;
    Ok(s.max(1e-9))
}
