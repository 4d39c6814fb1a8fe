//! A tiny transformers Llama 4 (Scout's attention constants, QK norm, llama3 rope scaling, MoE on
//! every other layer) and llama.cpp's `convert_hf_to_gguf.py` conversion of it
//! (`tools/make_llama4_gguf_fixture.py`): the GGUF path gives the safetensors path's logits and
//! greedy tokens, and both give transformers'.

mod common;
use common::*;
use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::model::TextModel;
use llama4_wgpu::runtime::{ModelFiles, Session};
use pollster::block_on;

/// Prompt logits and `n` greedy tokens (with the logits that chose them) from `path`.
fn run(path: &std::path::Path, ids: &[u32], n: usize) -> (Vec<f32>, Vec<u32>, Vec<f32>) {
    let files = ModelFiles::open(path).unwrap();
    let ctx = gpu();
    let model = std::sync::Arc::new(TextModel::load(ctx, &files.cfg, files.tensors.as_ref(), |_| {}).unwrap());
    let mut s = Session::new(ctx, &model, 64, SamplerConfig::default()).unwrap();
    let out = block_on(s.prefill(ids, true)).unwrap();
    let prompt = out.logits.unwrap();
    let v = files.cfg.vocab_size;
    let (mut tokens, mut step) = (vec![out.token], prompt[(ids.len() - 1) * v..].to_vec());
    while tokens.len() < n {
        let o = block_on(s.decode(None, true)).unwrap();
        tokens.push(o.token);
        step.extend(o.logits.unwrap());
    }
    (prompt, tokens, step)
}

#[test]
fn converted_gguf_equals_safetensors_and_transformers() {
    let dir = fixture("llama4_gguf");
    let r = reference(&dir);
    let n = r.greedy_tokens.len();
    let (st_prompt, st_tokens, st_steps) = run(&dir, &r.prompt_ids, n);
    let (gg_prompt, gg_tokens, gg_steps) = run(&dir.join("model-f32.gguf"), &r.prompt_ids, n);
    let errs = [
        ("gguf vs safetensors, prompt", rel_err(&gg_prompt, &st_prompt)),
        ("gguf vs safetensors, decode", rel_err(&gg_steps, &st_steps)),
        ("gguf vs transformers, prompt", rel_err(&gg_prompt, &r.prompt_logits)),
        ("gguf vs transformers, decode", rel_err(&gg_steps, &r.decode_logits)),
    ];
    for (what, err) in errs {
        eprintln!("{what}: rel err {err:.2e}");
        assert!(err < 1e-3, "{what}: rel err {err:.2e}");
    }
    assert_eq!(gg_tokens, st_tokens, "greedy tokens: gguf vs safetensors");
    assert_eq!(gg_tokens, r.greedy_tokens, "greedy tokens: gguf vs transformers");
}

#[test]
fn converted_gguf_carries_the_config_and_chat_template() {
    let dir = fixture("llama4_gguf");
    let (st, gg) = (ModelFiles::open(&dir).unwrap(), ModelFiles::open(&dir.join("model-f32.gguf")).unwrap());
    let (a, b) = (&st.cfg, &gg.cfg);
    assert_eq!(
        (a.num_hidden_layers, a.hidden_size, a.num_attention_heads, a.num_key_value_heads, a.head_dim),
        (b.num_hidden_layers, b.hidden_size, b.num_attention_heads, b.num_key_value_heads, b.head_dim)
    );
    assert_eq!((a.num_local_experts, a.intermediate_size, a.intermediate_size_mlp), (8, 32, 96));
    assert_eq!(
        (b.num_local_experts, b.num_experts_per_tok, b.intermediate_size, b.intermediate_size_mlp),
        (8, 1, 32, 96)
    );
    assert_eq!(a.layers, b.layers, "layer plan (RoPE/NoPE, dense/MoE)");
    assert_eq!((a.attention_chunk_size, a.use_qk_norm), (b.attention_chunk_size, b.use_qk_norm));
    let (fa, fb) = (a.rope_inv_freq(), b.rope_inv_freq());
    assert!(rel_err(&fb, &fa) < 1e-6, "rope frequencies after llama3 scaling: {fa:?} vs {fb:?}");
    assert_eq!(st.chat_template.0, gg.chat_template.0);
    // Both tokenizers agree where the GGUF's declared pre-tokenizer (llama4) splits as the fixture's does.
    let (ta, tb) = (st.tokenizer.as_ref().unwrap(), gg.tokenizer.as_ref().unwrap());
    for text in ["the quick brown fox jumps over the lazy dog", "hello world, how are you today"] {
        assert_eq!(ta.encode(text).unwrap(), tb.encode(text).unwrap(), "{text:?}");
    }
}
