//! Generation for one loaded model, as a task that lives as long as the model: it owns the model,
//! keeps one [`Session`] (and so the KV cache) across requests, and serves `generate` requests in
//! order. A chat turn re-renders the whole conversation, and only the part the cache does not
//! already hold is prefilled, as `llama4-wgpu chat` does natively. The task ends when the engine
//! drops its sender (another model loaded), freeing the model's GPU memory.

use crate::bench::{BenchOptions, BenchReport};
use crate::{js_err, GenerateOptions, Stats};
use futures_channel::{mpsc, oneshot};
use futures_core::Stream;
use llama4_wgpu::gpu::GpuContext;
use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::model::{KvCache, TextModel};
use llama4_wgpu::runtime::chat::{self, Message};
use llama4_wgpu::runtime::tokenizer::StreamDecoder;
use llama4_wgpu::runtime::{Session, Tokenizer};
use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use wasm_bindgen::JsValue;

/// A model on the GPU with what generation needs beside it.
pub struct Loaded {
    pub model: TextModel,
    pub tokenizer: Option<Tokenizer>,
    pub chat_template: (String, String),
    /// Positions a chat session holds unless a request needs more ([`chat_context`]).
    pub context: usize,
}

/// Positions a chat session holds at most by default (the KV cache grows with it: SmolLM2-135M
/// at 2048 positions takes 94 MiB in f32).
const CHAT_CONTEXT: usize = 2048;
/// Fewer positions than this make no chat.
const MIN_CONTEXT: usize = 128;

/// The positions a chat keeps: [`CHAT_CONTEXT`] (or the model's own context when smaller), fewer
/// when a layer's K or V cache would not fit one storage binding of the adapter; an error naming
/// the limit when not even [`MIN_CONTEXT`] positions fit.
pub fn chat_context(ctx: &GpuContext, model: &TextModel, name: &str) -> Result<usize, JsValue> {
    let cfg = &model.cfg;
    let want = CHAT_CONTEXT.min(cfg.max_position_embeddings.max(1));
    let n = KvCache::positions_within(cfg, want, model.dtype, ctx.max_binding);
    if n < MIN_CONTEXT.min(want) {
        return Err(js_err(format!(
            "{name}: a layer's KV cache holds only {n} positions within this adapter's largest storage \
             binding (max_storage_buffer_binding_size, {} bytes); a chat needs {}",
            ctx.max_binding,
            MIN_CONTEXT.min(want)
        )));
    }
    Ok(n)
}

pub enum Request {
    Generate {
        options: GenerateOptions,
        on_token: js_sys::Function,
        done: oneshot::Sender<Result<Stats, JsValue>>,
    },
    /// The page's benchmark, in a session of its own (the chat's KV cache is let go first).
    Bench {
        options: BenchOptions,
        on_test: js_sys::Function,
        done: oneshot::Sender<Result<BenchReport, JsValue>>,
    },
}

/// Starts the task serving `loaded`; requests go to the returned sender.
pub fn spawn(ctx: Rc<GpuContext>, loaded: Loaded, cancel: Rc<Cell<bool>>) -> mpsc::UnboundedSender<Request> {
    let (tx, mut rx) = mpsc::unbounded::<Request>();
    wasm_bindgen_futures::spawn_local(async move {
        let mut state: Option<Cached> = None;
        while let Some(req) = std::future::poll_fn(|cx| Pin::new(&mut rx).poll_next(cx)).await {
            cancel.set(false);
            match req {
                Request::Generate { options, on_token, done } => {
                    let r = generate(&ctx, &loaded, &mut state, options, &on_token, &cancel).await;
                    if r.is_err() {
                        state = None; // a failed step may leave the cache half written
                    }
                    let _ = done.send(r);
                }
                Request::Bench { options, on_test, done } => {
                    state = None;
                    let _ = done.send(crate::bench::run(&ctx, &loaded.model, options, &on_test).await);
                }
            }
        }
    });
    tx
}

/// The session of the last request and the ids its cache holds, in order.
struct Cached<'a> {
    session: Session<'a>,
    sampler: SamplerConfig,
    max_context: usize,
    ids: Vec<u32>,
}

/// The prompt's token ids: `prompt_ids` as given, else `messages` (or `prompt` as one user turn
/// after an optional `system`) through the chat template when `chat` (or `messages`), else the
/// plain text. The second value says whether generation stops at the model's end-of-turn ids.
fn prompt_ids(l: &Loaded, o: &GenerateOptions) -> Result<(Vec<u32>, bool), JsValue> {
    if let Some(ids) = &o.prompt_ids {
        return Ok((ids.clone(), false));
    }
    let tok = l.tokenizer.as_ref().ok_or_else(|| js_err("this model has no tokenizer: give prompt_ids"))?;
    let mut msgs = vec![];
    if let Some(s) = o.system.as_ref().filter(|s| !s.trim().is_empty()) {
        msgs.push(Message { role: "system".into(), content: s.clone() });
    }
    let text = match (&o.messages, &o.prompt) {
        (Some(m), _) => {
            msgs.extend(m.iter().cloned());
            chat::render(&l.chat_template.0, &l.chat_template.1, &msgs, true).map_err(js_err)?
        }
        (None, Some(p)) if o.chat => {
            msgs.push(Message { role: "user".into(), content: p.clone() });
            chat::render(&l.chat_template.0, &l.chat_template.1, &msgs, true).map_err(js_err)?
        }
        (None, Some(p)) => p.clone(),
        (None, None) => return Err(js_err("give prompt, messages or prompt_ids")),
    };
    Ok((tok.encode_prompt(&text).map_err(js_err)?, true))
}

async fn generate<'a>(
    ctx: &'a GpuContext,
    l: &'a Loaded,
    state: &mut Option<Cached<'a>>,
    o: GenerateOptions,
    on_token: &js_sys::Function,
    cancel: &Cell<bool>,
) -> Result<Stats, JsValue> {
    let (ids, stop_at_eot) = prompt_ids(l, &o)?;
    if ids.is_empty() {
        return Err(js_err("the prompt is empty"));
    }
    let max_tokens = o.max_tokens.unwrap_or(128).max(1);
    let sampler =
        SamplerConfig { temperature: o.temperature, top_k: o.top_k, top_p: o.top_p.unwrap_or(1.0), seed: o.seed };
    let model_context = l.model.cfg.max_position_embeddings.max(1);
    if ids.len() >= model_context {
        return Err(js_err(format!(
            "the prompt has {} tokens; the model's context is {model_context} (start a new chat)",
            ids.len()
        )));
    }
    let want = (ids.len() + max_tokens).min(model_context);
    // Reuse the last session when its sampler matches and it has room; keep the cached prefix.
    let reusable = state.as_ref().is_some_and(|c| c.sampler == sampler && c.max_context >= want);
    if !reusable {
        *state = None;
        let max_context = want.max(l.context);
        let session = Session::new(ctx, &l.model, max_context, sampler).map_err(js_err)?;
        *state = Some(Cached { session, sampler, max_context, ids: vec![] });
    }
    let c = state.as_mut().unwrap();
    let reused = c.session.keep_prefix(&c.ids, &ids);
    c.ids = ids.clone();
    let s = &mut c.session;

    let t0 = web_time::Instant::now();
    let mut next = s.prefill(&ids[reused..], false).await.map_err(js_err)?.token;
    let prefill_s = t0.elapsed().as_secs_f64();
    let tok = l.tokenizer.as_ref();
    let stop = if stop_at_eot { tok.map(|t| t.stop_ids()).unwrap_or_default() } else { vec![] };
    let mut tokens = vec![];
    let mut dec = StreamDecoder::new();
    let t1 = web_time::Instant::now();
    let (mut cancelled, mut context_full) = (false, false);
    loop {
        tokens.push(next);
        let stops = stop.contains(&next);
        let piece = match tok {
            Some(t) if !stops => dec.push(t, next).unwrap_or_default(),
            _ => String::new(),
        };
        let _ = on_token.call2(&JsValue::NULL, &JsValue::from(next), &JsValue::from_str(&piece));
        if tokens.len() >= max_tokens || stops {
            break;
        }
        if cancel.get() {
            cancelled = true;
            break;
        }
        if s.position() + 1 > c.max_context.min(model_context) {
            context_full = true;
            break;
        }
        next = s.decode(None, false).await.map_err(js_err)?.token;
    }
    let decode_s = t1.elapsed().as_secs_f64();
    // The cache now holds every token but the last sampled one.
    c.ids.extend(&tokens[..tokens.len() - 1]);
    let shown = &tokens[..tokens.len() - tokens.last().is_some_and(|t| stop.contains(t)) as usize];
    let text = tok.and_then(|t| t.decode(shown).ok()).unwrap_or_default();
    Ok(Stats {
        prompt_tokens: ids.len(),
        reused_tokens: reused,
        prefill_tok_s: (ids.len() - reused) as f64 / prefill_s.max(1e-9),
        decode_tok_s: (tokens.len().saturating_sub(1)) as f64 / decode_s.max(1e-9),
        adapter: ctx.info.name.clone(),
        backend: format!("{:?}", ctx.info.backend),
        text,
        tokens,
        cancelled,
        context_full,
    })
}
