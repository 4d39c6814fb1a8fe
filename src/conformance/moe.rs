//! The MoE kernels around the expert matmuls: router top-k, the grouping of a prompt's
//! assignments by expert, the gather of their scaled inputs, and the combine (direct or through
//! the grouped rows).

use super::data::{mismatches, rand_vec, rel_err};
use super::{read, submit, Checks};
use crate::error::Result;
use crate::gpu::buffers::read_words;
use crate::gpu::{Activation, GpuContext, Recorder};
use crate::kernels::{self, ExpertRows, EXPERT_TILE};
use crate::reference::ops;

pub async fn checks(ctx: &GpuContext, checks: &mut Checks<'_>) {
    checks.run("router", "top-3 ids", "70x13", 0.0, router(ctx, true)).await;
    checks.run("router", "top-3 scores", "70x13", 1e-6, router(ctx, false)).await;
    // (tokens, k, experts): a few rows, and more assignments than the 64 invocations with
    // experts past them (two per invocation)
    for (t, k, e) in [(7, 2, 5), (150, 1, 70)] {
        let shape = format!("T={t} top-{k} of {e}");
        checks.run("moe_group", "rows, sources, slots", &shape, 0.0, group(ctx, t, k, e)).await;
        checks.run("moe_gather", "scaled rows", &shape, 0.0, gather(ctx, t, k, e)).await;
    }
    checks.run("moe_combine", "top-2", "4x130", 1e-6, combine(ctx, false)).await;
    checks.run("moe_combine", "top-2 grouped", "4x130", 1e-6, combine(ctx, true)).await;
}

/// 70 tokens (two workgroups), 13 experts, top-3: the ids exactly, or the sigmoid scores.
async fn router(ctx: &GpuContext, want_ids: bool) -> Result<f64> {
    let logits = rand_vec(70 * 13, 14);
    let la = Activation::from_f32(ctx, "logits", &logits)?;
    let (ids, sc) = (Activation::new(ctx, "ids", 210)?, Activation::new(ctx, "scores", 210)?);
    let mut rec = Recorder::new(ctx);
    kernels::router_topk(&mut rec, &la, &ids, &sc, 70, 13, 3)?;
    submit(ctx, rec)?;
    let (ref_ids, ref_scores) = ops::router_topk(&logits, 13, 3);
    Ok(if want_ids {
        mismatches(&read_words(ctx, &ids.buffer, 0, 210).await?, &ref_ids)
    } else {
        rel_err(&read(ctx, &sc).await?, &ref_scores)
    })
}

/// Routed ids for `n` assignments over `e` experts, unevenly: expert 0 and every third expert
/// never routed, some experts a single assignment (a tile of padding), some several tiles.
pub(crate) fn routed_ids(n: usize, e: usize) -> Vec<u32> {
    let used: Vec<u32> = (0..e as u32).filter(|x| x % 3 != 0).collect();
    (0..n).map(|a| used[(a * a + 7 * a) % used.len()]).collect()
}

/// The grouping of `t k` assignments written by the GPU, read back as one vector: each row's
/// expert, then each row's source, then each assignment's slot.
async fn grouped(ctx: &GpuContext, ids: &[u32], e: usize, hidden: usize) -> Result<(ExpertRows, Vec<u32>)> {
    let rows = ExpertRows::new(ctx, ids.len(), e, hidden)?;
    let ida = Activation::from_u32(ctx, "ids", ids)?;
    let mut rec = Recorder::new(ctx);
    kernels::moe_group(&mut rec, &ida, &rows)?;
    submit(ctx, rec)?;
    let mut got = read_words(ctx, &rows.expert.buffer, 0, rows.n_rows).await?;
    got.extend(read_words(ctx, &rows.src.buffer, 0, rows.n_rows).await?);
    got.extend(read_words(ctx, &rows.slot.buffer, 0, rows.n).await?);
    Ok((rows, got))
}

/// Every row's expert and source and every assignment's slot equal the CPU's stable sort.
async fn group(ctx: &GpuContext, t: usize, k: usize, e: usize) -> Result<f64> {
    let ids = routed_ids(t * k, e);
    let (rows, got) = grouped(ctx, &ids, e, 4).await?;
    let (expert, src, slot) = ops::moe_group(&ids, e, EXPERT_TILE, rows.n_rows);
    Ok(mismatches(&got, &[expert, src, slot].concat()))
}

/// Each sorted row holds its assignment's token row times its score, padding rows zero.
async fn gather(ctx: &GpuContext, t: usize, k: usize, e: usize) -> Result<f64> {
    let h = 70;
    let ids = routed_ids(t * k, e);
    let (x, scores) = (rand_vec(t * h, 16), rand_vec(t * k, 17));
    let (rows, _) = grouped(ctx, &ids, e, h).await?;
    let (xa, sa) = (Activation::from_f32(ctx, "x", &x)?, Activation::from_f32(ctx, "scores", &scores)?);
    // garbage in the rows first: padding must be written, not left
    ctx.queue.write_buffer(&rows.x.buffer, 0, bytemuck::cast_slice(&rand_vec(rows.n_rows * h, 18)));
    let mut rec = Recorder::new(ctx);
    kernels::moe_gather(&mut rec, &xa, &sa, k, h, &rows)?;
    submit(ctx, rec)?;
    let (_, src, _) = ops::moe_group(&ids, e, EXPERT_TILE, rows.n_rows);
    let want: Vec<f32> = src
        .iter()
        .flat_map(|&a| {
            let a = a as usize;
            (0..h)
                .map(|c| if a == u32::MAX as usize { 0.0 } else { x[(a / k) * h + c] * scores[a] })
                .collect::<Vec<_>>()
        })
        .collect();
    Ok(mismatches(&read(ctx, &rows.x).await?[..rows.n_rows * h], &want))
}

/// h += the sum of its k = 2 expert rows: rows `t k + j`, or (grouped) rows `slot[t k + j]`
/// of a y with more rows than assignments.
async fn combine(ctx: &GpuContext, grouped: bool) -> Result<f64> {
    let (t, k, h, n_rows) = (4, 2, 130, 13);
    let (hv, y) = (rand_vec(t * h, 12), rand_vec(n_rows * h, 13));
    let slot: Vec<u32> = if grouped { vec![12, 0, 5, 3, 9, 1, 7, 10] } else { (0..8).collect() };
    let (ha, ya) = (Activation::from_f32(ctx, "h", &hv)?, Activation::from_f32(ctx, "y", &y)?);
    let sa = Activation::from_u32(ctx, "slot", &slot)?;
    let mut rec = Recorder::new(ctx);
    kernels::moe_combine(&mut rec, &ya, &ha, t, h, k, grouped.then_some(&sa))?;
    submit(ctx, rec)?;
    let row = |a: usize| slot[a] as usize * h;
    let want: Vec<f32> =
        (0..t * h).map(|i| hv[i] + y[row((i / h) * k) + i % h] + y[row((i / h) * k + 1) + i % h]).collect();
    Ok(rel_err(&read(ctx, &ha).await?, &want))
}
