//! Every kernel against the CPU reference (`llama4_wgpu::reference::ops`) on shapes that span
//! several workgroups and have ragged edges, in every weight format, split and unsplit.

mod common;
use common::*;
use llama4_wgpu::gpu::buffers::{read_f32, read_words};
use llama4_wgpu::gpu::{Activation, AdapterChoice, GpuContext, Matrix, Recorder, RowPart, WeightFormat};
use llama4_wgpu::kernels::{self, AttentionShape, ExpertRouting, MatmulArgs, SamplerConfig};
use llama4_wgpu::loader::{DType, TensorView};
use llama4_wgpu::reference::ops;
use pollster::block_on;
use std::path::Path;

fn submit(ctx: &GpuContext, rec: Recorder) {
    let plan = rec.finish();
    let mut enc = ctx.device.create_command_encoder(&Default::default());
    plan.encode(&mut enc);
    ctx.queue.submit([enc.finish()]);
}

fn read(ctx: &GpuContext, a: &Activation) -> Vec<f32> {
    block_on(read_f32(ctx, a, 0, a.len)).unwrap()
}

fn step_buffer(ctx: &GpuContext, past: u32, n: u32, counter: u32) -> wgpu::Buffer {
    use wgpu::util::DeviceExt;
    ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: None,
        contents: bytemuck::cast_slice(&[past, n, counter, 0]),
        usage: wgpu::BufferUsages::UNIFORM,
    })
}

/// Weights stored in `dtype` (quantized formats: random valid blocks), and the f32 values they
/// stand for (the CPU reference dequantization).
fn weights(data: &[f32], dtype: DType) -> (Vec<u8>, Vec<f32>) {
    match dtype {
        DType::F32 => (bytemuck::cast_slice(data).to_vec(), data.to_vec()),
        DType::F16 => {
            let h: Vec<half::f16> = data.iter().map(|&v| half::f16::from_f32(v)).collect();
            (bytemuck::cast_slice(&h).to_vec(), h.iter().map(|v| v.to_f32()).collect())
        }
        DType::Bf16 => {
            let h: Vec<half::bf16> = data.iter().map(|&v| half::bf16::from_f32(v)).collect();
            (bytemuck::cast_slice(&h).to_vec(), h.iter().map(|v| v.to_f32()).collect())
        }
        q => {
            let bytes = random_blocks(q, data.len(), (data[0].to_bits() ^ data.len() as u32) | 1);
            let mut want = vec![0.0; data.len()];
            q.dequantize(&bytes, &mut want);
            (bytes, want)
        }
    }
}

/// Column counts to test a format on: ragged for the float formats (rows padded to 4), and for
/// the block formats one with fewer groups than threads and one that loops.
fn cols_for(f: DType) -> [usize; 2] {
    match f.block_elems() {
        1 => [131, 130],
        32 => [96, 32 * 37],
        _ => [256, 768],
    }
}

fn view<'a>(bytes: &'a [u8], dtype: DType, shape: &'a [usize]) -> TensorView<'a> {
    TensorView { name: "test", path: Path::new("test"), dtype, shape, bytes }
}

#[test]
fn matmul_dense_every_format_split_and_unsplit() {
    for f in WeightFormat::ALL {
        for cols in cols_for(f) {
            matmul_dense_case(f, 67, cols);
        }
    }
}

fn matmul_dense_case(dtype: DType, rows: usize, cols: usize) {
    let w = rand_vec(rows * cols, 1);
    let split = gpu_with(AdapterChoice {
        max_binding_override: Some((dtype.gpu_row_bytes(cols).unwrap() * 5 + 300) as u64),
        row_lane_matmul: Some(!gpu().row_lane_matmul), // the other matmul layout
        ..Default::default()
    });
    for ctx in [gpu(), &split] {
        {
            let (bytes, wr) = weights(&w, dtype);
            let shape = [rows, cols];
            let m = Matrix::upload(ctx, "w", 1, cols, &[RowPart::Linear(view(&bytes, dtype, &shape))]).unwrap();
            assert_eq!(m.formats(), vec![dtype]);
            for t in [1usize, 11] {
                let x = rand_vec((t + 2) * cols, 2);
                let init = rand_vec(t * (rows + 3), 3);
                let xa = Activation::from_f32(ctx, "x", &x).unwrap();
                let out = Activation::from_f32(ctx, "out", &init).unwrap();
                let mut rec = Recorder::new(ctx);
                // read rows 2.., write columns 3..3+rows of a wider output, accumulating
                let args = MatmulArgs { x_row0: 2, out_col0: 3, accumulate: true, ..MatmulArgs::dense(t, rows + 3) };
                kernels::matmul(&mut rec, &m, &xa, &out, args).unwrap();
                submit(ctx, rec);
                let got = read(ctx, &out);
                let y = ops::matmul(&wr, rows, cols, &x[2 * cols..]);
                let mut want = init.clone();
                for ti in 0..t {
                    for r in 0..rows {
                        want[ti * (rows + 3) + 3 + r] += y[ti * rows + r];
                    }
                }
                let err = rel_err(&got, &want);
                assert!(err < 1e-5, "{dtype:?} k={cols} T={t} chunks={}: rel err {err:.2e}", m.chunks.len());
            }
        }
    }
    let (bytes, _) = weights(&w, dtype);
    let m = Matrix::upload(&split, "w", 1, cols, &[RowPart::Linear(view(&bytes, dtype, &[rows, cols]))]).unwrap();
    assert!(m.chunks.len() >= 8, "{dtype:?}: {} chunks", m.chunks.len());
}

#[test]
fn matmul_expert_indexed_reads_only_routed_experts() {
    for dtype in WeightFormat::ALL {
        matmul_expert_case(dtype, cols_for(dtype)[0]);
    }
}

fn matmul_expert_case(dtype: DType, cols: usize) {
    let (e, rows, t, k) = (5, 23, 7, 2);
    let w = rand_vec(e * rows * cols, 4);
    let x = rand_vec(t * cols, 5);
    // Experts 0 and 3 are never routed to, and their bytes are all 0xff (NaN in every format's
    // float fields): a kernel that touches them, even with a zero weight, yields NaN.
    let ids: Vec<u32> = (0..t * k).map(|a| [1, 2, 4][(a * 2 + 1) % 3]).collect();
    let scores: Vec<f32> = (0..t * k).map(|a| 0.1 + 0.07 * a as f32).collect();
    let split = gpu_with(AdapterChoice {
        max_binding_override: Some((dtype.gpu_row_bytes(cols).unwrap() * 7 + 300) as u64),
        row_lane_matmul: Some(!gpu().row_lane_matmul), // the other matmul layout
        ..Default::default()
    });
    let (mut bytes, wr) = weights(&w, dtype);
    let expert_bytes = dtype.bytes_for(rows * cols).unwrap();
    for unrouted in [0, 3] {
        bytes[unrouted * expert_bytes..(unrouted + 1) * expert_bytes].fill(0xff);
    }
    for ctx in [gpu(), &split] {
        // as one expert-stacked tensor (GGUF) and as one tensor per expert (HF split layout)
        let shape3 = [e, rows, cols];
        let shape = [rows, cols];
        let views: Vec<TensorView> =
            (0..e).map(|i| view(&bytes[i * expert_bytes..(i + 1) * expert_bytes], dtype, &shape)).collect();
        for part in [RowPart::Stacked(view(&bytes, dtype, &shape3)), RowPart::PerExpert(views)] {
            let m = Matrix::upload(ctx, "experts", e, cols, &[part]).unwrap();
            let xa = Activation::from_f32(ctx, "x", &x).unwrap();
            let out = Activation::new(ctx, "out", t * k * rows).unwrap();
            let ida = Activation::from_u32(ctx, "ids", &ids).unwrap();
            let sa = Activation::from_f32(ctx, "scores", &scores).unwrap();
            let mut rec = Recorder::new(ctx);
            let routing = ExpertRouting { ids: &ida, scores: &sa, scale_input: true };
            let args = MatmulArgs {
                n_tokens: t * k,
                x_row0: 0,
                x_div: k,
                out_stride: rows,
                out_col0: 0,
                accumulate: false,
                experts: Some(routing),
            };
            kernels::matmul(&mut rec, &m, &xa, &out, args).unwrap();
            submit(ctx, rec);
            let got = read(ctx, &out);
            let mut want = vec![];
            for a in 0..t * k {
                let ex = ids[a] as usize;
                let xin: Vec<f32> = x[(a / k) * cols..(a / k + 1) * cols].iter().map(|v| v * scores[a]).collect();
                want.extend(ops::matmul(&wr[ex * rows * cols..(ex + 1) * rows * cols], rows, cols, &xin));
            }
            let err = rel_err(&got, &want);
            assert!(err < 1e-5, "{dtype:?} chunks={}: rel err {err:.2e}", m.chunks.len());
        }
    }
}

#[test]
fn transposed_fused_experts_upload() {
    // HF's gate_up_proj [E, H, 2I] used as x @ W becomes rows gate (0..I) then up (I..2I).
    let ctx = gpu();
    let (e, h, i) = (3, 10, 6);
    let w = rand_vec(e * h * 2 * i, 6);
    let bytes: Vec<u8> = bytemuck::cast_slice(&w).to_vec();
    let shape = [e, h, 2 * i];
    let v = || view(&bytes, DType::F32, &shape);
    let m = Matrix::upload(
        ctx,
        "gu",
        e,
        h,
        &[RowPart::Transposed { view: v(), col0: 0, rows: i }, RowPart::Transposed { view: v(), col0: i, rows: i }],
    )
    .unwrap();
    let x = rand_vec(h, 7);
    let xa = Activation::from_f32(ctx, "x", &x).unwrap();
    let out = Activation::new(ctx, "out", 2 * i).unwrap();
    let ida = Activation::from_u32(ctx, "ids", &[2]).unwrap();
    let sa = Activation::from_f32(ctx, "s", &[1.0]).unwrap();
    let mut rec = Recorder::new(ctx);
    let routing = ExpertRouting { ids: &ida, scores: &sa, scale_input: false };
    let args = MatmulArgs {
        n_tokens: 1,
        x_row0: 0,
        x_div: 1,
        out_stride: 2 * i,
        out_col0: 0,
        accumulate: false,
        experts: Some(routing),
    };
    kernels::matmul(&mut rec, &m, &xa, &out, args).unwrap();
    submit(ctx, rec);
    let got = read(ctx, &out);
    let want: Vec<f32> = (0..2 * i).map(|c| (0..h).map(|kk| x[kk] * w[2 * h * 2 * i + kk * 2 * i + c]).sum()).collect();
    assert!(rel_err(&got, &want) < 1e-5);
}

#[test]
fn embed_gathers_across_table_chunks() {
    let v = 50;
    let ids: Vec<u32> = vec![0, 49, 17, 17, 3, 48, 25];
    for dtype in WeightFormat::ALL {
        let h = if dtype.is_float() { 70 } else { dtype.block_elems() * 2 };
        let (bytes, tr) = weights(&rand_vec(v * h, 8), dtype);
        let split = gpu_with(AdapterChoice {
            max_binding_override: Some((dtype.gpu_row_bytes(h).unwrap() * 3 + 300) as u64),
            ..Default::default()
        });
        for ctx in [gpu(), &split] {
            let shape = [v, h];
            let m = Matrix::upload(ctx, "embed", 1, h, &[RowPart::Linear(view(&bytes, dtype, &shape))]).unwrap();
            let ida = Activation::from_u32(ctx, "ids", &ids).unwrap();
            let out = Activation::new(ctx, "out", ids.len() * h).unwrap();
            let mut rec = Recorder::new(ctx);
            kernels::embed(&mut rec, &m, &ida, &out, ids.len()).unwrap();
            submit(ctx, rec);
            let want: Vec<f32> = ids.iter().flat_map(|&i| tr[i as usize * h..(i as usize + 1) * h].to_vec()).collect();
            assert_eq!(read(ctx, &out), want, "{dtype:?} chunks: {}", m.chunks.len());
        }
    }
}

#[test]
fn rmsnorm_swiglu_combine_router() {
    let ctx = gpu();
    // RMSNorm: 300 columns (> 256 threads), rows 2..5 of 5.
    let (n, rows) = (300, 5);
    let x = rand_vec(rows * n, 9);
    let w = rand_vec(n, 10);
    let (xa, wa, out) = (
        Activation::from_f32(ctx, "x", &x).unwrap(),
        Activation::from_f32(ctx, "w", &w).unwrap(),
        Activation::new(ctx, "o", 3 * n).unwrap(),
    );
    // SwiGLU: width 150, 3 rows.
    let gu = rand_vec(3 * 300, 11);
    let (gua, act) = (Activation::from_f32(ctx, "gu", &gu).unwrap(), Activation::new(ctx, "act", 3 * 150).unwrap());
    // Combine: h += sum of k = 2 expert rows, H = 130, T = 4.
    let hv = rand_vec(4 * 130, 12);
    let y = rand_vec(8 * 130, 13);
    let (ha, ya) = (Activation::from_f32(ctx, "h", &hv).unwrap(), Activation::from_f32(ctx, "y", &y).unwrap());
    // Router: T = 70 tokens (two workgroups), E = 13 experts, top-3.
    let logits = rand_vec(70 * 13, 14);
    let la = Activation::from_f32(ctx, "l", &logits).unwrap();
    let (ids, sc) = (Activation::new(ctx, "ids", 210).unwrap(), Activation::new(ctx, "sc", 210).unwrap());

    let mut rec = Recorder::new(ctx);
    kernels::rmsnorm(&mut rec, &xa, &wa, &out, 3, n, 1e-5, 2).unwrap();
    kernels::swiglu(&mut rec, &gua, &act, 3, 150).unwrap();
    kernels::moe_combine(&mut rec, &ya, &ha, 4, 130, 2).unwrap();
    kernels::router_topk(&mut rec, &la, &ids, &sc, 70, 13, 3).unwrap();
    submit(ctx, rec);

    let err = rel_err(&read(ctx, &out), &ops::rmsnorm(&x[2 * n..], Some(&w), n, 1e-5));
    assert!(err < 1e-5, "rmsnorm {err:.2e}");
    let err = rel_err(&read(ctx, &act), &ops::swiglu(&gu, 150));
    assert!(err < 1e-5, "swiglu {err:.2e}");
    let want: Vec<f32> =
        (0..4 * 130).map(|i| hv[i] + y[(i / 130) * 260 + i % 130] + y[(i / 130) * 260 + 130 + i % 130]).collect();
    assert!(rel_err(&read(ctx, &ha), &want) < 1e-6, "combine");
    let (want_ids, want_sc) = ops::router_topk(&logits, 13, 3);
    assert_eq!(block_on(read_words(ctx, &ids.buffer, 0, 210)).unwrap(), want_ids, "router ids");
    assert!(rel_err(&read(ctx, &sc), &want_sc) < 1e-6, "router scores");
}

#[test]
fn qk_prep_rope_norm_and_temperature() {
    qk_prep_case(4, 3, 2, 20);
    qk_prep_case(3, 2, 1, 160); // 80 pairs: more pairs than the 64 lanes
}

fn qk_prep_case(t: usize, nh: usize, nkv: usize, d: usize) {
    let ctx = gpu();
    let s = AttentionShape { nh, nkv, d, cap: 8, chunk: 8 };
    let width = s.width();
    let qkv = rand_vec(t * width, 15);
    let inv_freq: Vec<f32> = (0..d / 2).map(|j| 1.0 / 10000f32.powf(2.0 * j as f32 / d as f32)).collect();
    let past = 5;
    let table: Vec<f32> = (0..t).flat_map(|i| ops::rope_table(&inv_freq, past + i)).collect();
    let temps: Vec<f32> = (0..t).map(|i| 1.0 + 0.1 * i as f32).collect();
    for (rope, norm, temp) in [(true, true, false), (true, false, false), (false, false, true)] {
        let a = Activation::from_f32(ctx, "qkv", &qkv).unwrap();
        let (ta, tm) =
            (Activation::from_f32(ctx, "t", &table).unwrap(), Activation::from_f32(ctx, "tm", &temps).unwrap());
        let mut rec = Recorder::new(ctx);
        kernels::qk_prep(&mut rec, s, &a, &ta, &tm, t, rope, norm, temp, 1e-5).unwrap();
        submit(ctx, rec);
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
        let err = rel_err(&read(ctx, &a), &want);
        assert!(err < 1e-5, "d {d} rope {rope} norm {norm} temp {temp}: {err:.2e}");
    }
}

/// One attention step with `past` cached positions and `t` new ones, chunked (ring cache) and
/// global, GQA 3:1; then the cache holds exactly what later steps need.
#[test]
fn attention_chunked_and_global_with_cache() {
    // small heads with several chunks in one batch; then head_dim 136 (three dims per lane, the
    // last ragged) with more than one 64-key tile per query
    attention_case(6, 2, 20, 7, 9, &[5, 0]);
    attention_case(4, 4, 136, 70, 5, &[50, 0]);
}

fn attention_case(nh: usize, nkv: usize, d: usize, past: usize, t: usize, chunks: &[usize]) {
    let ctx = gpu();
    let total = past + t;
    let k_all = rand_vec(total * nkv * d, 16);
    let v_all = rand_vec(total * nkv * d, 17);
    let q = rand_vec(t * nh * d, 18);
    for &chunk in chunks {
        let cap = if chunk > 0 { chunk } else { total + 3 };
        let s = AttentionShape { nh, nkv, d, cap, chunk };
        let width = s.width();
        let row = nkv * d;
        // qkv rows for the new tokens
        let mut qkv = vec![0.0; t * width];
        for i in 0..t {
            qkv[i * width..i * width + nh * d].copy_from_slice(&q[i * nh * d..(i + 1) * nh * d]);
            qkv[i * width + nh * d..i * width + nh * d + row]
                .copy_from_slice(&k_all[(past + i) * row..(past + i + 1) * row]);
            qkv[i * width + nh * d + row..(i + 1) * width]
                .copy_from_slice(&v_all[(past + i) * row..(past + i + 1) * row]);
        }
        // the cache as earlier steps left it: chunked layers keep only the chunk of past - 1
        let (mut kc, mut vc) = (vec![f32::NAN; cap * row], vec![f32::NAN; cap * row]);
        let keep_from = if chunk > 0 { (past - 1) / chunk * chunk } else { 0 };
        for p in keep_from..past {
            kc[(p % cap) * row..(p % cap + 1) * row].copy_from_slice(&k_all[p * row..(p + 1) * row]);
            vc[(p % cap) * row..(p % cap + 1) * row].copy_from_slice(&v_all[p * row..(p + 1) * row]);
        }
        let qa = Activation::from_f32(ctx, "qkv", &qkv).unwrap();
        let (ka, va) = (Activation::from_f32(ctx, "k", &kc).unwrap(), Activation::from_f32(ctx, "v", &vc).unwrap());
        let out = Activation::new(ctx, "out", t * nh * d).unwrap();
        let step = step_buffer(ctx, past as u32, t as u32, 0);
        let mut rec = Recorder::new(ctx);
        kernels::attention(&mut rec, s, &qa, &ka, &va, &out, &step, t).unwrap();
        kernels::kv_store(&mut rec, s, &qa, &ka, &va, &step, t).unwrap();
        submit(ctx, rec);
        let want = ops::attention(&q, &k_all, &v_all, nh, nkv, d, past, chunk);
        let err = rel_err(&read(ctx, &out), &want);
        assert!(err < 1e-5, "d {d} chunk {chunk}: attention rel err {err:.2e}");
        let (kg, vg) = (read(ctx, &ka), read(ctx, &va));
        let keep_from = if chunk > 0 { (total - 1) / chunk * chunk } else { 0 };
        for p in keep_from..total {
            assert_eq!(
                &kg[(p % cap) * row..(p % cap + 1) * row],
                &k_all[p * row..(p + 1) * row],
                "k slot of position {p}"
            );
            assert_eq!(
                &vg[(p % cap) * row..(p % cap + 1) * row],
                &v_all[p * row..(p + 1) * row],
                "v slot of position {p}"
            );
        }
    }
}

#[test]
fn sampler_matches_cpu_reference() {
    let ctx = gpu();
    let vocab = 1000;
    let logits: Vec<f32> = rand_vec(vocab, 19).iter().map(|v| v * 6.0).collect();
    let la = Activation::from_f32(ctx, "logits", &logits).unwrap();
    let cases = [
        SamplerConfig { temperature: 0.0, ..Default::default() },
        SamplerConfig { temperature: 0.8, top_k: 0, top_p: 1.0, seed: 1 },
        SamplerConfig { temperature: 1.3, top_k: 40, top_p: 1.0, seed: 2 },
        SamplerConfig { temperature: 0.7, top_k: 0, top_p: 0.8, seed: 3 },
        SamplerConfig { temperature: 1.0, top_k: 25, top_p: 0.5, seed: 4 },
        SamplerConfig { temperature: 1.0, top_k: 1, top_p: 1.0, seed: 5 },
    ];
    for cfg in cases {
        let mut seen = std::collections::HashSet::new();
        for counter in 0..64u32 {
            let out = Activation::new(ctx, "tok", 1).unwrap();
            let step = step_buffer(ctx, 0, 1, counter);
            let mut rec = Recorder::new(ctx);
            kernels::sample(&mut rec, &cfg, &la, 0, vocab, &out, &step).unwrap();
            submit(ctx, rec);
            let got = block_on(read_words(ctx, &out.buffer, 0, 1)).unwrap()[0];
            let (want, kept) = ops::sample(&logits, cfg.temperature, cfg.top_k, cfg.top_p, cfg.seed32(), counter);
            assert!(kept.contains(&got), "{cfg:?}: token {got} outside the kept set of {}", kept.len());
            if cfg.top_k > 0 {
                assert!(kept.len() <= cfg.top_k, "{cfg:?}: kept {} > top-k", kept.len());
            }
            if got != want {
                // Same uniform draw (pcg(seed ^ pcg(counter))): the GPU may differ only where the
                // draw falls within rounding of the boundary between two tokens' CDF intervals.
                assert!(!cfg.greedy(), "greedy: GPU {got}, CPU {want}");
                let m = logits.iter().cloned().fold(f32::MIN, f32::max);
                let w = |i: u32| (((logits[i as usize] - m) / cfg.temperature) as f64).exp();
                let total: f64 = kept.iter().map(|&i| w(i)).sum();
                let before: f64 = kept.iter().take_while(|&&i| i != got).map(|&i| w(i)).sum();
                let u = (ops::pcg(cfg.seed32() ^ ops::pcg(counter)) >> 8) as f64 / 16777216.0;
                let (target, slack) = (u * total, 1e-5 * total);
                assert!(
                    target >= before - slack && target <= before + w(got) + slack,
                    "{cfg:?} draw {counter}: GPU {got} is not the token the shared draw selects (CPU {want})"
                );
            }
            seen.insert(got);
        }
        if cfg.greedy() || cfg.top_k == 1 {
            assert_eq!(seen.len(), 1);
        } else {
            assert!(seen.len() > 2, "{cfg:?}: sampling looks deterministic: {seen:?}");
        }
    }
}
