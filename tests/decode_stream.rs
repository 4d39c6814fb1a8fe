//! Pipelined decode (`Session::decode_stream`: the next step queued before each id is read
//! back) against one `Session::decode` per step: the same ids, greedy and sampled, whether it runs
//! to the end, stops early (the step queued past the stop undone) or fills the cache.

mod common;

use common::*;
use llama4_wgpu::gpu::GpuContext;
use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::loader::Checkpoint;
use llama4_wgpu::model::TextModel;
use llama4_wgpu::runtime::Session;
use llama4_wgpu::TextConfig;
use pollster::block_on;

fn load(name: &str, ctx: &GpuContext) -> std::sync::Arc<TextModel> {
    let dir = fixture(name);
    let cfg = TextConfig::from_dir(&dir).unwrap();
    std::sync::Arc::new(TextModel::load(ctx, &cfg, &Checkpoint::open(&dir).unwrap(), |_| {}).unwrap())
}

/// A session on `model` with `prompt` prefilled that queues each next step before reading an id
/// back (the default on GPUs; here on every adapter).
fn session(
    ctx: &GpuContext,
    model: &std::sync::Arc<TextModel>,
    cap: usize,
    s: SamplerConfig,
    prompt: &[u32],
) -> Session {
    let mut session = Session::new(ctx, model, cap, s).unwrap();
    session.set_queue_ahead(true);
    block_on(session.prefill(prompt, false)).unwrap();
    session
}

#[test]
fn decode_stream_matches_stepwise_decode() {
    let ctx = gpu();
    let sampled = SamplerConfig { temperature: 0.8, top_k: 20, top_p: 0.9, seed: 7 };
    for name in ["scout", "dense"] {
        let model = load(name, ctx);
        let prompt = reference(&fixture(name)).prompt_ids;
        let p = prompt.len();
        for sampler in [SamplerConfig::default(), sampled] {
            let mut s = session(ctx, &model, 64, sampler, &prompt);
            let want: Vec<u32> = (0..12).map(|_| block_on(s.decode(None, false)).unwrap().token).collect();
            assert!(want.iter().any(|&t| t != want[0]), "{name}: a run of one id proves little: {want:?}");

            // one step at a time (CPU adapters' default)
            let mut s = session(ctx, &model, 64, sampler, &prompt);
            s.set_queue_ahead(false);
            assert_eq!(block_on(s.decode_stream(12, |_| true)).unwrap(), want, "{name} {sampler:?}: not ahead");

            let mut s = session(ctx, &model, 64, sampler, &prompt);
            let mut streamed = vec![];
            let got = block_on(s.decode_stream(12, |t| {
                streamed.push(t);
                true
            }))
            .unwrap();
            assert_eq!((&got, &streamed), (&want, &want), "{name} {sampler:?}: all 12");
            assert_eq!(s.position(), p + 12);

            // stopped at the 5th id: the 6th step, already queued, is undone
            let mut s = session(ctx, &model, 64, sampler, &prompt);
            let mut seen = 0;
            let got = block_on(s.decode_stream(12, |_| {
                seen += 1;
                seen < 5
            }))
            .unwrap();
            assert_eq!(got, want[..5], "{name} {sampler:?}: stopped at 5");
            assert_eq!(s.position(), p + 5);
            let next: Vec<u32> = (0..4).map(|_| block_on(s.decode(None, false)).unwrap().token).collect();
            assert_eq!(next, want[5..9], "{name} {sampler:?}: stepwise after the stop");
            let last = block_on(s.decode_stream(3, |_| true)).unwrap();
            assert_eq!(last, want[9..], "{name} {sampler:?}: streamed again");

            // a cache with room for 3 more positions: those 3 ids, then the cache's error
            let mut s = session(ctx, &model, p + 3, sampler, &prompt);
            let mut streamed = vec![];
            let e = block_on(s.decode_stream(10, |t| {
                streamed.push(t);
                true
            }))
            .expect_err("10 steps in a cache with room for 3 must fail");
            assert!(e.to_string().contains(&format!("maximum context of {}", p + 3)), "{e}");
            assert_eq!(streamed, want[..3], "{name} {sampler:?}: the ids that fit");
        }
    }
}

#[test]
fn decode_stream_before_prefill_is_an_error() {
    let ctx = gpu();
    let model = load("dense", ctx);
    let mut s = Session::new(ctx, &model, 16, SamplerConfig::default()).unwrap();
    let e = block_on(s.decode_stream(4, |_| true)).expect_err("no token to feed yet");
    assert!(e.to_string().contains("decode before prefill"), "{e}");
}
