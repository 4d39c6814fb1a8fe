//! Times single kernels on the current adapter (one submit of many repeats): a quick way to see
//! which kernel dominates a step. cargo run --release --example kernel_timing
use llama4_wgpu::gpu::buffers::read_words;
use llama4_wgpu::gpu::RowPart;
use llama4_wgpu::gpu::{Activation, AdapterChoice, GpuContext, Matrix, Recorder, WeightFormat};
use llama4_wgpu::kernels::{self, AttentionPlan, AttentionScratch, AttentionShape, MatmulArgs};
use llama4_wgpu::loader::TensorView;
use std::time::Instant;

fn time(ctx: &GpuContext, name: &str, reps: usize, mut f: impl FnMut(&mut Recorder)) {
    let mut rec = Recorder::new(ctx);
    for _ in 0..reps {
        f(&mut rec);
    }
    let plan = rec.finish();
    for pass in 0..2 {
        let t = Instant::now();
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        plan.encode(&mut enc);
        ctx.queue.submit([enc.finish()]);
        let probe = Activation::new(ctx, "probe", 1).unwrap();
        pollster::block_on(read_words(ctx, &probe.buffer, 0, 1)).unwrap();
        if pass == 1 {
            let ms = t.elapsed().as_secs_f64() * 1e3 / reps as f64;
            println!("{name:<48} {ms:9.3} ms/call ({} dispatches)", plan.len() / reps);
        }
    }
}

fn main() {
    llama4_wgpu::gpu::quiet_headless_vulkan();
    let ctx = pollster::block_on(GpuContext::new(&AdapterChoice::default())).unwrap();
    // SmolLM2-135M's matmul shapes (q|k|v, o, gate|up, down, lm_head) in the formats its files use.
    let only: Option<String> = std::env::args().nth(1);
    let matmuls = if only.as_deref() == Some("attention") {
        &[][..]
    } else {
        &[(960usize, 576usize), (576, 576), (3072, 576), (576, 1536), (49152, 576)][..]
    };
    for &(rows, cols) in matmuls {
        for f in [WeightFormat::F32, WeightFormat::F16, WeightFormat::Q8_0, WeightFormat::Q4_1, WeightFormat::Q4K] {
            if only.as_deref().is_some_and(|o| o != f.name()) || f.bytes_for(cols).is_none() {
                continue;
            }
            // any bytes do for timing; keep the f16 fields finite
            let bytes: Vec<u8> = (0..f.bytes_for(rows * cols).unwrap()).map(|i| (i % 5) as u8 * 16).collect();
            let shape = [rows, cols];
            let view =
                TensorView { name: "w", path: std::path::Path::new("w"), dtype: f, shape: &shape, bytes: &bytes };
            let m = Matrix::upload(&ctx, "w", 1, cols, &[RowPart::Linear(view)]).unwrap();
            for t in [1usize, 64] {
                // x as the model's dense layers have it (read through uniform windows on CPU
                // adapters), or XS=1: from storage, as routed experts read it
                let x = if std::env::var("XS").is_ok() {
                    Activation::new(&ctx, "x", t * cols).unwrap()
                } else {
                    Activation::new_uniform_windows(&ctx, "x", t * cols).unwrap()
                };
                let y = Activation::new(&ctx, "y", t * rows).unwrap();
                let reps = if rows > 10000 { 3 } else { 10 };
                time(&ctx, &format!("matmul {} {rows}x{cols} T={t}", f.name()), reps, |r| {
                    kernels::matmul(r, &m, &x, &y, MatmulArgs::dense(t, rows)).unwrap()
                });
            }
        }
    }
    let (nh, nkv, d) = (8, 2, 32);
    let s = AttentionShape { nh, nkv, d, cap: 64, chunk: 0, kv_f16: false };
    let qkv = Activation::new(&ctx, "qkv", 64 * s.width()).unwrap();
    let kc = Activation::new(&ctx, "k", 64 * nkv * d).unwrap();
    let vc = Activation::new(&ctx, "v", 64 * nkv * d).unwrap();
    let out = Activation::new(&ctx, "o", 64 * nh * d).unwrap();
    let step = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: 16,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    ctx.queue.write_buffer(&step, 0, bytemuck::cast_slice(&[16u32, 1, 0, 0]));
    let plan = AttentionPlan::pick(&ctx, s, 1);
    let scratch = AttentionScratch::new(&ctx, s, 1, plan).unwrap();
    time(&ctx, &format!("attention T=1 past=16 ({plan:?})"), 20, |r| {
        kernels::attention(r, s, &qkv, &kc, &vc, &out, &step, 1, plan, &scratch).unwrap()
    });
    // SmolLM2's prefill attention (9 heads of 64, 3 KV heads): prompts of 8 to 512 tokens, in
    // the direct layout and in the window layout
    for t in [8, 32, 128, 512] {
        let (nh, nkv, d) = (9, 3, std::env::var("D").map_or(64, |v| v.parse().unwrap()));
        let s = AttentionShape { nh, nkv, d, cap: t, chunk: 0, kv_f16: false };
        let data = llama4_wgpu::conformance::data::rand_vec(t * s.width(), 1);
        let qkv = Activation::from_f32(&ctx, "qkv", &data).unwrap();
        let kc = Activation::new(&ctx, "k", t * nkv * d).unwrap();
        let vc = Activation::new(&ctx, "v", t * nkv * d).unwrap();
        let out = Activation::new(&ctx, "o", t * nh * d).unwrap();
        ctx.queue.write_buffer(&step, 0, bytemuck::cast_slice(&[0u32, t as u32, 0, 0]));
        for plan in [AttentionPlan::Direct].into_iter().chain(AttentionPlan::windows(s, t)) {
            if plan == AttentionPlan::Direct && t > 128 {
                continue; // seconds on a CPU adapter
            }
            let scratch = AttentionScratch::new(&ctx, s, t, plan).unwrap();
            time(&ctx, &format!("attention T={t} past=0 SmolLM2 heads, {plan:?}"), 2, |r| {
                kernels::attention(r, s, &qkv, &kc, &vc, &out, &step, t, plan, &scratch).unwrap()
            });
        }
    }
    let x = Activation::new(&ctx, "x", 64 * 256).unwrap();
    let w = Activation::new(&ctx, "w", 256).unwrap();
    let o = Activation::new(&ctx, "o", 64 * 256).unwrap();
    time(&ctx, "rmsnorm 1x256", 20, |r| kernels::rmsnorm(r, &x, &w, &o, 0..1, 256, 1e-5).unwrap());
    let logits = Activation::new(&ctx, "l", 32000).unwrap();
    let tok = Activation::new(&ctx, "t", 1).unwrap();
    let part = kernels::SampleScratch::new(&ctx, 32000).unwrap();
    time(&ctx, "sample greedy 32000", 20, |r| {
        kernels::sample(r, &Default::default(), &logits, 0, 32000, &tok, &step, &part).unwrap()
    });
}
