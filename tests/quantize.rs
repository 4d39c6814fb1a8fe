//! Quantize-on-load writes the bytes ggml's reference quantizers write: the fixture holds f32 rows
//! chosen for the quantizers' corner cases and what `llama-quantize --pure` made of them
//! (`tools/make_quant_reference.py`).

use llama4_wgpu::loader::{Gguf, TensorSource};
use llama4_wgpu::quant::{quantize::quantize_row, WeightFormat};
use std::path::Path;

fn quant_fixture(name: &str) -> Gguf {
    Gguf::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quant").join(name)).unwrap()
}

fn check(format: WeightFormat, file: &str) {
    let (input, quantized) = (quant_fixture("input_f32.gguf"), quant_fixture(file));
    for name in ["token_embd.weight", "blk.0.attn_q.weight"] {
        let x = input.get_any(name).unwrap();
        let want = quantized.get_any(name).unwrap();
        assert_eq!((x.dtype, want.dtype), (WeightFormat::F32, format), "{name}");
        let cols = x.cols();
        let block = format.block_bytes();
        for (r, (row, want_row)) in x.to_f32().chunks(cols).zip(want.bytes.chunks(want.row_bytes())).enumerate() {
            let mut got = vec![];
            quantize_row(format, row, &mut got);
            assert_eq!(got.len(), want_row.len());
            for (b, (g, w)) in got.chunks(block).zip(want_row.chunks(block)).enumerate() {
                assert_eq!(g, w, "{} {name} row {r} block {b}: ours != llama-quantize's", format.name());
            }
        }
    }
}

#[test]
fn q8_0_blocks_equal_llama_quantize() {
    check(WeightFormat::Q8_0, "q8_0.gguf");
}

#[test]
fn q4_0_blocks_equal_llama_quantize() {
    check(WeightFormat::Q4_0, "q4_0.gguf");
}

#[test]
fn q4_k_blocks_equal_llama_quantize() {
    check(WeightFormat::Q4K, "q4_k.gguf");
}

// ---- whole models quantized on load: GPU logits equal the CPU reference on the same blocks ----

mod common;
use common::gguf::tiny_llama_in;
use common::*;
use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::loader::{Checkpoint, TensorView};
use llama4_wgpu::model::{LoadOptions, TextModel};
use llama4_wgpu::reference::CpuModel;
use llama4_wgpu::runtime::Session;
use llama4_wgpu::TextConfig;
use std::collections::BTreeMap;

/// Quantizes and dequantizes `x` in place.
fn round_trip(format: WeightFormat, x: &mut [f32]) {
    let mut blocks = vec![];
    quantize_row(format, x, &mut blocks);
    format.dequantize(&blocks, x);
}

/// `inner` with every tensor the issue names for quantize-on-load (attention, dense, shared and
/// routed expert matrices; not norms, router or embeddings) replaced by f32 values that went
/// through `format` along its reduction axis, where that axis is whole blocks. Written from the
/// tensor names, independently of the loader's matrix plan.
struct RoundTripped<'a> {
    inner: &'a dyn TensorSource,
    owned: BTreeMap<String, (Vec<usize>, Vec<u8>)>,
}

impl<'a> RoundTripped<'a> {
    fn new(inner: &'a dyn TensorSource, format: WeightFormat) -> Self {
        const LINEAR: [&str; 14] = [
            "q_proj.weight",
            "k_proj.weight",
            "v_proj.weight",
            "o_proj.weight",
            "gate_proj.weight",
            "up_proj.weight",
            "down_proj.weight",
            "attn_q.weight",
            "attn_k.weight",
            "attn_v.weight",
            "attn_output.weight",
            "ffn_gate.weight",
            "ffn_up.weight",
            "ffn_down.weight",
        ];
        let mut owned = BTreeMap::new();
        for name in inner.names() {
            let v = inner.get_any(name).unwrap();
            let mut x = v.to_f32();
            let shape = v.shape.to_vec();
            if LINEAR.iter().any(|s| name.ends_with(s)) {
                if v.cols() % format.block_elems() != 0 {
                    continue;
                }
                x.chunks_mut(v.cols()).for_each(|row| round_trip(format, row));
            } else if name.ends_with("experts.gate_up_proj") || name.ends_with("experts.down_proj") {
                // HF fused experts [E, K, N] used as x @ W: the reduction axis is K.
                let (e, k, n) = (shape[0], shape[1], shape[2]);
                if k % format.block_elems() != 0 {
                    continue;
                }
                let mut col = vec![0.0; k];
                for (ei, j) in (0..e).flat_map(|ei| (0..n).map(move |j| (ei, j))) {
                    (0..k).for_each(|i| col[i] = x[(ei * k + i) * n + j]);
                    round_trip(format, &mut col);
                    (0..k).for_each(|i| x[(ei * k + i) * n + j] = col[i]);
                }
            } else {
                continue;
            }
            owned.insert(name.to_string(), (shape, x.iter().flat_map(|f| f.to_le_bytes()).collect()));
        }
        assert!(!owned.is_empty(), "nothing to quantize in {}", inner.origin().display());
        RoundTripped { inner, owned }
    }
}

impl TensorSource for RoundTripped<'_> {
    fn origin(&self) -> &Path {
        self.inner.origin()
    }
    fn get_any(&self, name: &str) -> llama4_wgpu::Result<TensorView<'_>> {
        match self.owned.get_key_value(name) {
            Some((n, (shape, bytes))) => {
                Ok(TensorView { name: n, path: self.origin(), dtype: WeightFormat::F32, shape, bytes })
            }
            None => self.inner.get_any(name),
        }
    }
    fn contains(&self, name: &str) -> bool {
        self.inner.contains(name)
    }
    fn names(&self) -> Vec<&str> {
        self.inner.names()
    }
}

/// Loads `ck` quantized to `format` on the GPU and checks its prompt logits against the CPU
/// reference on the round-tripped weights (and that quantizing changed them).
fn check_model(cfg: &TextConfig, ck: &dyn TensorSource, format: WeightFormat, ids: &[u32]) {
    let ctx = gpu();
    let opts = LoadOptions { quantize: Some(format), ..Default::default() };
    let model = std::sync::Arc::new(TextModel::load_with(ctx, cfg, ck, &opts, |_| {}).unwrap());
    let plain = std::sync::Arc::new(TextModel::load(ctx, cfg, ck, |_| {}).unwrap());
    assert!(model.weight_bytes() < plain.weight_bytes(), "{}: nothing was quantized", format.name());
    let mut s = Session::new(ctx, &model, 64, SamplerConfig::default()).unwrap();
    let got = pollster::block_on(s.prefill(ids, true)).unwrap().logits.unwrap();
    let want = CpuModel::load(cfg, &RoundTripped::new(ck, format)).unwrap().forward(ids);
    let f32_ref = CpuModel::load(cfg, ck).unwrap().forward(ids);
    let (err, moved) = (rel_err(&got, &want), rel_err(&want, &f32_ref));
    eprintln!("{}: rel err {err:.2e}, moved by quantization {moved:.2e}", format.name());
    assert!(err < 1e-4, "{}: logits vs reference on the same blocks, rel err {err:.2e}", format.name());
    assert!(moved > 1e-3, "{}: quantizing moved the logits only {moved:.2e}", format.name());
}

#[test]
fn f32_gguf_quantized_on_load_matches_reference() {
    use WeightFormat::F32;
    // hidden 256 (whole Q4_K blocks), ffn 128: ffn_down stays f32 under q4_k.
    let file = tiny_llama_in([F32, F32], [[F32; 7]; 2]).to_bytes();
    let path = std::env::temp_dir().join(format!("llama4-wgpu-{}-f32.gguf", std::process::id()));
    std::fs::write(&path, file).unwrap();
    let g = Gguf::open(&path).unwrap();
    let cfg = TextConfig::from_gguf(&g).unwrap();
    let ids: Vec<u32> = (0..9).map(|i| (i * 7 + 3) % 64).collect();
    for f in [WeightFormat::Q8_0, WeightFormat::Q4_0, WeightFormat::Q4K] {
        check_model(&cfg, &g, f, &ids);
    }
}

#[test]
fn moe_safetensors_quantized_on_load_matches_reference() {
    // Scout-shaped: fused HF experts (transposed on upload), shared expert, router kept f32.
    let dir = fixture("scout");
    let (cfg, ck) = (TextConfig::from_dir(&dir).unwrap(), Checkpoint::open(&dir).unwrap());
    for f in [WeightFormat::Q8_0, WeightFormat::Q4_0] {
        check_model(&cfg, &ck, f, &reference(&dir).prompt_ids);
    }
}
