//! Every kernel against the CPU reference (`llama4_wgpu::reference::ops`): the conformance suite
//! `doctor` runs (every weight format, both matmul layouts, split and unsplit weights, ragged
//! shapes and shapes over many workgroups, the MoE grouping, the built-in tiny Llama 4), asserted here on the
//! default adapter; plus what the suite does not cover.

mod common;
use common::*;
use llama4_wgpu::conformance::{self, Check, Checks};
use llama4_wgpu::gpu::buffers::read_f32;
use llama4_wgpu::gpu::{Activation, AdapterChoice, GpuContext, Matrix, Recorder, RowPart, WeightFormat};
use llama4_wgpu::kernels::{self, ExpertRouting, MatmulArgs};
use llama4_wgpu::loader::{DType, TensorView};
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

fn view<'a>(bytes: &'a [u8], dtype: DType, shape: &'a [usize]) -> TensorView<'a> {
    TensorView { name: "test", path: Path::new("test"), dtype, shape, bytes }
}

/// The suite on the devices that cover every variant of the default adapter.
fn conformance_run() -> Vec<Check> {
    quiet_vulkan();
    let devices = block_on(conformance::devices(&AdapterChoice::default())).expect("GPU tests need an adapter");
    let main = &devices[0].1;
    let optional = main.subgroups || main.shader_f16 || main.f16_in_f32;
    assert_eq!(devices.len(), 2 + main.shader_f16 as usize + optional as usize, "main, split, packed, plain");
    let mut checks = Checks::new(|c| eprintln!("{}", conformance::report::row(c)));
    block_on(async {
        conformance::run_kernels(&devices, &mut checks).await;
        conformance::run_model(&devices, &mut checks).await;
    });
    checks.list
}

#[test]
fn every_conformance_check_passes() {
    let checks = conformance_run();
    let failed: Vec<String> = checks.iter().filter(|c| !c.pass).map(conformance::report::row).collect();
    assert!(failed.is_empty(), "{} of {} checks failed:\n{}", failed.len(), checks.len(), failed.join("\n"));
    // What the suite must cover: every format in both layouts (dense and expert-indexed), split
    // and unsplit; every other kernel; the model end to end in both layouts.
    let subgroups = gpu().subgroups;
    // (with subgroups the row-lane matmul shares activation loads through them; its plain
    // variant is what llvmpipe's GL and `doctor --limits webgpu-default` check)
    let layouts: &[&str] = match (llama4_wgpu::kernels::matmul::subgroups(gpu()), subgroups) {
        (true, _) => &["row-lane subgroup", "split-k", "split-k subgroup"],
        (false, true) => &["row-lane", "split-k", "split-k subgroup"],
        (false, false) => &["row-lane", "split-k"],
    };
    for f in WeightFormat::ALL {
        for layout in layouts {
            // the GPU layout's prompts: the tiled GEMM
            let tiled: &[&str] = if layout.starts_with("split-k") { &[" tiled"] } else { &[] };
            let kinds = ["", " expert-id stacked", " expert-id per-expert", " expert-id grouped"];
            for kind in kinds.iter().chain(tiled) {
                let v = format!("{} {layout}{kind}", f.name());
                let n = checks.iter().filter(|c| c.kernel == "matmul" && c.variant.starts_with(&v)).count();
                assert!(n >= 1, "no matmul check for `{v}`");
            }
        }
        // CPU adapters: gate|up matmuls that write their SwiGLU, dense, routed and grouped
        if gpu().row_lane_matmul {
            for kind in ["swiglu", "expert-id swiglu", "expert-id grouped swiglu"] {
                let v = format!("{} {} {kind}", f.name(), layouts[0]);
                assert!(checks.iter().any(|c| c.kernel == "matmul" && c.variant.starts_with(&v)), "no matmul `{v}`");
            }
        }
        let embeds = checks.iter().filter(|c| c.kernel == "embed" && c.variant.starts_with(&format!("{} ", f.name())));
        assert!(embeds.count() >= 2, "{f:?}: embed unsplit and split");
        // weights in a texture (the row-lane layout's store) and in a buffer, for every reader
        for k in ["matmul", "embed"] {
            let of = |tex: bool| {
                let prefix = format!("{} ", f.name());
                let is = |c: &&conformance::Check| {
                    c.kernel == k && c.variant.starts_with(&prefix) && c.variant.contains(", texture") == tex
                };
                checks.iter().filter(is).count()
            };
            assert!(of(true) >= 1 && of(false) >= 1, "{f:?}: {k} from a texture and a buffer");
        }
    }
    let split = |k: &str| checks.iter().filter(|c| c.kernel == k && c.variant.ends_with(" chunked")).count();
    // per format: 3 dense (one tiled), 3 dense applying the input's RMSNorm (NORM, one tiled),
    // 2 expert-indexed, 2 grouped
    assert_eq!((split("matmul"), split("embed")), (11 * 10, 11), "weight-split checks");
    for k in [
        "rmsnorm",
        "swiglu",
        "moe_combine",
        "moe_group",
        "moe_gather",
        "router",
        "qk_prep",
        "attention",
        "kv_store",
        "sample",
        "llama4 e2e",
    ] {
        assert!(checks.iter().any(|c| c.kernel == k), "no {k} check");
    }
    // Both reductions where the adapter has subgroups.
    for r in if subgroups { &["subgroup", "workgroup"][..] } else { &["workgroup"][..] } {
        for k in ["rmsnorm", "qk_prep", "sample"] {
            assert!(checks.iter().any(|c| c.kernel == k && c.variant.ends_with(r)), "no {k} check with {r} reduction");
        }
    }
    // Halves in weights: unpacked with the builtin where the adapter has it, and with integer ops.
    if gpu().f16_in_f32 {
        for d in ["f16 unpack", "f16 int"] {
            assert!(checks.iter().any(|c| c.kernel == "matmul" && c.variant.contains(d)), "no matmul with {d}");
        }
    }
    // The f16 KV cache: unpacked to f32 math always, with f16 math where the adapter has
    // shader-f16; each cache run with the 8 direct and split attention cases, 4 of them split
    // (flash-decoding); and the 4 window cases (lavapipe binds uniform windows)
    let f16_math = gpu().shader_f16;
    let runs = 2 + f16_math as usize;
    let attention =
        |f: &dyn Fn(&str) -> bool| checks.iter().filter(|c| c.kernel == "attention" && f(&c.variant)).count();
    for (v, want) in [(", f16 cache", true), (", f16 cache, f16 math", f16_math)] {
        let n = attention(&|c| c.ends_with(v) && !c.contains(", windows "));
        assert_eq!(n, if want { 8 } else { 0 }, "direct and split attention checks ending in `{v}`");
    }
    assert_eq!(attention(&|c| c.contains(", split ")), 4 * runs, "split attention checks");
    // the window layout does f32 math on any cache: its f16-cache cases run once
    assert_eq!(attention(&|c| c.contains(", windows ")), 8, "window attention checks");
    assert_eq!(attention(&|c| c.contains(", windows ") && c.contains("f16 math")), 0, "window attention is f32 math");
    // Tolerances are real: the f32 matmuls land well inside theirs, not at it; f16 math (where
    // the adapter has shader-f16) shows f16 rounding, inside its own.
    let worst = |f16: bool| {
        let m = checks.iter().filter(|c| c.kernel == "matmul" && c.variant.ends_with(", f16 math") == f16);
        m.map(|c| c.max_err).fold(0.0, f64::max)
    };
    assert!(worst(false) > 0.0 && worst(false) < 1e-5, "worst f32 matmul error {:e}", worst(false));
    if f16_math {
        let w = worst(true);
        assert!(w > 1e-4 && w < conformance::F16_MATH_TOL, "worst f16-math matmul error {w:e}");
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
    let routing = ExpertRouting { ids: &ida, scores: &sa, scale_input: false, grouped: false };
    let args = MatmulArgs { experts: Some(routing), ..MatmulArgs::dense(1, 2 * i) };
    kernels::matmul(&mut rec, &m, &xa, &out, args).unwrap();
    submit(ctx, rec);
    let got = read(ctx, &out);
    let want: Vec<f32> = (0..2 * i).map(|c| (0..h).map(|kk| x[kk] * w[2 * h * 2 * i + kk * 2 * i + c]).sum()).collect();
    assert!(rel_err(&got, &want) < 1e-5);
}
