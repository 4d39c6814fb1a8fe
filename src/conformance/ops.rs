//! The kernels around the matmuls: norms, SwiGLU, Q/K preparation, attention with its KV cache,
//! and the sampler (the MoE ones are in `moe.rs`).

use super::data::{mismatches, rand_vec, rel_err};
use super::{read, reduction, submit, Checks, F16_MATH_TOL};
use crate::error::Result;
use crate::gpu::buffers::{read_words, uniform_windows};
use crate::gpu::{Activation, GpuContext, Recorder};
use crate::kernels::{self, AttentionPlan, AttentionScratch, AttentionShape, SamplerConfig};
use crate::reference::ops;

const TOL: f64 = 1e-5;

fn step_buffer(ctx: &GpuContext, past: u32, n: u32, counter: u32) -> wgpu::Buffer {
    use wgpu::util::DeviceExt;
    ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("conformance step"),
        contents: bytemuck::cast_slice(&[past, n, counter, 0]),
        usage: wgpu::BufferUsages::UNIFORM,
    })
}

/// rmsnorm and qk_prep take 8-lane workgroups on CPU adapters (ROW_LANE).
fn narrow(ctx: &GpuContext) -> &'static str {
    if ctx.row_lane_matmul {
        "8 lanes, "
    } else {
        ""
    }
}

/// The kernels that sum across a workgroup (subgroup or workgroup-memory variants).
pub async fn reductions(ctx: &GpuContext, checks: &mut Checks<'_>) {
    let r = format!("{}{}", narrow(ctx), reduction(ctx));
    // rows of a multiple of 4 are read as vec4
    checks.run("rmsnorm", format!("weighted, vec4, {r}"), "300 x rows 2..5", TOL, rmsnorm(ctx, 300)).await;
    checks.run("rmsnorm", format!("weighted, {r}"), "1030 x rows 2..5", TOL, rmsnorm(ctx, 1030)).await;
    qk_prep(ctx, checks).await;
    sampler(ctx, checks).await;
}

pub async fn elementwise(ctx: &GpuContext, checks: &mut Checks<'_>) {
    checks.run("swiglu", "f32", "3x150", TOL, swiglu(ctx)).await;
}

/// `n` columns (more than the 256 threads: 300, or 1030 read as f32, over 4 per thread), rows
/// 2..5 of 5.
async fn rmsnorm(ctx: &GpuContext, n: usize) -> Result<f64> {
    let rows = 5;
    let (x, w) = (rand_vec(rows * n, 9), rand_vec(n, 10));
    let (xa, wa) = (Activation::from_f32(ctx, "x", &x)?, Activation::from_f32(ctx, "w", &w)?);
    let out = Activation::new(ctx, "out", 3 * n)?;
    let mut rec = Recorder::new(ctx);
    kernels::rmsnorm(&mut rec, &xa, &wa, &out, 2..5, n, 1e-5)?;
    submit(ctx, rec)?;
    Ok(rel_err(&read(ctx, &out).await?, &ops::rmsnorm(&x[2 * n..], Some(&w), n, 1e-5)))
}

async fn swiglu(ctx: &GpuContext) -> Result<f64> {
    let gu = rand_vec(3 * 300, 11);
    let (gua, act) = (Activation::from_f32(ctx, "gu", &gu)?, Activation::new(ctx, "act", 3 * 150)?);
    let mut rec = Recorder::new(ctx);
    kernels::swiglu(&mut rec, &gua, &act, 3, 150)?;
    submit(ctx, rec)?;
    Ok(rel_err(&read(ctx, &act).await?, &ops::swiglu(&gu, 150)))
}

async fn qk_prep(ctx: &GpuContext, checks: &mut Checks<'_>) {
    // (tokens, q heads, kv heads, head_dim): small; 80 pairs, more than the 64 lanes
    for (t, nh, nkv, d) in [(4, 3, 2, 20), (3, 2, 1, 160)] {
        for (rope, norm, temp) in [(true, true, false), (true, false, false), (false, false, true)] {
            let v = match (rope, norm) {
                (true, true) => "rope + qk-norm",
                (true, false) => "rope",
                _ => "nope + temperature",
            };
            let shape = format!("T={t} heads {nh}/{nkv} d={d}");
            let v = format!("{v}, {}", reduction(ctx));
            checks.run("qk_prep", v, shape, TOL, qk_case(ctx, t, nh, nkv, d, rope, norm, temp)).await;
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn qk_case(
    ctx: &GpuContext,
    t: usize,
    nh: usize,
    nkv: usize,
    d: usize,
    rope: bool,
    norm: bool,
    temp: bool,
) -> Result<f64> {
    let s = AttentionShape { nh, nkv, d, cap: 8, chunk: 8, kv_f16: false };
    let width = s.width();
    let qkv = rand_vec(t * width, 15);
    let inv_freq: Vec<f32> = (0..d / 2).map(|j| 1.0 / 10000f32.powf(2.0 * j as f32 / d as f32)).collect();
    let past = 5;
    let table: Vec<f32> = (0..t).flat_map(|i| ops::rope_table(&inv_freq, past + i)).collect();
    let temps: Vec<f32> = (0..t).map(|i| 1.0 + 0.1 * i as f32).collect();
    let a = Activation::from_f32(ctx, "qkv", &qkv)?;
    let (ta, tm) = (Activation::from_f32(ctx, "table", &table)?, Activation::from_f32(ctx, "temps", &temps)?);
    let mut rec = Recorder::new(ctx);
    kernels::qk_prep(&mut rec, s, &a, &ta, &tm, t, rope, norm, temp, 1e-5)?;
    submit(ctx, rec)?;
    let mut want = qkv.clone();
    for ti in 0..t {
        for head in 0..nh + nkv {
            let v = &mut want[ti * width + head * d..ti * width + (head + 1) * d];
            if rope {
                ops::rope_interleaved(v, &table[ti * d..(ti + 1) * d]);
                if norm {
                    let n = ops::rmsnorm(v, None, d, 1e-5);
                    v.copy_from_slice(&n);
                }
            } else if head < nh {
                v.iter_mut().for_each(|x| *x *= temps[ti]);
            }
        }
    }
    Ok(rel_err(&read(ctx, &a).await?, &want))
}

/// Attention with its KV store, with the cache in f32 and/or f16 (`kv_f16`), in every layout
/// (see [`AttentionPlan`]) wherever the adapter can run it.
pub async fn attention(ctx: &GpuContext, kv_f16: &[bool], checks: &mut Checks<'_>) {
    // (nh, nkv, d, past, T, chunk, layout), layout 0: direct, 1: windows, n > 1: n SPLIT slices.
    // Direct: small heads with several chunks in one batch; then head_dim 136 (three dims per
    // lane, the last ragged) with more than one 64-key tile per query. SPLIT (flash-decoding): a
    // decode row over three slices of two tiles and an empty fourth, a chunk's keys in three
    // slices, a batch whose slices are mostly empty, and the most splits (32 slices of two
    // tiles, 17 of them used). Windows (a lane per query): a ragged last tile over chunks and
    // cached keys; head_dim 256 (64-key windows) over three windows of an empty cache, and over
    // 64-key chunks that cross windows after 40 cached keys; head_dim 136 (120-key windows, D4
    // ragged) after 70 cached keys.
    let cases = [
        (6, 2, 20, 7, 9, 5, 0),
        (6, 2, 20, 7, 9, 0, 0),
        (4, 4, 136, 70, 5, 50, 0),
        (4, 4, 136, 70, 5, 0, 0),
        (4, 2, 64, 300, 1, 0, 4),
        (4, 2, 64, 300, 2, 160, 3),
        (4, 4, 136, 70, 5, 0, 3),
        (2, 1, 32, 2100, 1, 0, 32),
        (6, 2, 20, 7, 9, 5, 1),
        (4, 2, 256, 0, 150, 0, 1),
        (4, 2, 256, 40, 100, 64, 1),
        (4, 4, 136, 70, 130, 0, 1),
    ];
    for &half in kv_f16 {
        for (nh, nkv, d, past, t, chunk, layout) in cases {
            let s =
                AttentionShape { nh, nkv, d, cap: if chunk > 0 { chunk } else { past + t + 3 }, chunk, kv_f16: half };
            let plan = match layout {
                0 => AttentionPlan::Direct,
                // f32 math on any cache: an f16 cache's cases run where the f16 math does not
                // (on the Packed device where the adapter has shader-f16)
                1 if !uniform_windows(ctx) || (half && ctx.shader_f16) => continue,
                1 => AttentionPlan::windows(s, t).expect("the window cases fit"),
                n => AttentionPlan::Split(n),
            };
            let mut v = if chunk > 0 { format!("chunked {chunk}") } else { "global".into() };
            match plan {
                AttentionPlan::Direct => {}
                AttentionPlan::Split(n) => v += &format!(", split {n}"),
                AttentionPlan::Windows { n, .. } => v += &format!(", windows {n}"),
            }
            let tol = match (half, ctx.shader_f16) {
                (false, _) => TOL,
                (true, false) => {
                    v += ", f16 cache";
                    TOL
                }
                (true, true) => {
                    v += ", f16 cache, f16 math";
                    F16_MATH_TOL
                }
            };
            let shape = format!("past {past} + T={t} heads {nh}/{nkv} d={d}");
            let (out, cache) =
                attention_case(ctx, s, past, t, plan).await.map_or_else(|e| (Err(e), None), |(o, c)| (Ok(o), Some(c)));
            checks.run("attention", v.clone(), shape.clone(), tol, async { out }).await;
            let cache = cache.ok_or_else(|| crate::Error::Gpu("the attention case did not run".into()));
            checks.run("kv_store", v, shape, 0.0, async { cache }).await;
        }
    }
}

/// The values an f16 cache holds for `x`.
fn to_f16(x: &[f32]) -> Vec<f32> {
    x.iter().map(|&v| half::f16::from_f32(v).to_f32()).collect()
}

/// f32 values as an f16 cache buffer's words (two halves per word).
fn pack_f16(x: &[f32]) -> Vec<u32> {
    x.chunks(2)
        .map(|p| half::f16::from_f32(p[0]).to_bits() as u32 | (half::f16::from_f32(p[1]).to_bits() as u32) << 16)
        .collect()
}

/// One attention step with `past` cached positions and `t` new ones (GQA), then the KV store:
/// (the attention output's error, the cache slots that differ from what later steps need).
async fn attention_case(
    ctx: &GpuContext,
    s: AttentionShape,
    past: usize,
    t: usize,
    plan: AttentionPlan,
) -> Result<(f64, f64)> {
    let AttentionShape { nh, nkv, d, cap, chunk, kv_f16 } = s;
    let total = past + t;
    let (k_all, v_all, q) = (rand_vec(total * nkv * d, 16), rand_vec(total * nkv * d, 17), rand_vec(t * nh * d, 18));
    let (width, row) = (s.width(), nkv * d);
    let mut qkv = vec![0.0; t * width];
    for i in 0..t {
        let (p, r) = ((past + i) * row, i * width);
        qkv[r..r + nh * d].copy_from_slice(&q[i * nh * d..(i + 1) * nh * d]);
        qkv[r + nh * d..r + nh * d + row].copy_from_slice(&k_all[p..p + row]);
        qkv[r + nh * d + row..r + width].copy_from_slice(&v_all[p..p + row]);
    }
    // The cache as earlier steps left it (chunked layers keep only the chunk of past - 1); NaN
    // elsewhere, so reading a stale slot fails.
    let (mut kc, mut vc) = (vec![f32::NAN; cap * row], vec![f32::NAN; cap * row]);
    let keep_from = |n: usize| (n - 1).checked_div(chunk).map_or(0, |c| c * chunk);
    for p in keep_from(past)..past {
        kc[(p % cap) * row..(p % cap + 1) * row].copy_from_slice(&k_all[p * row..(p + 1) * row]);
        vc[(p % cap) * row..(p % cap + 1) * row].copy_from_slice(&v_all[p * row..(p + 1) * row]);
    }
    let qa = Activation::from_f32(ctx, "qkv", &qkv)?;
    let (ka, va) = if kv_f16 {
        (Activation::from_u32(ctx, "k", &pack_f16(&kc))?, Activation::from_u32(ctx, "v", &pack_f16(&vc))?)
    } else {
        (Activation::from_f32(ctx, "k", &kc)?, Activation::from_f32(ctx, "v", &vc)?)
    };
    let out = Activation::new(ctx, "out", t * nh * d)?;
    let step = step_buffer(ctx, past as u32, t as u32, 0);
    let mut rec = Recorder::new(ctx);
    let scratch = AttentionScratch::new(ctx, s, t, plan)?;
    kernels::attention(&mut rec, s, &qa, &ka, &va, &out, &step, t, plan, &scratch)?;
    kernels::kv_store(&mut rec, s, &qa, &ka, &va, &step, t)?;
    submit(ctx, rec)?;
    // What the cache holds: cached positions as f16 when the cache is f16; new ones as computed.
    let stored = |x: &[f32]| if kv_f16 { to_f16(x) } else { x.to_vec() };
    let (mut k_ref, mut v_ref) = (k_all.clone(), v_all.clone());
    k_ref[..past * row].copy_from_slice(&stored(&k_all[..past * row]));
    v_ref[..past * row].copy_from_slice(&stored(&v_all[..past * row]));
    let want = ops::attention(&q, &k_ref, &v_ref, nh, nkv, d, past, chunk);
    let err = rel_err(&read(ctx, &out).await?, &want);
    let cache = |a: Activation| async move {
        let words = read_words(ctx, &a.buffer, 0, a.len).await?;
        Ok::<_, crate::Error>(if kv_f16 {
            words
                .iter()
                .flat_map(|w| [*w as u16, (*w >> 16) as u16])
                .map(|h| half::f16::from_bits(h).to_f32())
                .collect()
        } else {
            words.into_iter().map(f32::from_bits).collect::<Vec<f32>>()
        })
    };
    let (kg, vg) = (cache(ka).await?, cache(va).await?);
    let (k_want, v_want) = (stored(&k_all), stored(&v_all));
    let mut bad = 0.0;
    for p in keep_from(total)..total {
        let slot = (p % cap) * row..(p % cap + 1) * row;
        bad += mismatches(&kg[slot.clone()], &k_want[p * row..(p + 1) * row]);
        bad += mismatches(&vg[slot], &v_want[p * row..(p + 1) * row]);
    }
    Ok((err, bad))
}

async fn sampler(ctx: &GpuContext, checks: &mut Checks<'_>) {
    let cases = [
        SamplerConfig { temperature: 0.0, ..Default::default() },
        SamplerConfig { temperature: 0.8, top_k: 0, top_p: 1.0, seed: 1 },
        SamplerConfig { temperature: 1.3, top_k: 40, top_p: 1.0, seed: 2 },
        SamplerConfig { temperature: 0.7, top_k: 0, top_p: 0.8, seed: 3 },
        SamplerConfig { temperature: 1.0, top_k: 25, top_p: 0.5, seed: 4 },
    ];
    // one argmax slice, and five (the largest logit twice, in the second and fourth: the
    // lower id wins); logits spread over 12 (every token a candidate: one slice's list, or five
    // slices too many to list), over 80 (a fifth of each slice listed), or one far above a flat
    // rest (the candidates hold too little weight for top-p 0.99995)
    let flat = SamplerConfig { temperature: 1.0, top_k: 0, top_p: 0.99995, seed: 5 };
    let spreads =
        [(1000, Spread::Wide(6.0)), (20000, Spread::Wide(6.0)), (20000, Spread::Wide(40.0)), (20000, Spread::Flat)];
    for (vocab, spread) in spreads {
        let run = if spread == Spread::Flat { vec![flat] } else { cases.to_vec() };
        for cfg in run {
            if cfg.greedy() && spread != Spread::Wide(6.0) {
                continue;
            }
            let v = if cfg.greedy() {
                "greedy".to_string()
            } else {
                format!("temp {} top-k {} top-p {}", cfg.temperature, cfg.top_k, cfg.top_p)
            };
            let v = format!("{v}, {}", reduction(ctx));
            let shape = format!("vocab {vocab} {spread:?}, 32 draws");
            checks.run("sample", v, shape, 0.0, sample_case(ctx, cfg, vocab, spread)).await;
        }
    }
}

/// How a sampler case's logits spread.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Spread {
    /// Uniform in +-s.
    Wide(f32),
    /// 18 below the largest (1 at id 7), all the same.
    Flat,
}

/// 32 draws with the CPU reference's random stream: the count of draws where the GPU picked a
/// token the shared uniform draw does not select. A draw may land on the neighbouring token only
/// within rounding (1e-5 of the total mass) of the boundary between their CDF intervals.
async fn sample_case(ctx: &GpuContext, cfg: SamplerConfig, vocab: usize, spread: Spread) -> Result<f64> {
    let mut logits: Vec<f32> = match spread {
        Spread::Wide(s) => rand_vec(vocab, 19).iter().map(|v| v * s).collect(),
        Spread::Flat => (0..vocab).map(|i| if i == 7 { 1.0 } else { -17.0 }).collect(),
    };
    if vocab > 16000 && spread == Spread::Wide(6.0) {
        (logits[15000], logits[5000]) = (7.5, 7.5);
    }
    let la = Activation::from_f32(ctx, "logits", &logits)?;
    let scratch = kernels::SampleScratch::new(ctx, vocab)?;
    let mut bad = 0.0;
    for counter in 0..32u32 {
        let out = Activation::new(ctx, "token", 1)?;
        let step = step_buffer(ctx, 0, 1, counter);
        let mut rec = Recorder::new(ctx);
        kernels::sample(&mut rec, &cfg, &la, 0, vocab, &out, &step, &scratch)?;
        submit(ctx, rec)?;
        let got = read_words(ctx, &out.buffer, 0, 1).await?[0];
        let (want, kept) = ops::sample(&logits, cfg.temperature, cfg.top_k, cfg.top_p, cfg.seed32(), counter);
        if got == want {
            continue;
        }
        if cfg.greedy() || !kept.contains(&got) {
            bad += 1.0;
            continue;
        }
        let m = logits.iter().cloned().fold(f32::MIN, f32::max);
        let w = |i: u32| (((logits[i as usize] - m) / cfg.temperature) as f64).exp();
        let total: f64 = kept.iter().map(|&i| w(i)).sum();
        let before: f64 = kept.iter().take_while(|&&i| i != got).map(|&i| w(i)).sum();
        let u = (ops::pcg(cfg.seed32() ^ ops::pcg(counter)) >> 8) as f64 / 16777216.0;
        let (target, slack) = (u * total, 1e-5 * total);
        if target < before - slack || target > before + w(got) + slack {
            bad += 1.0;
        }
    }
    if cfg.searches(vocab) {
        bad += candidates_wrong(ctx, &logits, cfg.temperature, &scratch).await?;
    }
    Ok(bad)
}

/// The candidates pass's count and weight of each slice against the CPU's: 1 per slice wrong.
async fn candidates_wrong(
    ctx: &GpuContext,
    logits: &[f32],
    temperature: f32,
    s: &kernels::SampleScratch,
) -> Result<f64> {
    let vocab = logits.len();
    let slices = kernels::sample_slices(vocab);
    let (slice, parts) = kernels::slicing(vocab);
    let words = read_words(ctx, &s.part.buffer, 0, 4 * slices).await?;
    let m = logits.iter().cloned().fold(f32::MIN, f32::max);
    let inv_t = 1.0 / temperature;
    let mut wrong = 0.0;
    for j in 0..parts {
        let z: Vec<f32> = logits[j * slice..((j + 1) * slice).min(vocab)].iter().map(|&l| (l - m) * inv_t).collect();
        let count = z.iter().filter(|&&z| z >= -17.0).count() as u32;
        let weight: f64 = z.iter().map(|&z| (z as f64).exp()).sum();
        let (got_count, got_weight) = (words[2 * slices + 2 * j], f32::from_bits(words[2 * slices + 2 * j + 1]) as f64);
        if got_count != count || (got_weight - weight).abs() > 1e-5 * weight {
            wrong += 1.0;
        }
    }
    Ok(wrong)
}
