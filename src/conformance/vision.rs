//! The vision tower's kernels and the image merge against the CPU reference, on ragged shapes
//! (widths that are not multiples of the 64-lane workgroups, tiles of more tokens than lanes).

use super::data::{rand_vec, rel_err};
use super::{read, submit, Checks};
use crate::error::Result;
use crate::gpu::{Activation, GpuContext, Recorder};
use crate::kernels::vision as vk;
use crate::reference::ops;

const TOL: f64 = 1e-5;

pub async fn checks(ctx: &GpuContext, checks: &mut Checks<'_>) {
    for n in [37, 300] {
        checks.run("layernorm", "weight + bias", format!("{n} x 5 rows"), TOL, layernorm(ctx, n)).await;
    }
    for gelu in [false, true] {
        let v = if gelu { "bias + exact gelu" } else { "bias" };
        checks.run("bias_act", v, "150 x 3 rows", TOL, bias_act(ctx, gelu)).await;
    }
    checks.run("vision_patches", "unfold", "21x21 tile, patch 7", 0.0, patches(ctx)).await;
    checks.run("vision_embed", "class last + positions", "9 patches x 37", 0.0, vision_embed(ctx)).await;
    checks.run("vision_rope", "2d, q and k", "10 tokens, 2 heads of 12", TOL, rope2d(ctx)).await;
    for (t, heads, d) in [(11, 3, 20), (70, 2, 8)] {
        let shape = format!("{t} tokens, {heads} heads of {d}");
        checks.run("vision_attention", "bidirectional", shape, TOL, attention(ctx, t, heads, d)).await;
    }
    checks.run("pixel_shuffle", "ratio 1/2, class dropped", "4x4 grid x 6", 0.0, shuffle(ctx)).await;
    checks.run("image_merge", "patch rows", "8 tokens, 3 features x 40", 0.0, merge(ctx)).await;
}

async fn layernorm(ctx: &GpuContext, n: usize) -> Result<f64> {
    let rows = 5;
    let (x, w, b) = (rand_vec(rows * n, 31), rand_vec(n, 32), rand_vec(n, 33));
    let a = |v: &[f32]| Activation::from_f32(ctx, "layernorm", v);
    let (xa, wa, ba, out) = (a(&x)?, a(&w)?, a(&b)?, Activation::new(ctx, "out", rows * n)?);
    let mut rec = Recorder::new(ctx);
    vk::layernorm(&mut rec, &xa, (&wa, &ba), &out, rows, n)?;
    submit(ctx, rec)?;
    Ok(rel_err(&read(ctx, &out).await?, &ops::layernorm(&x, &w, &b, n, 1e-5)))
}

async fn bias_act(ctx: &GpuContext, gelu: bool) -> Result<f64> {
    let (rows, n) = (3, 150);
    // spread over [-4, 4]: GELU's curved part and both tails
    let x: Vec<f32> = rand_vec(rows * n, 34).iter().map(|v| 4.0 * v).collect();
    let b = rand_vec(n, 35);
    let (xa, ba) = (Activation::from_f32(ctx, "x", &x)?, Activation::from_f32(ctx, "bias", &b)?);
    let mut rec = Recorder::new(ctx);
    vk::bias_act(&mut rec, &xa, &ba, gelu, rows, n)?;
    submit(ctx, rec)?;
    let mut want = x.clone();
    ops::add_bias(&mut want, &b);
    if gelu {
        want.iter_mut().for_each(|v| *v = ops::gelu(*v));
    }
    Ok(rel_err(&read(ctx, &xa).await?, &want))
}

async fn patches(ctx: &GpuContext) -> Result<f64> {
    let (side, p) = (21, 7);
    let px = rand_vec(3 * side * side, 36);
    let (pa, out) = (Activation::from_f32(ctx, "pixels", &px)?, Activation::new(ctx, "patches", 9 * 3 * p * p)?);
    let mut rec = Recorder::new(ctx);
    vk::patches(&mut rec, &pa, &out, side, p)?;
    submit(ctx, rec)?;
    Ok(rel_err(&read(ctx, &out).await?, &ops::unfold_patches(&px, side, p)))
}

async fn vision_embed(ctx: &GpuContext) -> Result<f64> {
    let (np, h) = (9, 37);
    let (x, class, pos) = (rand_vec((np + 1) * h, 37), rand_vec(h, 38), rand_vec((np + 1) * h, 39));
    let a = |v: &[f32]| Activation::from_f32(ctx, "vision embed", v);
    let (xa, ca, pa) = (a(&x)?, a(&class)?, a(&pos)?);
    let mut rec = Recorder::new(ctx);
    vk::vision_embed(&mut rec, &ca, &pa, &xa, np, h)?;
    submit(ctx, rec)?;
    let mut want = x[..np * h].to_vec();
    want.extend_from_slice(&class);
    want.iter_mut().zip(&pos).for_each(|(v, p)| *v += p);
    Ok(rel_err(&read(ctx, &xa).await?, &want))
}

async fn rope2d(ctx: &GpuContext) -> Result<f64> {
    let (t, heads, d) = (10, 2, 12);
    let h = heads * d;
    let qkv = rand_vec(t * 3 * h, 40);
    let angles = rand_vec(t * d / 2, 41);
    let table: Vec<f32> = angles.iter().flat_map(|a| [(3.0 * a).cos(), (3.0 * a).sin()]).collect();
    let (qa, ta) = (Activation::from_f32(ctx, "qkv", &qkv)?, Activation::from_f32(ctx, "table", &table)?);
    let mut rec = Recorder::new(ctx);
    vk::rope2d(&mut rec, &ta, &qa, t, h, d)?;
    submit(ctx, rec)?;
    let mut want = qkv.clone();
    for (n, row) in want.chunks_exact_mut(3 * h).enumerate() {
        for head in row[..2 * h].chunks_exact_mut(d) {
            ops::rope_interleaved(head, &table[n * d..(n + 1) * d]);
        }
    }
    Ok(rel_err(&read(ctx, &qa).await?, &want))
}

async fn attention(ctx: &GpuContext, t: usize, heads: usize, d: usize) -> Result<f64> {
    let h = heads * d;
    let qkv: Vec<f32> = rand_vec(t * 3 * h, 42).iter().map(|v| 2.0 * v).collect();
    let (qa, out) = (Activation::from_f32(ctx, "qkv", &qkv)?, Activation::new(ctx, "attention", t * h)?);
    let mut rec = Recorder::new(ctx);
    vk::vision_attention(&mut rec, &qa, &out, t, (heads, d))?;
    submit(ctx, rec)?;
    let part =
        |k: usize| -> Vec<f32> { qkv.chunks_exact(3 * h).flat_map(|r| r[k * h..(k + 1) * h].to_vec()).collect() };
    Ok(rel_err(&read(ctx, &out).await?, &ops::attention_full(&part(0), &part(1), &part(2), heads, d)))
}

async fn shuffle(ctx: &GpuContext) -> Result<f64> {
    let (g, c, s) = (4, 6, 2);
    let x = rand_vec((g * g + 1) * c, 43); // the class row last, dropped
    let (xa, out) = (Activation::from_f32(ctx, "x", &x)?, Activation::new(ctx, "shuffled", g * g * c)?);
    let mut rec = Recorder::new(ctx);
    vk::pixel_shuffle(&mut rec, &xa, &out, g, c, s)?;
    submit(ctx, rec)?;
    Ok(rel_err(&read(ctx, &out).await?, &ops::pixel_shuffle(&x[..g * g * c], g, c, s)))
}

/// A step of 8 tokens at positions 5..13 of a prompt that starts at 3: rows map prompt
/// positions to features.
async fn merge(ctx: &GpuContext) -> Result<f64> {
    use wgpu::util::DeviceExt;
    let (h, t, past, pos0) = (40, 8, 5u32, 3usize);
    let none = u32::MAX;
    let rows = [none, none, 0, none, 1, 2, none, none, none, none, none];
    let (emb, feats) = (rand_vec(t * h, 44), rand_vec(3 * h, 45));
    let step = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("merge step"),
        contents: bytemuck::cast_slice(&[past, t as u32, 0, 0]),
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let ra = Activation::from_u32(ctx, "rows", &rows)?;
    let (fa, ea) = (Activation::from_f32(ctx, "features", &feats)?, Activation::from_f32(ctx, "h", &emb)?);
    let mut rec = Recorder::new(ctx);
    vk::merge_features(&mut rec, &ra, &fa, &ea, &step, (h, t, pos0))?;
    submit(ctx, rec)?;
    let mut want = emb.clone();
    for i in 0..t {
        let r = rows[past as usize + i - pos0];
        if r != none {
            want[i * h..(i + 1) * h].copy_from_slice(&feats[r as usize * h..(r as usize + 1) * h]);
        }
    }
    Ok(rel_err(&read(ctx, &ea).await?, &want))
}
