//! Times single kernels on the current adapter (one submit of many repeats): a quick way to see
//! which kernel dominates a step. cargo run --release --example kernel_timing
use llama4_wgpu::gpu::buffers::read_words;
use llama4_wgpu::gpu::RowPart;
use llama4_wgpu::gpu::{Activation, AdapterChoice, GpuContext, Matrix, Recorder};
use llama4_wgpu::kernels::{self, AttentionShape, MatmulArgs};
use llama4_wgpu::loader::{DType, TensorView};
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
            println!("{name:<40} {:8.3} ms/dispatch", t.elapsed().as_secs_f64() * 1e3 / plan.len() as f64);
        }
    }
}

fn main() {
    let ctx = pollster::block_on(GpuContext::new(&AdapterChoice::default())).unwrap();
    for (rows, cols) in [(1024usize, 256usize), (4096, 256), (256, 1024)] {
        let bytes: Vec<u8> =
            (0..rows * cols).flat_map(|i| half::bf16::from_f32((i % 7) as f32 * 0.01).to_le_bytes()).collect();
        let shape = [rows, cols];
        let view =
            TensorView { name: "w", path: std::path::Path::new("w"), dtype: DType::Bf16, shape: &shape, bytes: &bytes };
        let m = Matrix::upload(&ctx, "w", 1, cols, &[RowPart::Linear(view)]).unwrap();
        for t in [1usize, 64] {
            let x = Activation::new(&ctx, "x", t * cols).unwrap();
            let y = Activation::new(&ctx, "y", t * rows).unwrap();
            time(&ctx, &format!("matmul bf16 {rows}x{cols} T={t}"), 20, |r| {
                kernels::matmul(r, &m, &x, &y, MatmulArgs::dense(t, rows)).unwrap()
            });
        }
    }
    let (nh, nkv, d) = (8, 2, 32);
    let s = AttentionShape { nh, nkv, d, cap: 64, chunk: 0 };
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
    time(&ctx, "attention T=1 past=16", 20, |r| kernels::attention(r, s, &qkv, &kc, &vc, &out, &step, 1).unwrap());
    let x = Activation::new(&ctx, "x", 64 * 256).unwrap();
    let w = Activation::new(&ctx, "w", 256).unwrap();
    let o = Activation::new(&ctx, "o", 64 * 256).unwrap();
    time(&ctx, "rmsnorm 1x256", 20, |r| kernels::rmsnorm(r, &x, &w, &o, 1, 256, 1e-5, 0).unwrap());
    let logits = Activation::new(&ctx, "l", 32000).unwrap();
    let tok = Activation::new(&ctx, "t", 1).unwrap();
    time(&ctx, "sample greedy 32000", 20, |r| {
        kernels::sample(r, &Default::default(), &logits, 0, 32000, &tok, &step).unwrap()
    });
}
