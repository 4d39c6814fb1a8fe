//! The embedding API (`Runtime`, `Model`, `Chat`, `Request`, `Generation`) against transformers'
//! greedy tokens of the fixtures, on a device the library made and on one a host app made.

mod common;

use common::{fixture, gpu, quiet_vulkan, reference};
use llama4_wgpu::gpu::GpuContext;
use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::runtime::chat::Message;
use llama4_wgpu::{CancelToken, Error, Model, Request, Runtime, StopReason};
use pollster::block_on;

fn runtime() -> Runtime {
    Runtime::from_context(gpu().clone())
}

fn open(rt: &Runtime, name: &str) -> Model {
    rt.open(&fixture(name), &Default::default(), |_| {}).unwrap()
}

/// Every token of `req` on `chat`, with why it stopped.
fn answer(chat: &mut llama4_wgpu::Chat, req: Request) -> (Vec<u32>, String, llama4_wgpu::Stats) {
    let mut g = chat.generate(req).unwrap();
    let mut ids = vec![];
    while let Some(t) = block_on(g.next()).unwrap() {
        ids.push(t.id);
    }
    (ids, g.text().to_string(), g.stats().clone())
}

#[test]
fn a_request_streams_transformers_greedy_tokens() {
    let rt = runtime();
    let r = reference(&fixture("scout"));
    let model = open(&rt, "scout");
    let mut progress = vec![];
    let again = rt.open(&fixture("scout"), &Default::default(), |u| progress.push((u.layer, u.layers))).unwrap();
    let layers = model.config().num_hidden_layers;
    assert_eq!(progress, (1..=layers).map(|i| (i, layers)).collect::<Vec<_>>(), "one progress call a layer");
    drop(again);

    let mut chat = model.chat(None).unwrap();
    let n = r.greedy_tokens.len();
    let (ids, _, st) = answer(&mut chat, Request::ids(r.prompt_ids.clone()).max_tokens(n));
    assert_eq!(ids, r.greedy_tokens);
    assert_eq!((st.prompt_tokens, st.reused_tokens, st.generated), (r.prompt_ids.len(), 0, n));
    assert_eq!(st.stop, Some(StopReason::MaxTokens));
    // the cache holds the prompt and every token but the last (sampled, not yet fed)
    assert_eq!(chat.cached_ids(), [&r.prompt_ids[..], &r.greedy_tokens[..n - 1]].concat());
}

#[test]
fn sampling_is_per_request() {
    let rt = runtime();
    let r = reference(&fixture("dense"));
    let model = open(&rt, "dense");
    let mut chat = model.chat(Some(64)).unwrap();
    let n = r.greedy_tokens.len();
    let sampled = SamplerConfig { temperature: 1.5, top_k: 0, top_p: 1.0, seed: 11 };
    let ask = |s: SamplerConfig| Request::ids(r.prompt_ids.clone()).max_tokens(n).sampling(s);
    let (a, _, _) = answer(&mut chat, ask(sampled));
    assert_ne!(a, r.greedy_tokens, "a hot draw that picks the argmax every time proves nothing");
    let (g, _, st) = answer(&mut chat, ask(SamplerConfig::default()));
    assert_eq!(g, r.greedy_tokens, "greedy after a sampled request");
    // (no chunked layer here: the cache goes back to any position)
    assert_eq!(st.reused_tokens, r.prompt_ids.len() - 1, "the prompt stayed in the cache");
    let (b, _, _) = answer(&mut chat, ask(sampled));
    assert_eq!(b, a, "the same seed draws the same ids whatever ran before");
    let mut fresh = model.chat(Some(64)).unwrap();
    assert_eq!(answer(&mut fresh, ask(sampled)).0, a, "and a new chat draws them too");
    let bad = SamplerConfig { top_p: 0.0, ..sampled };
    assert!(matches!(chat.generate(ask(bad)), Err(Error::Input(m)) if m.contains("top-p")));
}

#[test]
fn cancel_and_drop_stop_between_tokens() {
    let rt = runtime();
    let r = reference(&fixture("scout"));
    let model = open(&rt, "scout");
    let mut chat = model.chat(Some(64)).unwrap();
    let cancel = CancelToken::new();
    let req = Request::ids(r.prompt_ids.clone()).max_tokens(8).cancel(cancel.clone());
    let mut g = chat.generate(req).unwrap();
    let mut ids = vec![];
    while let Some(t) = block_on(g.next()).unwrap() {
        ids.push(t.id);
        if ids.len() == 3 {
            cancel.cancel();
        }
    }
    assert_eq!(ids, r.greedy_tokens[..3]);
    assert_eq!(g.stats().stop, Some(StopReason::Cancelled));
    drop(g);
    // the conversation stands after the 3rd token: feeding it continues transformers' run
    let held = [&r.prompt_ids[..], &r.greedy_tokens[..3]].concat();
    let (rest, _, st) = answer(&mut chat, Request::ids(held.clone()).max_tokens(5));
    assert_eq!(rest, r.greedy_tokens[3..]);
    assert_eq!(st.reused_tokens, held.len() - 1);

    // a generation dropped after 2 tokens leaves the same kind of state
    let mut g = chat.generate(Request::ids(r.prompt_ids.clone()).max_tokens(8)).unwrap();
    for _ in 0..2 {
        block_on(g.next()).unwrap().unwrap();
    }
    drop(g);
    let held = [&r.prompt_ids[..], &r.greedy_tokens[..2]].concat();
    assert_eq!(answer(&mut chat, Request::ids(held).max_tokens(6)).0, r.greedy_tokens[2..]);
}

#[test]
fn a_follow_up_turn_equals_a_fresh_chat() {
    let rt = runtime();
    let model = open(&rt, "scout");
    let user = |c: &str| Message { role: "user".into(), content: c.into() };
    let mut chat = model.chat(Some(256)).unwrap();
    let first = vec![user("hello there")];
    let (_, said, st) = answer(&mut chat, Request::messages(first.clone()).max_tokens(6));
    assert_eq!(st.prompt_tokens, model.prompt_ids(&llama4_wgpu::Prompt::Messages(first.clone())).unwrap().len());
    let mut second = first;
    second.push(Message { role: "assistant".into(), content: said });
    second.push(user("and again"));
    let (a, text, st) = answer(&mut chat, Request::messages(second.clone()).max_tokens(6));
    assert!(st.reused_tokens > 0, "the first turn was prefilled again");
    let mut fresh = model.chat(Some(256)).unwrap();
    let (b, fresh_text, fst) = answer(&mut fresh, Request::messages(second).max_tokens(6));
    assert_eq!((a, text), (b, fresh_text));
    assert_eq!(fst.reused_tokens, 0);
}

#[test]
fn two_models_side_by_side() {
    let rt = runtime();
    let (scout, dense) = (open(&rt, "scout"), open(&rt, "dense"));
    let (rs, rd) = (reference(&fixture("scout")), reference(&fixture("dense")));
    let (mut cs, mut cd) = (scout.chat(Some(64)).unwrap(), dense.chat(Some(64)).unwrap());
    let mut gs = cs.generate(Request::ids(rs.prompt_ids.clone()).max_tokens(rs.greedy_tokens.len())).unwrap();
    let mut gd = cd.generate(Request::ids(rd.prompt_ids.clone()).max_tokens(rd.greedy_tokens.len())).unwrap();
    let (mut s, mut d) = (vec![], vec![]);
    // interleaved, one token of each at a time
    loop {
        let a = block_on(gs.next()).unwrap();
        let b = block_on(gd.next()).unwrap();
        s.extend(a.as_ref().map(|t| t.id));
        d.extend(b.as_ref().map(|t| t.id));
        if a.is_none() && b.is_none() {
            break;
        }
    }
    assert_eq!((s, d), (rs.greedy_tokens, rd.greedy_tokens));
}

#[test]
fn bad_requests_are_errors_an_app_can_match() {
    let rt = runtime();
    let model = open(&rt, "scout");
    let mut chat = model.chat(Some(64)).unwrap();
    let vocab = model.config().vocab_size as u32;
    assert!(
        matches!(chat.generate(Request::ids(vec![1, vocab])), Err(Error::Input(m)) if m.contains(&vocab.to_string()))
    );
    assert!(matches!(chat.generate(Request::ids(vec![])), Err(Error::Input(m)) if m.contains("empty")));
    let long = vec![1; model.config().max_position_embeddings];
    assert!(matches!(chat.generate(Request::ids(long)), Err(Error::Input(m)) if m.contains("context")));
}

/// A host app's device (limits and features as `GpuContext::wanted_*` say) with the host's own
/// error handler: the model runs on it, and the handler is still the host's afterwards.
#[test]
fn a_host_device_runs_the_model_and_keeps_its_error_handler() {
    quiet_vulkan();
    let r = reference(&fixture("scout"));
    let adapter = gpu_adapter();
    let (device, queue) = block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        required_limits: GpuContext::wanted_limits(&adapter),
        required_features: GpuContext::wanted_features(&adapter),
        ..Default::default()
    }))
    .unwrap();
    let errors = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
    let sink = errors.clone();
    device.on_uncaptured_error(std::sync::Arc::new(move |e: wgpu::Error| sink.lock().unwrap().push(e.to_string())));
    let rt = Runtime::from_device(&adapter, device.clone(), queue, &Default::default()).unwrap();
    let model = open(&rt, "scout");
    let mut chat = model.chat(Some(64)).unwrap();
    let (ids, _, _) = answer(&mut chat, Request::ids(r.prompt_ids.clone()).max_tokens(8));
    assert_eq!(ids, r.greedy_tokens);
    assert!(errors.lock().unwrap().is_empty(), "{:?}", errors.lock().unwrap());
    // the host's own mistake still reaches the host's handler
    let _ = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("host mistake"),
        size: 16,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let got = errors.lock().unwrap().clone();
    assert!(got.len() == 1 && got[0].contains("host mistake"), "{got:?}");

    // a host device below what the kernels need is refused, naming the limit
    let small = wgpu::Limits { max_storage_buffers_per_shader_stage: 4, ..Default::default() };
    let (device, queue) =
        block_on(adapter.request_device(&wgpu::DeviceDescriptor { required_limits: small, ..Default::default() }))
            .unwrap();
    let e = Runtime::from_device(&adapter, device, queue, &Default::default()).err().unwrap();
    assert!(
        matches!(&e, Error::Unsupported { what, .. } if what.contains("max_storage_buffers_per_shader_stage 4 (the kernels need 5)")),
        "{e}"
    );
}

/// The adapter the tests' shared context uses, found again by name.
fn gpu_adapter() -> wgpu::Adapter {
    let want = &gpu().info;
    let all = block_on(llama4_wgpu::gpu::list_adapters(Some(want.backend.into())));
    all.into_iter().find(|(_, r)| r.info.name == want.name).map(|(a, _)| a).expect("the tests' adapter")
}
