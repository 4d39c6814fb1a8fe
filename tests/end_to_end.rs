//! Every fixture end to end against transformers: prompt logits (prefill), the greedy
//! continuation and its per-step logits (decode through our KV cache).

mod common;
use common::*;
use llama4_wgpu::gpu::{AdapterChoice, GpuContext};
use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::loader::Checkpoint;
use llama4_wgpu::model::TextModel;
use llama4_wgpu::runtime::Session;
use llama4_wgpu::TextConfig;
use pollster::block_on;

const TOL: f32 = 1e-3;

/// A fixture's config and its weights on `ctx`.
fn load(name: &str, ctx: &GpuContext) -> (TextConfig, std::sync::Arc<TextModel>) {
    let dir = fixture(name);
    let cfg = TextConfig::from_dir(&dir).unwrap();
    let model = std::sync::Arc::new(TextModel::load(ctx, &cfg, &Checkpoint::open(&dir).unwrap(), |_| {}).unwrap());
    (cfg, model)
}

fn check_fixture(name: &str, ctx: &GpuContext) {
    let (cfg, model) = load(name, ctx);
    let r = reference(&fixture(name));
    let v = cfg.vocab_size;
    let mut s = Session::new(ctx, &model, 128, SamplerConfig::default()).unwrap();
    let out = block_on(s.prefill(&r.prompt_ids, true)).unwrap();
    let err = rel_err(out.logits.as_ref().unwrap(), &r.prompt_logits);
    assert!(err <= TOL, "{name}: prompt logits rel err {err:.2e} > {TOL}");
    let mut tokens = vec![out.token];
    let mut step_logits = out.logits.unwrap()[(r.prompt_ids.len() - 1) * v..].to_vec();
    while tokens.len() < r.greedy_tokens.len() {
        let o = block_on(s.decode(None, true)).unwrap();
        tokens.push(o.token);
        step_logits.extend(o.logits.unwrap());
    }
    assert_eq!(tokens, r.greedy_tokens, "{name}: greedy tokens differ from transformers");
    let err = rel_err(&step_logits, &r.decode_logits);
    assert!(err <= TOL, "{name}: decode logits rel err {err:.2e} > {TOL}");
    eprintln!("{name}: ok (decode rel err {err:.2e})");
}

#[test]
fn dense_only() {
    check_fixture("dense", gpu());
}

#[test]
fn scout_like_chunked_moe_nope_temperature() {
    check_fixture("scout", gpu());
}

#[test]
fn maverick_like_128_experts_interleaved() {
    check_fixture("maverick", gpu());
}

#[test]
fn top2_odd_gqa_head_dim_tied_f16() {
    check_fixture("top2_gqa_tied_f16", gpu());
}

#[test]
fn hub_layout_bf16_sharded() {
    check_fixture("hub_bf16_sharded", gpu());
}

#[test]
fn conditional_generation_text_part() {
    check_fixture("vlm_text", gpu());
}

/// Tensors larger than the storage-binding limit are split: force a 4 KiB limit so the embedding,
/// lm_head and expert tensors all become many chunks (experts split inside one expert too).
#[test]
fn split_tensors_give_the_same_numbers() {
    let ctx = gpu_with(AdapterChoice { max_binding_override: Some(4096), ..Default::default() });
    let (cfg, model) = load("scout", &ctx);
    assert!(model.embed.chunks.len() >= 32, "embedding not split: {} chunks", model.embed.chunks.len());
    if let llama4_wgpu::model::Ffn::Moe { experts_gate_up, .. } = &model.layers[0].ffn {
        assert!(experts_gate_up.chunks.len() > cfg.num_local_experts, "experts not split inside an expert");
        assert!(experts_gate_up.chunks.iter().all(|c| c.experts.len() == 1));
    } else {
        panic!("layer 0 should be MoE");
    }
    let ws = llama4_wgpu::model::Workspace::new(&ctx, &cfg, model.passes(&ctx), 37, true).unwrap();
    assert!(ws.logits.len() >= 10, "logits not split into row blocks: {}", ws.logits.len());
    drop((model, ws));
    check_fixture("scout", &ctx);
}

/// Decode across chunk boundaries (chunk 8, positions 37..44) equals a full recompute, and a
/// prompt prefilled in two pieces equals one prefill.
#[test]
fn cached_decode_equals_full_recompute_across_chunks() {
    let ctx = gpu();
    let (cfg, model) = load("scout", ctx);
    assert_eq!(cfg.attention_chunk_size, 8);
    let r = reference(&fixture("scout"));
    let v = cfg.vocab_size;
    let mut s = Session::new(ctx, &model, 64, SamplerConfig::default()).unwrap();
    let mut seq = r.prompt_ids.clone();
    let first = block_on(s.prefill(&seq, false)).unwrap();
    seq.push(first.token);
    for _ in 0..6 {
        let o = block_on(s.decode(None, true)).unwrap();
        let cached = o.logits.unwrap();
        let mut fresh = Session::new(ctx, &model, 64, SamplerConfig::default()).unwrap();
        let full = block_on(fresh.prefill(&seq, true)).unwrap().logits.unwrap();
        let err = rel_err(&cached, &full[(seq.len() - 1) * v..]);
        assert!(err <= 1e-4, "position {}: cached vs recomputed rel err {err:.2e}", seq.len() - 1);
        seq.push(o.token);
    }
    assert!(seq.len() > 40, "decode must cross the chunk boundary at 40");

    // Two prefills (20 + 17 tokens, crossing chunks mid-batch) == one prefill of 37.
    let mut split = Session::new(ctx, &model, 64, SamplerConfig::default()).unwrap();
    block_on(split.prefill(&r.prompt_ids[..20], false)).unwrap();
    let second = block_on(split.prefill(&r.prompt_ids[20..], true)).unwrap().logits.unwrap();
    let err = rel_err(&second, &r.prompt_logits[20 * v..]);
    assert!(err <= TOL, "split prefill rel err {err:.2e}");

    // Rewinds into the current chunk, to an earlier chunk's start and to 0 give what one prefill
    // gives; one into the middle of an earlier chunk is refused (the ring holds another chunk now).
    assert!(!split.rewind(20), "position 20 lies in a chunk the ring has left");
    for n in [36, 32, 16, 0] {
        assert!(split.rewind(n), "rewind to {n}");
        let again = block_on(split.prefill(&r.prompt_ids[n..], true)).unwrap().logits.unwrap();
        let err = rel_err(&again, &r.prompt_logits[n * v..]);
        assert!(err <= TOL, "after a rewind to {n}: rel err {err:.2e}");
    }
}

/// Prompts longer than a step prefill in micro-batches: batches of 6 tokens (and a shorter last
/// one; chunk boundaries mid-batch) give transformers' prompt logits and first greedy token, with
/// and without all logits, on MoE (top-1, 128 experts, top-2) fixtures.
#[test]
fn micro_batched_prefill_matches_transformers() {
    let ctx = gpu();
    for name in ["scout", "maverick", "top2_gqa_tied_f16"] {
        let (_, model) = load(name, ctx);
        let r = reference(&fixture(name));
        assert!(r.prompt_ids.len() > 12 && !r.prompt_ids.len().is_multiple_of(6), "{name}: {} ids", r.prompt_ids.len());
        for all_logits in [true, false] {
            let mut s = Session::new(ctx, &model, 128, SamplerConfig::default()).unwrap();
            assert_eq!(s.prefill_batch(), 512, "{name}: the default micro-batch");
            s.set_prefill_batch(6).unwrap();
            let out = block_on(s.prefill(&r.prompt_ids, all_logits)).unwrap();
            assert_eq!(out.token, r.greedy_tokens[0], "{name}: first token");
            assert_eq!(s.position(), r.prompt_ids.len());
            if all_logits {
                let err = rel_err(out.logits.as_ref().unwrap(), &r.prompt_logits);
                assert!(err <= TOL, "{name}: micro-batched prompt logits rel err {err:.2e}");
            }
            let next = block_on(s.decode(None, false)).unwrap();
            assert_eq!(next.token, r.greedy_tokens[1], "{name}: decode after a micro-batched prefill");
        }
    }
    let (_, model) = load("dense", ctx);
    let mut s = Session::new(ctx, &model, 16, SamplerConfig::default()).unwrap();
    let e = s.set_prefill_batch(0).expect_err("a batch of 0 tokens must be refused");
    assert!(e.to_string().contains("between 1 and"), "{e}");
}

/// A Scout-shaped step (hidden 5120, 40 heads, 16 experts of 8192, vocab 202048) on this adapter:
/// the micro-batch [`Workspace::max_tokens`] picks allocates within the binding limit, and twice
/// as many tokens would not (a 4096-token Scout step does not fit 128 MiB bindings).
#[test]
fn scout_steps_fit_the_binding_limit() {
    use llama4_wgpu::model::{Passes, Workspace};
    let ctx = gpu();
    let cfg = llama4_wgpu::loader::synthetic::preset("scout", Some(1), None).unwrap();
    // bf16 experts of 168 MB split inside an expert on 128 MiB bindings: a separate SwiGLU pass;
    // the MoE feed-forward's norm has three readers: a norm pass
    let passes = Passes { swiglu: true, norm: true, fused_norm: !ctx.row_lane_matmul };
    let t = Workspace::max_tokens(ctx, &cfg, passes, 4096);
    eprintln!("a Scout step takes {t} tokens on {}", ctx.info.name);
    assert!(t >= 64, "{t} tokens a step");
    Workspace::new(ctx, &cfg, passes, t, false).unwrap();
    if t < 4096 {
        let e =
            Workspace::new(ctx, &cfg, passes, 2 * t, false).err().expect("twice the batch must pass the binding limit");
        assert!(e.to_string().contains("max_storage_buffer_binding_size"), "{e}");
    }
}

/// The CPU reference forward pass agrees with transformers too (it is the kernels' oracle).
#[test]
fn cpu_reference_matches_transformers() {
    for name in ["scout", "maverick", "top2_gqa_tied_f16"] {
        let dir = fixture(name);
        let cfg = TextConfig::from_dir(&dir).unwrap();
        let ck = Checkpoint::open(&dir).unwrap();
        let m = llama4_wgpu::reference::CpuModel::load(&cfg, &ck).unwrap();
        let r = reference(&dir);
        let err = rel_err(&m.forward(&r.prompt_ids), &r.prompt_logits);
        assert!(err <= TOL, "{name}: CPU reference rel err {err:.2e}");
    }
}

#[test]
fn context_overflow_is_an_error() {
    let ctx = gpu();
    let (_, model) = load("dense", ctx);
    let mut s = Session::new(ctx, &model, 8, SamplerConfig::default()).unwrap();
    let e = block_on(s.prefill(&[1; 9], false)).err().expect("9 tokens in an 8-token context must fail");
    assert!(e.to_string().contains("maximum context of 8"), "{e}");
    let e = block_on(s.prefill(&[1, 2, 100000], false)).err().expect("out-of-vocab id must fail");
    assert!(e.to_string().contains("100000") && e.to_string().contains("vocab"), "{e}");
}

/// A 300-token prompt (many 64-key attention tiles on the global layers, 38 chunks on the
/// chunked ones) against the CPU reference forward pass, itself checked against transformers.
#[test]
fn long_prompt_matches_cpu_reference() {
    let ctx = gpu();
    for name in ["scout", "top2_gqa_tied_f16"] {
        let (cfg, model) = load(name, ctx);
        let ids: Vec<u32> = (0..300u32).map(|i| (i * 7919 + 3) % cfg.vocab_size as u32).collect();
        let mut s = Session::new(ctx, &model, 320, SamplerConfig::default()).unwrap();
        let gpu_logits = block_on(s.prefill(&ids, true)).unwrap().logits.unwrap();
        let cpu = llama4_wgpu::reference::CpuModel::load(&cfg, &Checkpoint::open(&fixture(name)).unwrap()).unwrap();
        let err = rel_err(&gpu_logits, &cpu.forward(&ids));
        assert!(err <= TOL, "{name}: 300-token prompt rel err {err:.2e}");
    }
}

/// The browser's budget on any machine: WebGPU's default limits, shader-f16 and subgroups masked
/// off. Every fixture gives transformers' numbers there too.
#[test]
fn every_fixture_under_webgpu_default_limits() {
    let ctx = gpu_with(AdapterChoice { limits: llama4_wgpu::gpu::LimitsPreset::WebGpuDefault, ..Default::default() });
    assert_eq!(ctx.limits.max_storage_buffer_binding_size, 128 << 20);
    assert_eq!(ctx.limits.max_buffer_size, 256 << 20);
    assert_eq!(ctx.limits.max_compute_workgroup_storage_size, 16384);
    assert!(!ctx.features.intersects(wgpu::Features::SHADER_F16 | wgpu::Features::SUBGROUP));
    for name in ["dense", "scout", "maverick", "top2_gqa_tied_f16", "hub_bf16_sharded", "vlm_text", "llama4_gguf"] {
        check_fixture(name, &ctx);
    }
}

/// The GL backend (llvmpipe through EGL in CI): no f16, no subgroups, its own shader translation.
/// Every fixture gives transformers' numbers there too.
#[test]
fn every_fixture_on_gl() {
    let ctx = gpu_with(AdapterChoice { backend: Some(wgpu::Backends::GL), ..Default::default() });
    assert_eq!(ctx.info.backend, wgpu::Backend::Gl);
    for name in ["dense", "scout", "maverick", "top2_gqa_tied_f16", "hub_bf16_sharded", "vlm_text", "llama4_gguf"] {
        check_fixture(name, &ctx);
    }
}

/// The browser's path: a sharded checkpoint given as bytes in memory (`MemoryFiles`: config,
/// index, shards and tokenizer files, as a page downloads them) and a GGUF image from bytes load
/// through the same loaders and give the same prompt logits as the files on disk, bit for bit,
/// with the same tokenizer and chat template.
#[test]
fn checkpoints_from_bytes_in_memory_equal_files_on_disk() {
    use llama4_wgpu::loader::{Gguf, MemoryFiles};
    use llama4_wgpu::runtime::ModelFiles;
    let ctx = gpu();
    let logits = |cfg: &TextConfig, ck: &dyn llama4_wgpu::loader::TensorSource, ids: &[u32]| {
        let model = std::sync::Arc::new(TextModel::load(ctx, cfg, ck, |_| {}).unwrap());
        let mut s = Session::new(ctx, &model, 64, SamplerConfig::default()).unwrap();
        block_on(s.prefill(ids, true)).unwrap().logits.unwrap()
    };
    let dir = fixture("hub_bf16_sharded");
    let mut files = MemoryFiles::new("https://example.test/hub_bf16_sharded/");
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        files.insert(e.file_name().to_str().unwrap(), std::fs::read(e.path()).unwrap());
    }
    let (mem, disk) = (ModelFiles::from_folder(&files, true).unwrap(), ModelFiles::open(&dir).unwrap());
    let ids = reference(&dir).prompt_ids;
    assert_eq!(logits(&mem.cfg, mem.tensors.as_ref(), &ids), logits(&disk.cfg, disk.tensors.as_ref(), &ids));
    let text = "the quick brown fox";
    let (tm, td) = (mem.tokenizer.as_ref().unwrap(), disk.tokenizer.as_ref().unwrap());
    assert_eq!(tm.encode(text).unwrap(), td.encode(text).unwrap());
    assert_eq!(mem.chat_template, disk.chat_template);
    assert_eq!(mem.path, std::path::Path::new("https://example.test/hub_bf16_sharded/"));
    // what a missing shard says
    let mut partial = MemoryFiles::new("https://example.test/partial/");
    partial.insert("model.safetensors.index.json", std::fs::read(dir.join("model.safetensors.index.json")).unwrap());
    let err = Checkpoint::from_files(&partial).err().unwrap().to_string();
    assert!(
        err.contains("https://example.test/partial/model-00001-of-00004.safetensors: not among the files given"),
        "{err}"
    );

    let path = fixture("llama4_gguf").join("model-f32.gguf");
    let (a, b) = (Gguf::from_bytes(&path, std::fs::read(&path).unwrap()).unwrap(), Gguf::open(&path).unwrap());
    let ids = reference(&fixture("llama4_gguf")).prompt_ids;
    let cfg = TextConfig::from_gguf(&a).unwrap();
    assert_eq!(logits(&cfg, &a, &ids), logits(&cfg, &b, &ids));
}
