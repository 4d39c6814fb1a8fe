//! `llama4-wgpu bench` through the real binary: llama-bench's JSON fields, each consistent with
//! its own samples, on random weights at a preset's shapes and on a checkpoint.

mod common;
use common::*;
use serde_json::Value;
use std::process::Command;

fn bench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_llama4-wgpu")).arg("bench").args(args).output().unwrap()
}

fn bench_json(args: &[&str]) -> Vec<Value> {
    let out = bench(&[args, &["-o", "json"]].concat());
    assert!(out.status.success(), "bench {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

/// Every row: `reps` samples, tokens/s = tokens / time per sample, the averages and (sample)
/// standard deviations of exactly those samples.
fn check_row(r: &Value, n_prompt: u64, n_gen: u64, reps: usize) {
    assert_eq!((r["n_prompt"].as_u64(), r["n_gen"].as_u64()), (Some(n_prompt), Some(n_gen)), "{r}");
    let ns: Vec<f64> = r["samples_ns"].as_array().unwrap().iter().map(f).collect();
    let ts: Vec<f64> = r["samples_ts"].as_array().unwrap().iter().map(f).collect();
    assert_eq!((ns.len(), ts.len()), (reps, reps));
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-9);
    for (n, t) in ns.iter().zip(&ts) {
        assert!(*n > 0.0 && close(*t, (n_prompt + n_gen) as f64 * 1e9 / n), "{n} ns vs {t} tok/s");
    }
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    let std = |x: &[f64]| {
        let m = mean(x);
        (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)).sqrt()
    };
    assert!(close(f(&r["avg_ts"]), mean(&ts)) && close(f(&r["stddev_ts"]), std(&ts)), "{r}");
    assert!(close(f(&r["avg_ns"]), mean(&ns)) && close(f(&r["stddev_ns"]), std(&ns)), "{r}");
}

#[test]
fn synthetic_tiny_in_llama_bench_json() {
    let rows = bench_json(&["--synthetic", "tiny", "--layers", "2", "-p", "8", "-n", "4", "-r", "3"]);
    assert_eq!(rows.len(), 2);
    check_row(&rows[0], 8, 0, 3);
    check_row(&rows[1], 0, 4, 3);
    let (pp, tg) = (&rows[0], &rows[1]);
    assert!((f(&pp["ttft_ms"]) - f(&pp["avg_ns"]) / 1e6).abs() < 1e-6, "{pp}");
    let dispatches = tg["dispatches_per_token"].as_u64().unwrap();
    assert!((10..200).contains(&dispatches), "{dispatches} dispatches per decode step");
    // lavapipe has timestamp queries: the profile of one decode step covers each of its
    // dispatches once, every kernel took GPU time, and the expert matmul is among them
    let kernels = tg["kernels"].as_array().unwrap();
    let calls: u64 = kernels.iter().map(|k| k["calls"].as_u64().unwrap()).sum();
    assert_eq!(calls, dispatches, "{kernels:?}");
    assert!(kernels.iter().all(|k| f(&k["gpu_ns"]) > 0.0), "{kernels:?}");
    assert!(kernels.iter().any(|k| k["kernel"].as_str().unwrap().starts_with("matmul bf16 EXPERT_ID")), "{kernels:?}");
    // bf16 weights of the tiny preset (hidden 256, 16 experts of 512, vocab 32000): embedding and
    // head 32.8 MB, 13.7 MB a layer
    let per_layer = 2 * (2 * 256 * 256 + 2 * 64 * 256 + 16 * 256 + 16 * 256 * 1024 + 16 * 512 * 256 + 3 * 512 * 256);
    let want = (2 * 2 * 32000 * 256 + 2 * per_layer) as f64;
    let size = f(&pp["model_size"]);
    assert!((size - want).abs() / want < 1e-3, "model_size {size} vs {want}");
    assert_eq!(pp["model"], "synthetic tiny 2L bf16");
    // peak: weights (their textures' rows exactly full here: no padding) + KV cache (13
    // positions: 2 chunked layers, 2 KV heads of 32, K and V) + two 4-byte readbacks (a streamed
    // decode reads one while the next step fills the other) + the decode
    // (T = 1) and prefill (T = 8) workspaces, each 1972 f32 a token (ids, h, x, qkv 384, attn
    // 256, act 512, router 16, top-1 id and score, expert out 256, RoPE 32, temperature) + one
    // logits row (32000) + the sampled id + the sampler's 8 slices' maxima and candidate counts
    // and weights (id and value each: 32 words) and their candidate lists (1024 ids a slice) + one
    // word of gate_up (every gate|up matmul writes its SwiGLU on a CPU adapter: no
    // [T, 2 I] buffer) + a 16-byte uniform
    let kv = 2 * 2 * 13 * 2 * 32 * 4;
    assert_eq!(tg["kv_bytes"].as_u64(), Some(kv));
    let workspace = |t: u64| 4 * (1972 * t + 32000 + 1 + 32 + 8 * 1024 + 1) + 16;
    // on a CPU adapter (lavapipe here) the matmul inputs x, attn and act are uniform-readable
    // (the X_UNIFORM matmul): 64 KiB more each (the norms run as their own passes there, and no
    // matmul reads h)
    let uniform = 3 * 65536;
    // and the prompt's attention takes the window layout: the packed K and V (2 KV heads of
    // 8 x 32 floats, 64 KiB more each); its partial results (8 tokens, 8 heads, 2 slots of
    // d + 2 = 34 floats: 4352) live in act (64 x 512 floats, below), dead while a layer attends
    let windows = 2 * (4 * 2 * 8 * 32 + 65536);
    // and the prompt's experts are grouped: 8 assignments sorted by expert into at most
    // 8 + 8 x 7 = 64 rows (each routed expert's run padded to a tile of 8), so act and expert
    // out hold 56 rows more; each row's expert and source, each assignment's row, and the rows'
    // inputs (uniform-readable)
    let grouped = 4 * 56 * (512 + 256) + 4 * (64 + 64 + 8) + (4 * 64 * 256 + 65536);
    let peak = size as u64 + kv + 2 * 4 + workspace(1) + uniform + workspace(8) + uniform + windows + grouped;
    assert_eq!(pp["peak_gpu_bytes"].as_u64(), Some(peak), "{pp}");

    // achieved rates, from the shapes: a token's layer reads 2 bytes a bf16 weight of qkv
    // (384 x 256), o, the router, the one routed expert's and the shared expert's gate_up
    // (1024 x 256) and down (256 x 512); a step reads the head (32000 x 256) once
    let layer_weights = 384 * 256 + 256 * 256 + 16 * 256 + 2 * (1024 * 256 + 256 * 512);
    let head = 32000 * 256;
    // tg4 after one token: positions 1..=4 read 2..=5 cached positions in each layer, 256 bytes
    // of K and V each (2 heads of 32 f32)
    let decode_bytes = 4 * 2 * (2 * layer_weights + head) + 2 * (2 + 3 + 4 + 5) * 2 * 256;
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b;
    assert!(close(f(&tg["achieved_gbps"]) * f(&tg["avg_ns"]), decode_bytes as f64), "{tg}");
    // pp8: 2 FLOPs a multiply-add for 8 tokens' layers and one row of logits, and attention's
    // 4 nh d = 1024 FLOPs a position read (positions 0..8 read 1..=8 in each layer)
    let prefill_flops = 2 * (8 * 2 * layer_weights + head) + 1024 * 2 * 36;
    assert!(close(f(&pp["achieved_gflops"]) * f(&pp["avg_ns"]), prefill_flops as f64), "{pp}");
    // the adapter's peaks, measured once and the same on every row
    assert!(f(&pp["peaks"]["copy_gbps"]) > 0.0 && f(&pp["peaks"]["fma_gflops"]) > 0.0, "{pp}");
    assert_eq!(pp["peaks"], tg["peaks"]);
}

#[test]
fn synthetic_formats_and_expert_counts() {
    // one layer of 4 experts in q4_K: every matrix 144 bytes a 256-weight block; norms (f32 on
    // the GPU) and the 4 x 256 router (kept bf16) as stored
    let rows = bench_json(&[
        "--synthetic",
        "tiny",
        "--layers",
        "1",
        "--experts",
        "4",
        "--quant",
        "q4_k",
        "-p",
        "0",
        "-n",
        "2",
        "-r",
        "1",
        "--no-profile",
        "--no-peaks",
    ]);
    assert_eq!(rows[0]["model"], "synthetic tiny 1L 4E q4_K");
    let q4k = |n: u64| n / 256 * 144;
    let layer = q4k(384 * 256 + 256 * 256 + 4 * 2 * 1024 * 256 / 2 + 4 * 256 * 512 + 1024 * 256 + 256 * 512)
        + 2 * 4 * 256
        + 2 * 4 * 256;
    let want = 2 * q4k(32000 * 256) + layer;
    assert_eq!(rows[0]["model_size"].as_u64(), Some(want), "{}", rows[0]);
    assert_eq!(rows[0]["peaks"], Value::Null);
    for (args, expect) in [
        (&["--quant", "q5_k"][..], "not a format synthetic weights are stored in"),
        (&["--experts", "0"], "--experts must be at least 1"),
    ] {
        let out = bench(&[&["--synthetic", "tiny", "-p", "0", "-n", "1", "-r", "1"][..], args].concat());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(expect) && !err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn checkpoint_and_bad_arguments() {
    let dense = fixture("dense");
    let rows = bench_json(&["--model", dense.to_str().unwrap(), "-p", "5", "-n", "3", "-r", "2"]);
    check_row(&rows[0], 5, 0, 2);
    check_row(&rows[1], 0, 3, 2);
    let rows = bench_json(&["--model", dense.to_str().unwrap(), "-p", "0", "-n", "2", "-r", "1"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["stddev_ts"], 0.0);

    for (args, expect) in [
        (&["--synthetic", "nope"][..], "unknown synthetic model `nope` (one of: scout, maverick, tiny)"),
        (&["--synthetic", "tiny", "-r", "0"], "-r must be at least 1"),
        (&["--synthetic", "tiny", "-p", "0", "-n", "0"], "nothing to measure"),
        (&["--synthetic", "tiny", "--layers", "0"], "--layers must be at least 1"),
    ] {
        let out = bench(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(expect) && !err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn depths_and_lists_run_each_test_after_skipped_positions() {
    let rows = bench_json(&[
        "--synthetic",
        "tiny",
        "--layers",
        "2",
        "-d",
        "0,40",
        "-p",
        "4,6",
        "-n",
        "2",
        "-r",
        "1",
        "--no-profile",
    ]);
    let depths: Vec<u64> = rows.iter().map(|r| r["n_depth"].as_u64().unwrap()).collect();
    let tests: Vec<(u64, u64)> =
        rows.iter().map(|r| (r["n_prompt"].as_u64().unwrap(), r["n_gen"].as_u64().unwrap())).collect();
    // llama-bench's order: every prompt length, then every generation length, at each depth
    assert_eq!(depths, [0, 0, 0, 40, 40, 40]);
    assert_eq!(tests, [(4, 0), (6, 0), (0, 2), (4, 0), (6, 0), (0, 2)]);
    // the cache holds the deepest, longest test: 40 + 6 + 2 + 1 positions of 2 layers, 2 KV
    // heads of 32, K and V
    let kv = 2 * 2 * 49 * 2 * 32 * 4;
    assert!(
        rows.iter().all(|r| r["kv_bytes"].as_u64() == Some(kv) && r["kernels"] == serde_json::json!([])),
        "{rows:?}"
    );
    // a depth whose global layer's cache exceeds the adapter's binding limit: a clear error
    let out = bench(&["--synthetic", "tiny", "--layers", "4", "-d", "3000000", "-p", "4", "-n", "0", "-r", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("k_cache.3") && err.contains("max_storage_buffer_binding_size"),
        "{err}"
    );
}
