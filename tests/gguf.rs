//! GGUF files: a tiny `llama` model with every weight format (mixed inside q|k|v and gate|up) runs
//! on the GPU and matches the CPU reference on the same (dequantized) weights; broken files are
//! clean errors through the real binary.

mod common;
use common::gguf::{tiny_llama, GgufFile, Meta};
use common::*;
use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::loader::{Gguf, TensorSource};
use llama4_wgpu::model::TextModel;
use llama4_wgpu::reference::CpuModel;
use llama4_wgpu::runtime::{ModelFiles, Session};
use llama4_wgpu::TextConfig;
use pollster::block_on;
use std::path::PathBuf;
use std::process::Command;

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("llama4-wgpu-{}-{name}.gguf", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn tiny_llama_every_format_matches_cpu_reference() {
    let path = write("tiny", &tiny_llama().to_bytes());
    let g = Gguf::open(&path).unwrap();
    let cfg = TextConfig::from_gguf(&g).unwrap();
    assert_eq!((cfg.num_hidden_layers, cfg.head_dim, cfg.vocab_size), (2, 64, 64));
    assert!(!cfg.tie_word_embeddings && !cfg.use_qk_norm && cfg.attention_chunk_size >= 1 << 31);
    let ids: Vec<u32> = (0..11).map(|i| (i * 7 + 3) % 64).collect();
    let want = CpuModel::load(&cfg, &g).unwrap().forward(&ids);
    for ctx in [
        gpu(),
        &gpu_with(llama4_wgpu::gpu::AdapterChoice {
            row_lane_matmul: Some(!gpu().row_lane_matmul),
            max_binding_override: Some(20000),
            ..Default::default()
        }),
    ] {
        let model = std::sync::Arc::new(TextModel::load(ctx, &cfg, &g, |_| {}).unwrap());
        let mut s = Session::new(ctx, &model, 32, SamplerConfig::default()).unwrap();
        let got = block_on(s.prefill(&ids, true)).unwrap().logits.unwrap();
        let err = rel_err(&got, &want);
        assert!(err < 1e-4, "prefill logits rel err {err:.2e}");
        // decode one more token and compare with a full recompute
        let next = block_on(s.decode(Some(5), true)).unwrap().logits.unwrap();
        let mut ids2 = ids.clone();
        ids2.push(5);
        let full = CpuModel::load(&cfg, &g).unwrap().forward(&ids2);
        let err = rel_err(&next, &full[11 * 64..]);
        assert!(err < 1e-4, "decode logits rel err {err:.2e}");
    }
}

/// Runs the binary on `path`; asserts a clean failure (exit 1, no panic) naming the file; returns stderr.
fn fails(path: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_llama4-wgpu"))
        .args(["run", "--model", path.to_str().unwrap(), "--prompt-ids", "1,2,3", "--max-tokens", "2", "--json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "expected exit 1; stderr: {err}");
    assert!(!err.contains("panicked"), "panicked: {err}");
    assert!(err.contains(path.file_name().unwrap().to_str().unwrap()), "error does not name the file: {err}");
    err
}

fn case(name: &str, bytes: &[u8], expect: &str) {
    let p = write(name, bytes);
    let err = fails(&p);
    assert!(err.contains(expect), "{name}: expected `{expect}` in: {err}");
}

fn modified(f: impl FnOnce(&mut GgufFile)) -> Vec<u8> {
    let mut g = tiny_llama();
    f(&mut g);
    g.to_bytes()
}

/// Byte offset of the first tensor-info record (after the metadata) in a file's header.
fn tensor_info_start(g: &GgufFile) -> usize {
    let mut pos = 24; // magic, version, tensor count, metadata count
    for (k, v) in &g.meta {
        pos += 8 + k.len() + 4;
        pos += match v {
            Meta::U32(_) | Meta::F32(_) => 4,
            Meta::Str(s) => 8 + s.len(),
            Meta::Strs(v) => 4 + 8 + v.iter().map(|s| 8 + s.len()).sum::<usize>(),
        };
    }
    pos
}

#[test]
fn broken_gguf_files_are_clean_errors() {
    let good = tiny_llama().to_bytes();
    case("empty", &[], "empty file");
    case("magic", &[b"GGML", &good[4..]].concat(), "not a GGUF file");
    case("v1", &modified(|g| g.version = 1), "version 1 is not supported");
    case("v4", &modified(|g| g.version = 4), "version 4 is not supported");
    case("trunc-header", &good[..40], "truncated");
    case("trunc-data", &good[..good.len() - 1000], "past the end of the file");
    // counts and lengths that lie: bounded by the bytes that remain, never allocated
    let mut b = good.clone();
    b[8..16].copy_from_slice(&(1u64 << 60).to_le_bytes());
    case("tensor-count", &b, "tensor count");
    let mut b = good.clone();
    b[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    case("kv-count", &b, "metadata count");
    let mut b = good.clone();
    b[24..32].copy_from_slice(&(1u64 << 50).to_le_bytes()); // first key's string length
    case("string-length", &b, "a metadata key");
    let t0 = tensor_info_start(&tiny_llama());
    let name_len = "token_embd.weight".len();
    let dims = t0 + 8 + name_len + 4; // first tensor's dims
    let mut b = good.clone();
    b[dims..dims + 8].copy_from_slice(&(1u64 << 45).to_le_bytes());
    case("absurd-dim", &b, "dimension");
    let mut b = good.clone();
    b[t0 + 8 + name_len..t0 + 12 + name_len].copy_from_slice(&9u32.to_le_bytes());
    case("n-dims", &b, "dimensions");
    let ty = dims + 16;
    let mut b = good.clone();
    b[ty..ty + 4].copy_from_slice(&99u32.to_le_bytes());
    case("unknown-type", &b, "unknown tensor type 99");
    let mut b = good.clone();
    b[ty + 4..ty + 12].copy_from_slice(&(1u64 << 40).to_le_bytes());
    case("offset", &b, "past the end of the file");
    // well-formed files the model cannot use
    case("q2_k", &modified(|g| g.tensors[2].ggml_type = 10), "Q2_K (type 10) is not supported");
    case("missing", &modified(|g| g.tensors.retain(|t| t.name != "blk.1.ffn_down.weight")), "blk.1.ffn_down.weight");
    case(
        "arch",
        &modified(|g| g.set_meta("general.architecture", Meta::Str("gpt2".into()))),
        "unknown architecture `gpt2`",
    );
    case(
        "no-heads",
        &modified(|g| g.meta.retain(|(k, _)| k != "llama.attention.head_count")),
        "llama.attention.head_count",
    );
    case("shape", &modified(|g| g.set_meta("llama.embedding_length", Meta::U32(128))), "shape");
    case(
        "blocks",
        &modified(|g| {
            g.tensors[1].shape = vec![255];
            g.tensors[1].ggml_type = 12
        }),
        "blocks of 256",
    );
    // a model that opens but has no tokenizer: --prompt says so, --prompt-ids works
    let p = write("no-tokenizer", &good);
    let out = Command::new(env!("CARGO_BIN_EXE_llama4-wgpu"))
        .args(["run", "--model", p.to_str().unwrap(), "--prompt", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tokenizer"));
    assert!(ModelFiles::open(&p).unwrap().tokenizer.is_err());
}

/// A page checks a GGUF model from the first bytes of its file before downloading the rest: every
/// prefix that ends inside the header asks for more, the first one that holds it all answers, and
/// an unknown architecture, an unread tensor type or a tensor past the file's end is an error
/// named from the header alone.
#[test]
fn gguf_header_checked_from_a_prefix() {
    let path = std::path::Path::new("remote.gguf");
    let g = tiny_llama();
    let bytes = g.to_bytes();
    let (_, _, tensors) = Gguf::parse(&bytes, path).unwrap();
    let data_start = tensors.values().map(|t| t.start).min().unwrap();
    let header_end = (1..=bytes.len()).find(|&n| Gguf::check_prefix(&bytes[..n], bytes.len(), path).unwrap().is_some());
    let header_end = header_end.unwrap();
    // the last tensor record ends the header; the data (aligned) starts at most 31 bytes later
    assert!(header_end <= data_start && data_start - header_end < 32, "{header_end} vs {data_start}");
    for n in [0, 3, 4, 23, 24, header_end / 2, header_end - 1] {
        assert!(Gguf::check_prefix(&bytes[..n], bytes.len(), path).unwrap().is_none(), "prefix {n}");
    }
    let s = Gguf::check_prefix(&bytes[..header_end], 5 << 30, path).unwrap().unwrap();
    assert_eq!((s.architecture.as_str(), s.tensors), ("llama", g.tensors.len()));

    let err = |b: &[u8], len: usize| Gguf::check_prefix(b, len, path).unwrap_err().to_string();
    let mamba = modified(|g| g.set_meta("general.architecture", Meta::Str("mamba".into())));
    let e = err(&mamba[..mamba.len() - 8], 5 << 30);
    assert!(e.contains("remote.gguf") && e.contains("unknown architecture `mamba` (supported: llama, llama4)"), "{e}");
    let q2k = modified(|g| g.tensors[1].ggml_type = 10);
    let e = err(&q2k, q2k.len());
    assert!(e.contains(&format!("tensor `{}`: tensor type Q2_K (type 10) is not supported", g.tensors[1].name)), "{e}");
    // a server that claims fewer bytes than the tensors need
    let e = err(&bytes[..header_end], bytes.len() - 1);
    assert!(e.contains("lies past the end of the file"), "{e}");
    assert!(err(b"GGML", 1 << 20).contains("not a GGUF file"));
}

#[test]
fn thousands_of_mutated_headers_never_panic() {
    // Stable-Rust stand-in for the cargo-fuzz targets (fuzz/): flip, overwrite and cut bytes of
    // valid GGUF and safetensors headers; parsing must return Ok or Err, never panic or abort.
    let gguf = tiny_llama().to_bytes();
    let header_end = tensor_info_start(&tiny_llama()) + 600;
    let st = std::fs::read(fixture("dense/model.safetensors")).unwrap();
    let st_header = 8 + u64::from_le_bytes(st[..8].try_into().unwrap()) as usize;
    let mut rng = 0x9e3779b9u32;
    let mut next = || {
        rng = llama4_wgpu::reference::ops::pcg(rng);
        rng as usize
    };
    let dir = std::env::temp_dir().join(format!("llama4-wgpu-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..3000 {
        let (src, span) = if i % 3 == 2 { (&st, st_header) } else { (&gguf, header_end) };
        let mut b = src.clone();
        for _ in 0..1 + next() % 4 {
            let at = next() % span.min(b.len());
            match next() % 4 {
                0 => b[at] ^= 1 << (next() % 8),
                1 => b[at] = [0, 0xff, 0x7f, 0x80][next() % 4],
                2 => {
                    let end = (at + 8).min(b.len());
                    b[at..end].iter_mut().for_each(|x| *x = 0xff)
                }
                _ => b.truncate(at.max(1)),
            }
        }
        if i % 3 == 2 {
            std::fs::write(dir.join("model.safetensors"), &b).unwrap();
            std::fs::write(dir.join("config.json"), std::fs::read(fixture("dense/config.json")).unwrap()).unwrap();
            let _ = llama4_wgpu::loader::Checkpoint::open(&dir).map(|c| c.names().len());
            continue;
        }
        if let Ok((_, _, tensors)) = Gguf::parse(&b, "fuzz.gguf".as_ref()) {
            // a header that parses has every tensor inside the buffer
            assert!(tensors.values().all(|t| t.start <= t.end && t.end <= b.len()), "case {i}");
        }
        // the same bytes as a download's first part: Ok(None), Ok(Some) or Err, never a panic
        let _ = Gguf::check_prefix(&b[..next() % b.len()], b.len() + next() % 4096, "fuzz.gguf".as_ref());
    }
}

/// A 295 MB f32 embedding and a 295 MB f32 head under WebGPU's default limits (128 MiB storage
/// bindings, 256 MiB buffers): both are split into chunks that fit, and the logits match the CPU
/// reference.
#[test]
fn embedding_and_head_beyond_webgpu_default_limits() {
    use llama4_wgpu::gpu::{AdapterChoice, LimitsPreset};
    use llama4_wgpu::quant::WeightFormat::F32;
    let v = 288_000; // 288000 x 256 x 4 bytes = 295 MB each
    let path = write("big-vocab", &common::gguf::tiny_llama_vocab(v, [F32, F32], [[F32; 7]; 2]).to_bytes());
    let g = Gguf::open(&path).unwrap();
    let cfg = TextConfig::from_gguf(&g).unwrap();
    let ctx = gpu_with(AdapterChoice { limits: LimitsPreset::WebGpuDefault, ..Default::default() });
    let model = std::sync::Arc::new(TextModel::load(&ctx, &cfg, &g, |_| {}).unwrap());
    assert!(model.embed.chunks.len() >= 3 && model.lm_head.chunks.len() >= 3, "not split");
    assert!(model.embed.chunks.iter().all(|c| c.store.bytes() <= 128 << 20));
    let ids: Vec<u32> = vec![5, 287_999, 144_000, 131_071, 131_072, 7];
    let want = CpuModel::load(&cfg, &g).unwrap().forward(&ids);
    let mut s = Session::new(&ctx, &model, 16, SamplerConfig::default()).unwrap();
    let got = block_on(s.prefill(&ids, true)).unwrap().logits.unwrap();
    let err = rel_err(&got, &want);
    assert!(err < 1e-4, "logits rel err {err:.2e}");
    std::fs::remove_file(&path).ok();
}
