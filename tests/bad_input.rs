//! Bad input through the real binary: each case exits non-zero with a message naming the file,
//! tensor or limit, and never panics.

mod common;
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch_copy(name: &str, case: &str) -> PathBuf {
    let src = common::fixture(name);
    let dst = std::env::temp_dir().join(format!("llama4-wgpu-bad-{}-{case}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dst);
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
    }
    dst
}

/// Runs `llama4-wgpu run` on `dir`; asserts failure without a panic; returns stderr.
fn run_fails(dir: &Path, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_llama4-wgpu"))
        .args(["run", "--model", dir.to_str().unwrap(), "--max-tokens", "2", "--json"])
        .args(if extra.iter().any(|a| a.starts_with("--prompt")) { vec![] } else { vec!["--prompt-ids", "1,2,3"] })
        .args(extra)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "expected failure, got success; stderr: {err}");
    assert_ne!(out.status.code(), Some(101), "exit code 101 means a panic: {err}");
    assert!(!err.contains("panicked"), "panicked: {err}");
    err
}

/// Splits a safetensors file into (header JSON, data).
fn read_st(path: &Path) -> (serde_json::Map<String, serde_json::Value>, Vec<u8>) {
    let b = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    let h: serde_json::Value = serde_json::from_slice(&b[8..8 + n]).unwrap();
    (h.as_object().unwrap().clone(), b[8 + n..].to_vec())
}

fn write_st(path: &Path, header: &serde_json::Map<String, serde_json::Value>, data: &[u8]) {
    let mut h = serde_json::to_vec(header).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    out.extend(data);
    std::fs::write(path, out).unwrap();
}

const Q0: &str = "model.layers.0.self_attn.q_proj.weight";

#[test]
fn truncated_safetensors() {
    let d = scratch_copy("dense", "trunc");
    let f = d.join("model.safetensors");
    let len = std::fs::metadata(&f).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&f).unwrap().set_len(len / 2).unwrap();
    let err = run_fails(&d, &[]);
    assert!(err.contains("model.safetensors"), "{err}");
}

#[test]
fn header_lies_about_sizes() {
    let d = scratch_copy("dense", "lying");
    let f = d.join("model.safetensors");
    let (mut h, data) = read_st(&f);
    let t = h.get_mut(Q0).unwrap().as_object_mut().unwrap();
    let end = t["data_offsets"][1].as_u64().unwrap();
    t.insert("data_offsets".into(), serde_json::json!([t["data_offsets"][0], end + 4096]));
    write_st(&f, &h, &data);
    let err = run_fails(&d, &[]);
    assert!(err.contains("model.safetensors"), "{err}");
}

#[test]
fn wrong_shape() {
    let d = scratch_copy("dense", "shape");
    let f = d.join("model.safetensors");
    let (mut h, data) = read_st(&f);
    // Same byte count, wrong shape: [64, 64] declared as [32, 128].
    h.get_mut(Q0).unwrap().as_object_mut().unwrap().insert("shape".into(), serde_json::json!([32, 128]));
    write_st(&f, &h, &data);
    let err = run_fails(&d, &[]);
    assert!(err.contains(Q0) && err.contains("[32, 128]") && err.contains("[64, 64]"), "{err}");
}

#[test]
fn missing_tensor() {
    let d = scratch_copy("dense", "missing");
    let f = d.join("model.safetensors");
    let (mut h, data) = read_st(&f);
    let name = "model.layers.2.feed_forward.down_proj.weight";
    let t = h.remove(name).unwrap();
    h.insert("renamed.tensor".into(), t);
    write_st(&f, &h, &data);
    let err = run_fails(&d, &[]);
    assert!(err.contains(name) && err.contains("missing"), "{err}");
}

#[test]
fn unknown_architecture() {
    let d = scratch_copy("dense", "arch");
    let p = d.join("config.json");
    let mut c: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    c["architectures"] = serde_json::json!(["MambaForCausalLM"]);
    c["model_type"] = serde_json::json!("mamba");
    std::fs::write(&p, c.to_string()).unwrap();
    let err = run_fails(&d, &[]);
    assert!(err.contains("config.json") && err.contains("MambaForCausalLM"), "{err}");
}

#[test]
fn broken_config_json() {
    let d = scratch_copy("dense", "json");
    std::fs::write(d.join("config.json"), "{ not json").unwrap();
    let err = run_fails(&d, &[]);
    assert!(err.contains("config.json") && err.contains("JSON"), "{err}");
}

#[test]
fn out_of_vocab_prompt_id() {
    let err = run_fails(&common::fixture("dense"), &["--prompt-ids", "1,2,99999"]);
    assert!(err.contains("99999") && err.contains("vocab"), "{err}");
}

#[test]
fn prompt_too_long() {
    let err = run_fails(&common::fixture("dense"), &["--prompt-ids", "1,2,3,4,5,6,7,8,9", "--max-context", "8"]);
    assert!(err.contains("maximum context of 8"), "{err}");
}

#[test]
fn missing_model_dir() {
    let err = run_fails(Path::new("/nonexistent/model"), &[]);
    assert!(err.contains("/nonexistent/model"), "{err}");
}

#[test]
fn no_adapter_for_the_backend() {
    // A backend this machine has no adapter for (no machine has both Metal and DX12): a clear
    // error, not a panic.
    let present: Vec<wgpu::Backend> =
        pollster::block_on(llama4_wgpu::gpu::list_adapters(None)).iter().map(|(_, r)| r.info.backend).collect();
    let absent = [("metal", wgpu::Backend::Metal), ("dx12", wgpu::Backend::Dx12), ("gl", wgpu::Backend::Gl)]
        .into_iter()
        .find(|(_, b)| !present.contains(b))
        .expect("some backend without an adapter");
    let err = run_fails(&common::fixture("dense"), &["--backend", absent.0]);
    assert!(err.contains("no GPU adapter"), "{err}");
    let err = run_fails(&common::fixture("dense"), &["--adapter", "99"]);
    assert!(err.contains("--adapter 99"), "{err}");
}

#[test]
fn max_tokens_that_overflow() {
    let dir = common::fixture("dense");
    let out = Command::new(env!("CARGO_BIN_EXE_llama4-wgpu"))
        .args(["run", "--model", dir.to_str().unwrap(), "--prompt-ids", "1,2", "--max-tokens", "18446744073709551615"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("--max-tokens 18446744073709551615 is too large"), "{err}");
}

/// A kernel parameter that does not fit its 32-bit slot refuses the dispatch (it used to be
/// saturated to u32::MAX silently).
#[test]
fn kernel_parameters_never_truncate() {
    use llama4_wgpu::gpu::{Activation, PipelineKey, Recorder, Shader, Variant};
    use llama4_wgpu::kernels::params::SwigluParams;
    let ctx = common::gpu();
    let a = Activation::new(ctx, "a", 4).unwrap();
    let mut rec = Recorder::new(ctx);
    let err = llama4_wgpu::kernels::swiglu(&mut rec, &a, &a, 1 << 33, 2).unwrap_err();
    assert!(err.to_string().contains("8589934592 does not fit in 32 bits"), "{err}");
    // A parameter struct handed to a shader it does not belong to is refused too.
    let key = PipelineKey { variant: Variant::new(Shader::RmsNorm), overrides: vec![] };
    let err = rec.dispatch(&key, &SwigluParams { width: 2, rows: 1 }, &[&a.buffer, &a.buffer], [1, 1, 1]).unwrap_err();
    assert!(err.to_string().contains("norm/rmsnorm.wgsl does not take"), "{err}");
    assert!(rec.is_empty());
}

/// Truncated or lying .npy files (the `--dump-logits` format the tests read) are errors, never a
/// read past the end.
#[test]
fn truncated_npy_files() {
    let good = std::fs::read(common::fixture("dense").join("prompt_logits.npy")).unwrap();
    let path = std::env::temp_dir().join(format!("llama4-wgpu-bad-{}.npy", std::process::id()));
    let mut v2 = good.clone();
    v2[6] = 2; // version 2: a 4-byte header length
    for bytes in (0..14).map(|n| good[..n].to_vec()).chain([
        v2[..10].to_vec(),
        v2[..11].to_vec(),
        good[..good.len() - 1].to_vec(),
    ]) {
        std::fs::write(&path, &bytes).unwrap();
        let err = llama4_wgpu::runtime::npy::read_f32(&path).unwrap_err();
        assert!(err.to_string().contains("npy"), "{} bytes: {err}", bytes.len());
    }
    std::fs::write(&path, &good).unwrap();
    assert!(llama4_wgpu::runtime::npy::read_f32(&path).is_ok());
}

/// A head_dim the attention kernels cannot take is refused when the model loads.
#[test]
fn unsupported_head_dim() {
    let d = scratch_copy("dense", "head_dim");
    let p = d.join("config.json");
    let mut c: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    c["head_dim"] = 6.into();
    std::fs::write(&p, c.to_string()).unwrap();
    let err = run_fails(&d, &[]);
    assert!(err.contains("head_dim 6 is not supported"), "{err}");
}

/// An operating-system error keeps its `std::io::Error` as the source (callers can match on it).
#[test]
fn io_errors_keep_their_source() {
    let err = llama4_wgpu::loader::Gguf::open(Path::new("/nonexistent/model.gguf")).err().expect("an error");
    let io = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<std::io::Error>()).expect("io source");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains("/nonexistent/model.gguf"), "{err}");
}

/// `--dtype` takes f32 or f16; `info --dtype f16` sizes the KV cache at half the f32 bytes.
#[test]
fn dtype_is_checked_and_f16_halves_the_cache() {
    let dir = common::fixture("scout");
    let err = run_fails(&dir, &["--dtype", "f17"]);
    assert!(err.contains("unknown dtype `f17` (f32, f16)"), "{err}");
    let kv = |dtype: &str| -> f64 {
        let out = Command::new(env!("CARGO_BIN_EXE_llama4-wgpu"))
            .args(["info", "--model", dir.to_str().unwrap(), "--max-context", "1000000", "--dtype", dtype])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success() && text.contains(&format!("positions ({dtype})")), "{text}");
        let mib = text.split("KV cache ").nth(1).unwrap().split(" MiB").next().unwrap();
        mib.parse().unwrap()
    };
    let (a, b) = (kv("f32"), kv("f16"));
    assert!(a > 0.0 && (b * 2.0 - a).abs() <= 0.1, "f32 cache {a} MiB, f16 {b} MiB");
}

/// Image input that cannot be honoured: each a clear error naming what is wrong.
#[test]
fn images_and_patch_tokens_that_do_not_fit() {
    let vision = common::fixture("vision");
    let img = |f: &str| vision.join("images").join(f).to_str().unwrap().to_string();
    // <|patch|> ids (7 in the fixture's tokenizer) with no image: refused, never run as text.
    let err = run_fails(&vision, &["--prompt-ids", "1,7,7,7,7,2"]);
    assert!(err.contains("4 <|patch|> token(s) (id 7) but no image was given"), "{err}");
    // An image whose 1 tile gives 4 rows against ids holding 3 <|patch|>.
    let one = img("one_tile.png");
    let err = run_fails(&vision, &["--prompt-ids", "1,7,7,7,2", "--image", &one]);
    assert!(err.contains("holds 3 <|patch|> token(s) (id 7) but the 1 image(s) give 4 feature rows"), "{err}");
    // Two markers for one image.
    let err = run_fails(&vision, &["--prompt", "<|image|> and <|image|>", "--image", &one]);
    assert!(err.contains("2 <|image|> marker(s) for 1 image(s)"), "{err}");
    // A decompression bomb, refused from its header.
    let err = run_fails(&vision, &["--prompt", "hi", "--image", &img("bad/bomb_50000x50000.png")]);
    assert!(err.contains("bomb_50000x50000.png") && err.contains("over the limit of 89478485"), "{err}");
    // A text-only checkpoint: no --image, and no <|patch|> ids (its tokenizer has the token).
    let dense = common::fixture("dense");
    let err = run_fails(&dense, &["--prompt", "hi", "--image", &one]);
    assert!(err.contains("has no vision tower") && err.contains("--image"), "{err}");
    let err = run_fails(&dense, &["--prompt", "look: <|patch|><|patch|>"]);
    assert!(err.contains("2 <|patch|> token(s)") && err.contains("has no vision tower to fill them"), "{err}");
}
