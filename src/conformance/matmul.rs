//! The weight readers: dense matmul, the expert-indexed matmul and the embedding gather, in every
//! weight format, on the context's layout and chunking.

use super::data::{mismatches, rand_vec, rel_err, stored_weights};
use super::{half_decode, has_halves, layout, read, submit, Checks, F16_MATH_TOL};
use crate::error::{Error, Result};
use crate::gpu::{Activation, GpuContext, Matrix, Recorder, RowPart, WeightFormat};
use crate::kernels::{self, ExpertRouting, MatmulArgs};
use crate::loader::TensorView;
use crate::reference::ops;
use std::path::Path;

/// f32 accumulation over a few thousand terms, against the f64-free CPU loop.
const TOL: f64 = 1e-5;

fn view<'a>(bytes: &'a [u8], f: WeightFormat, shape: &'a [usize]) -> TensorView<'a> {
    TensorView { name: "conformance", path: Path::new("conformance"), dtype: f, shape, bytes }
}

/// Column counts to test a format on: ragged for the float formats, and for the block formats
/// one with fewer units than threads and one that loops.
fn cols_for(f: WeightFormat) -> [usize; 2] {
    match f.block_elems() {
        1 => [131, 130],
        32 => [96, 32 * 37],
        _ => [256, 768],
    }
}

fn variant(ctx: &GpuContext, f: WeightFormat, kind: &str) -> String {
    let halves = if has_halves(f) { format!(", {}", half_decode(ctx)) } else { String::new() };
    let texture = if ctx.texture_weights { ", texture" } else { "" };
    format!("{} {kind}{halves}{texture}{}", f.name(), if chunked(ctx) { " chunked" } else { "" })
}

/// Whether the context splits weights below the adapter's binding limit (the `alt` context).
fn chunked(ctx: &GpuContext) -> bool {
    ctx.split_overridden
}

/// Uploads and, on a chunking context, makes sure the matrix really was split.
fn upload(ctx: &GpuContext, experts: usize, cols: usize, part: RowPart) -> Result<Matrix> {
    let m = Matrix::upload(ctx, "conformance", experts, cols, &[part])?;
    if chunked(ctx) && m.chunks.len() < 2 {
        return Err(Error::Shape(format!("expected the upload to split, got {} chunk(s)", m.chunks.len())));
    }
    Ok(m)
}

pub async fn dense(ctx: &GpuContext, formats: &dyn Fn(WeightFormat) -> bool, checks: &mut Checks<'_>) {
    for f in WeightFormat::ALL.into_iter().filter(|&f| formats(f)) {
        let [c0, c1] = cols_for(f);
        // (rows, cols, tokens): decode, a ragged batch over two token tiles, and many row groups
        // (where weights are not split into tiny chunks: there, many chunks); a prompt over two
        // ragged tiles of the tiled GEMM in both directions (GPU layout) or five token tiles
        let many = if chunked(ctx) { 0 } else { 1030 };
        let cases = [(67, c0, 1), (67, c1, 11), (many, c0, 3), (67, c1, 37)];
        for (rows, cols, t) in cases.into_iter().filter(|c| c.0 > 0) {
            let shape = format!("{rows}x{cols} T={t}");
            let case = dense_case(ctx, f, rows, cols, t, Dense::default());
            checks.run("matmul", variant(ctx, f, &dense_layout(ctx, t)), shape, TOL, case).await;
        }
        // the input rows' RMSNorm applied by the matmul (NORM): decode, a batch, a tiled prompt
        let cols = c1.next_multiple_of(4);
        for t in [1, 11, 37] {
            let v = variant(ctx, f, &format!("{} norm", dense_layout(ctx, t)));
            let case = dense_case(ctx, f, 67, cols, t, Dense { norm: true, ..Dense::default() });
            checks.run("matmul", v, format!("67x{cols} T={t}"), TOL, case).await;
        }
        if ctx.row_lane_matmul {
            // x read through 64 KiB uniform windows (X_UNIFORM): a decode row, and a prompt over
            // more than two windows (partial token tiles at each window's end)
            let mut widths = vec![c0.next_multiple_of(4), c1.next_multiple_of(4)];
            widths.dedup(); // the float formats' 131 and 130 both become 132
            for cols in widths {
                for t in [1, 2 * 16384 / cols + 3] {
                    for norm in [false, true] {
                        let case = dense_case(ctx, f, 67, cols, t, Dense { x_uniform: true, norm, ..Dense::default() });
                        let v =
                            format!("{} x-uniform{}", variant(ctx, f, layout(ctx)), if norm { " norm" } else { "" });
                        checks.run("matmul", v, format!("67x{cols} T={t}"), TOL, case).await;
                    }
                }
            }
        }
        if ctx.shader_f16 {
            for (rows, cols, t) in [(67, c0, 1), (67, c1, 11), (67, c1, 37)] {
                let v = format!("{}, f16 math", variant(ctx, f, &dense_layout(ctx, t)));
                let case = dense_case(ctx, f, rows, cols, t, Dense { f16_math: true, ..Dense::default() });
                checks.run("matmul", v, format!("{rows}x{cols} T={t}"), F16_MATH_TOL, case).await;
            }
        }
    }
}

/// The layout a dense matmul of `t` tokens runs in, for variant names.
fn dense_layout(ctx: &GpuContext, t: usize) -> String {
    let tiled = if kernels::matmul::tiled(ctx, t) { " tiled" } else { "" };
    format!("{}{tiled}", layout(ctx))
}

/// A norm weight of `cols` floats for NORM cases, on the GPU and for the CPU reference (eps 1e-5).
struct CaseNorm {
    w: Vec<f32>,
    gpu: Activation,
}

impl CaseNorm {
    const EPS: f32 = 1e-5;

    fn new(ctx: &GpuContext, cols: usize, seed: u32) -> Result<Self> {
        let w = rand_vec(cols, seed);
        Ok(CaseNorm { gpu: Activation::from_f32(ctx, "norm", &w)?, w })
    }

    /// The matmul's norm argument where `on`.
    fn arg(&self, on: bool) -> Option<kernels::RowNorm<'_>> {
        on.then_some(kernels::RowNorm { weight: &self.gpu, eps: Self::EPS })
    }

    /// Rows `x` as the matmul sees them: normed where `on`.
    fn input(&self, x: &[f32], on: bool) -> Vec<f32> {
        if on {
            ops::rmsnorm(x, Some(&self.w), self.w.len(), Self::EPS)
        } else {
            x.to_vec()
        }
    }
}

/// How a dense case runs.
#[derive(Clone, Copy, Default)]
struct Dense {
    /// `--dtype f16`'s products (where the adapter has shader-f16).
    f16_math: bool,
    /// x uniform-readable, the ROW_LANE matmul reading it through uniform windows.
    x_uniform: bool,
    /// The matmul applies x's RMSNorm (a weight of its own, eps 1e-5).
    norm: bool,
}

/// `out[:, 3..3+rows] += W x[2.., :]` (with `norm`, `W rmsnorm(x[2.., :])`) on a wider output,
/// against the CPU.
async fn dense_case(ctx: &GpuContext, f: WeightFormat, rows: usize, cols: usize, t: usize, o: Dense) -> Result<f64> {
    let Dense { f16_math, x_uniform, norm } = o;
    let (bytes, wr) = stored_weights(&rand_vec(rows * cols, 1), f);
    let shape = [rows, cols];
    let m = upload(ctx, 1, cols, RowPart::Linear(view(&bytes, f, &shape)))?;
    let x = rand_vec((t + 2) * cols, 2);
    let init = rand_vec(t * (rows + 3), 3);
    let xa = if x_uniform {
        let a = Activation::new_uniform_readable(ctx, "x", x.len())?;
        if !a.uniform_readable() {
            return Err(Error::Shape(format!("{} floats did not make a uniform-readable activation", x.len())));
        }
        ctx.queue.write_buffer(&a.buffer, 0, bytemuck::cast_slice(&x));
        a
    } else {
        Activation::from_f32(ctx, "x", &x)?
    };
    let out = Activation::from_f32(ctx, "out", &init)?;
    let mut rec = Recorder::new(ctx);
    rec.f16_math = f16_math;
    let case_norm = CaseNorm::new(ctx, cols, 4)?;
    let norm_arg = case_norm.arg(norm);
    let args =
        MatmulArgs { x_row0: 2, out_col0: 3, accumulate: true, norm: norm_arg, ..MatmulArgs::dense(t, rows + 3) };
    kernels::matmul(&mut rec, &m, &xa, &out, args)?;
    if norm != rec.labels().any(|l| l.contains("NORM")) {
        return Err(Error::Shape("the NORM variant's choice is not the one asked".into()));
    }
    if x_uniform != rec.labels().any(|l| l.contains("X_UNIFORM")) {
        let what = if x_uniform { "not chosen for" } else { "chosen without" };
        return Err(Error::Shape(format!("X_UNIFORM {what} a uniform-readable x")));
    }
    if kernels::matmul::tiled(ctx, t) != rec.labels().any(|l| l.contains("TILED")) {
        return Err(Error::Shape(format!("the tiled GEMM's choice for {t} tokens is not the one made")));
    }
    submit(ctx, rec)?;
    let got = read(ctx, &out).await?;
    let xin = case_norm.input(&x[2 * cols..], norm);
    let y = ops::matmul(&wr, rows, cols, &xin);
    let mut want = init;
    for ti in 0..t {
        for r in 0..rows {
            want[ti * (rows + 3) + 3 + r] += y[ti * rows + r];
        }
    }
    Ok(rel_err(&got, &want))
}

pub async fn experts(ctx: &GpuContext, formats: &dyn Fn(WeightFormat) -> bool, checks: &mut Checks<'_>) {
    for f in WeightFormat::ALL.into_iter().filter(|&f| formats(f)) {
        for stacked in [true, false] {
            let cols = cols_for(f)[0];
            let how = if stacked { "stacked" } else { "per-expert" };
            let v = variant(ctx, f, &format!("{} expert-id {how}", layout(ctx)));
            let case = experts_case(ctx, f, cols, stacked, false);
            checks.run("matmul", v, format!("5x23x{cols} T=7 top-2"), TOL, case).await;
        }
        // prefill: rows grouped by expert into whole tiles (and over several uniform windows of
        // x on CPU adapters where a window holds whole tiles: 300 rows of 132 or 96 floats)
        for (t, k) in [(7, 2), (300, 1)] {
            let cols = cols_for(f)[0].next_multiple_of(4);
            let v = variant(ctx, f, &format!("{} expert-id grouped", layout(ctx)));
            let case = grouped_case(ctx, f, cols, t, k, false);
            checks.run("matmul", v, format!("5x23x{cols} T={t} top-{k}"), TOL, case).await;
        }
        // CPU adapters: gate|up matrices write their SwiGLU (dense, routed, grouped)
        if ctx.row_lane_matmul && !chunked(ctx) {
            let cols = cols_for(f)[0].next_multiple_of(4);
            let v = |kind: &str| variant(ctx, f, &format!("{} {kind}swiglu", layout(ctx)));
            for t in [1, 11] {
                for (norm, kind) in [(false, ""), (true, "norm ")] {
                    let case = swiglu_case(ctx, f, cols, t, norm);
                    checks.run("matmul", v(kind), format!("2x23x{cols} T={t}"), TOL, case).await;
                }
            }
            let case = experts_case(ctx, f, cols, true, true);
            checks.run("matmul", v("expert-id "), format!("5x2x23x{cols} T=7 top-2"), TOL, case).await;
            let case = grouped_case(ctx, f, cols, 300, 1, true);
            checks.run("matmul", v("expert-id grouped "), format!("5x2x23x{cols} T=300 top-1"), TOL, case).await;
        }
    }
}

/// `out = silu(gate x) * (up x)` from one gate|up matrix (46 rows) on 23 outputs (with `norm`, of
/// x's RMSNorm), against the CPU.
async fn swiglu_case(ctx: &GpuContext, f: WeightFormat, cols: usize, t: usize, norm: bool) -> Result<f64> {
    let rows = 23;
    let (bytes, wr) = stored_weights(&rand_vec(2 * rows * cols, 6), f);
    let m = upload(ctx, 1, cols, RowPart::Linear(view(&bytes, f, &[2 * rows, cols])))?;
    let x = rand_vec(t * cols, 7);
    let (xa, out) = (Activation::from_f32(ctx, "x", &x)?, Activation::new(ctx, "out", t * rows)?);
    let case_norm = CaseNorm::new(ctx, cols, 8)?;
    let norm_arg = case_norm.arg(norm);
    let mut rec = Recorder::new(ctx);
    kernels::matmul(
        &mut rec,
        &m,
        &xa,
        &out,
        MatmulArgs { swiglu: true, norm: norm_arg, ..MatmulArgs::dense(t, rows) },
    )?;
    submit(ctx, rec)?;
    let xin = case_norm.input(&x, norm);
    Ok(rel_err(&read(ctx, &out).await?, &ops::swiglu(&ops::matmul(&wr, 2 * rows, cols, &xin), rows)))
}

/// Expert `ex`'s output for input `xin`: its rows (`rows`, or with `swiglu` 2 `rows` of gate|up
/// and their SwiGLU).
fn expert_out(wr: &[f32], ex: usize, rows: usize, cols: usize, xin: &[f32], swiglu: bool) -> Vec<f32> {
    let r = if swiglu { 2 * rows } else { rows };
    let y = ops::matmul(&wr[ex * r * cols..(ex + 1) * r * cols], r, cols, xin);
    if swiglu {
        ops::swiglu(&y, rows)
    } else {
        y
    }
}

/// 5 experts, of which 0 and 3 are NaN bytes and never routed (see [`experts_case`]), and
/// a random weights matrix for the others.
fn expert_weights(f: WeightFormat, e: usize, rows: usize, cols: usize) -> (Vec<u8>, Vec<f32>) {
    let (mut bytes, wr) = stored_weights(&rand_vec(e * rows * cols, 4), f);
    let expert_bytes = bytes.len() / e;
    for unrouted in [0, 3] {
        bytes[unrouted * expert_bytes..(unrouted + 1) * expert_bytes].fill(0xff);
    }
    (bytes, wr)
}

/// The prefill path: `t k` assignments grouped by expert on the GPU, their scaled inputs
/// gathered, the grouped matmul; each assignment's output row (found through its slot) against
/// the CPU.
async fn grouped_case(ctx: &GpuContext, f: WeightFormat, cols: usize, t: usize, k: usize, swiglu: bool) -> Result<f64> {
    let (e, rows) = (5, 23);
    let wrows = if swiglu { 2 * rows } else { rows };
    let x = rand_vec(t * cols, 5);
    let ids = super::moe::routed_ids(t * k, e);
    let scores: Vec<f32> = (0..t * k).map(|a| 0.1 + 0.007 * a as f32).collect();
    let (bytes, wr) = expert_weights(f, e, wrows, cols);
    let m = upload(ctx, e, cols, RowPart::Stacked(view(&bytes, f, &[e, wrows, cols])))?;
    let g = kernels::ExpertRows::new(ctx, t * k, e, cols)?;
    let (xa, sa) = (Activation::from_f32(ctx, "x", &x)?, Activation::from_f32(ctx, "scores", &scores)?);
    let ida = Activation::from_u32(ctx, "ids", &ids)?;
    let out = Activation::new(ctx, "out", g.n_rows * rows)?;
    let mut rec = Recorder::new(ctx);
    kernels::moe_group(&mut rec, &ida, &g)?;
    kernels::moe_gather(&mut rec, &xa, &sa, k, cols, &g)?;
    let routing = ExpertRouting { ids: &g.expert, scores: &sa, scale_input: false, grouped: true };
    let args = MatmulArgs { experts: Some(routing), swiglu, ..MatmulArgs::dense(g.n_rows, rows) };
    kernels::matmul(&mut rec, &m, &g.x, &out, args)?;
    submit(ctx, rec)?;
    let all = read(ctx, &out).await?;
    let slots = crate::gpu::buffers::read_words(ctx, &g.slot.buffer, 0, t * k).await?;
    let (mut got, mut want) = (vec![], vec![]);
    for a in 0..t * k {
        let s = slots[a] as usize;
        got.extend_from_slice(&all[s * rows..(s + 1) * rows]);
        let xin: Vec<f32> = x[(a / k) * cols..(a / k + 1) * cols].iter().map(|v| v * scores[a]).collect();
        want.extend(expert_out(&wr, ids[a] as usize, rows, cols, &xin, swiglu));
    }
    Ok(rel_err(&got, &want))
}

/// Routed experts (1, 2, 4 of 5) with the score scaling the input. Experts 0 and 3 are never
/// routed to and their bytes are all 0xff (NaN in every format's float fields): a kernel that
/// touches them, even with a zero weight, yields NaN and fails.
async fn experts_case(ctx: &GpuContext, f: WeightFormat, cols: usize, stacked: bool, swiglu: bool) -> Result<f64> {
    let (e, rows, t, k) = (5, 23, 7, 2);
    let wrows = if swiglu { 2 * rows } else { rows };
    let x = rand_vec(t * cols, 5);
    let ids: Vec<u32> = (0..t * k).map(|a| [1, 2, 4][(a * 2 + 1) % 3]).collect();
    let scores: Vec<f32> = (0..t * k).map(|a| 0.1 + 0.07 * a as f32).collect();
    let (bytes, wr) = expert_weights(f, e, wrows, cols);
    let expert_bytes = bytes.len() / e;
    let (shape3, shape) = ([e, wrows, cols], [wrows, cols]);
    let part = if stacked {
        RowPart::Stacked(view(&bytes, f, &shape3))
    } else {
        RowPart::PerExpert(bytes.chunks(expert_bytes).map(|b| view(b, f, &shape)).collect())
    };
    let m = upload(ctx, e, cols, part)?;
    let xa = Activation::from_f32(ctx, "x", &x)?;
    let out = Activation::new(ctx, "out", t * k * rows)?;
    let ida = Activation::from_u32(ctx, "ids", &ids)?;
    let sa = Activation::from_f32(ctx, "scores", &scores)?;
    let mut rec = Recorder::new(ctx);
    let routing = ExpertRouting { ids: &ida, scores: &sa, scale_input: true, grouped: false };
    let args = MatmulArgs { x_div: k, experts: Some(routing), swiglu, ..MatmulArgs::dense(t * k, rows) };
    kernels::matmul(&mut rec, &m, &xa, &out, args)?;
    submit(ctx, rec)?;
    let got = read(ctx, &out).await?;
    let mut want = vec![];
    for a in 0..t * k {
        let xin: Vec<f32> = x[(a / k) * cols..(a / k + 1) * cols].iter().map(|v| v * scores[a]).collect();
        want.extend(expert_out(&wr, ids[a] as usize, rows, cols, &xin, swiglu));
    }
    Ok(rel_err(&got, &want))
}

pub async fn embed(ctx: &GpuContext, formats: &dyn Fn(WeightFormat) -> bool, checks: &mut Checks<'_>) {
    for f in WeightFormat::ALL.into_iter().filter(|&f| formats(f)) {
        let h = if f.is_float() { 70 } else { f.block_elems() * 2 };
        let case = embed_case(ctx, f, h);
        checks.run("embed", variant(ctx, f, "gather"), format!("50x{h} T=7"), 0.0, case).await;
    }
}

/// Rows gathered by id (first, last, repeated) equal the CPU dequantization exactly.
async fn embed_case(ctx: &GpuContext, f: WeightFormat, h: usize) -> Result<f64> {
    let v = 50;
    let ids: Vec<u32> = vec![0, 49, 17, 17, 3, 48, 25];
    let (bytes, table) = stored_weights(&rand_vec(v * h, 8), f);
    let shape = [v, h];
    let m = upload(ctx, 1, h, RowPart::Linear(view(&bytes, f, &shape)))?;
    let ida = Activation::from_u32(ctx, "ids", &ids)?;
    let out = Activation::new(ctx, "out", ids.len() * h)?;
    let mut rec = Recorder::new(ctx);
    kernels::embed(&mut rec, &m, &ida, &out, ids.len())?;
    submit(ctx, rec)?;
    let got = read(ctx, &out).await?;
    let want: Vec<f32> = ids.iter().flat_map(|&i| table[i as usize * h..(i as usize + 1) * h].to_vec()).collect();
    Ok(mismatches(&got, &want))
}
