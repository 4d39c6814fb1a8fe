//! Generation for one loaded model, as a task that lives as long as the model: it holds the
//! library's [`Model`], keeps one [`Chat`] (and so the KV cache) across requests, and serves
//! `generate` requests in order. A chat turn re-renders the whole conversation, and only the part
//! the cache does not already hold is prefilled (the library's `Chat` does it, for every host). The task ends when the engine
//! drops its sender (another model loaded), freeing the model's GPU memory.

use crate::bench::{BenchOptions, BenchReport};
use crate::{js_err, GenerateOptions, Stats};
use futures_channel::{mpsc, oneshot};
use futures_core::Stream;
use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::runtime::chat::Message;
use llama4_wgpu::{CancelToken, Chat, Model, Prompt, Request as Ask, StopReason};
use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use wasm_bindgen::JsValue;

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

/// Starts the task serving `model`; requests go to the returned sender. Each request gets a new
/// cancel token, put where `Engine::cancel` finds it.
pub fn spawn(model: Model, cancel: Rc<RefCell<CancelToken>>) -> mpsc::UnboundedSender<Request> {
    let (tx, mut rx) = mpsc::unbounded::<Request>();
    wasm_bindgen_futures::spawn_local(async move {
        let mut chat: Option<Chat> = None;
        while let Some(req) = std::future::poll_fn(|cx| Pin::new(&mut rx).poll_next(cx)).await {
            let token = CancelToken::new();
            *cancel.borrow_mut() = token.clone();
            match req {
                Request::Generate { options, on_token, done } => {
                    let r = generate(&model, &mut chat, options, &on_token, token).await;
                    let _ = done.send(r);
                }
                Request::Bench { options, on_test, done } => {
                    chat = None;
                    let _ = done.send(crate::bench::run(&model, options, &on_test).await);
                }
            }
        }
    });
    tx
}

/// The prompt: `prompt_ids` as given, else `messages` (or `prompt` as one user turn after an
/// optional `system`) through the chat template when `chat` (or `messages`), else the plain text.
fn prompt(o: &GenerateOptions) -> Result<Prompt, JsValue> {
    if let Some(ids) = &o.prompt_ids {
        return Ok(Prompt::Ids(ids.clone()));
    }
    let mut msgs = vec![];
    if let Some(s) = o.system.as_ref().filter(|s| !s.trim().is_empty()) {
        msgs.push(Message { role: "system".into(), content: s.clone() });
    }
    Ok(match (&o.messages, &o.prompt) {
        (Some(m), _) => Prompt::Messages(msgs.into_iter().chain(m.iter().cloned()).collect()),
        (None, Some(p)) if o.chat => {
            msgs.push(Message { role: "user".into(), content: p.clone() });
            Prompt::Messages(msgs)
        }
        (None, Some(p)) => Prompt::Text(p.clone()),
        (None, None) => return Err(js_err("give prompt, messages or prompt_ids")),
    })
}

async fn generate(
    model: &Model,
    chat: &mut Option<Chat>,
    o: GenerateOptions,
    on_token: &js_sys::Function,
    cancel: CancelToken,
) -> Result<Stats, JsValue> {
    let sampling =
        SamplerConfig { temperature: o.temperature, top_k: o.top_k, top_p: o.top_p.unwrap_or(1.0), seed: o.seed };
    let req = Ask::new(prompt(&o)?).max_tokens(o.max_tokens.unwrap_or(128)).sampling(sampling).cancel(cancel);
    if chat.is_none() {
        *chat = Some(model.chat(None).map_err(js_err)?);
    }
    let mut g = chat.as_mut().unwrap().generate(req).map_err(js_err)?;
    let mut tokens = vec![];
    while let Some(t) = g.next().await.map_err(js_err)? {
        tokens.push(t.id);
        let _ = on_token.call2(&JsValue::NULL, &JsValue::from(t.id), &JsValue::from_str(&t.text));
    }
    let st = g.stats();
    let adapter = model.adapter();
    Ok(Stats {
        prompt_tokens: st.prompt_tokens,
        reused_tokens: st.reused_tokens,
        prefill_tok_s: st.prefill_tokens_per_s(),
        decode_tok_s: st.decode_tokens_per_s(),
        adapter: adapter.name.clone(),
        backend: format!("{:?}", adapter.backend),
        text: g.text().to_string(),
        tokens,
        cancelled: st.stop == Some(StopReason::Cancelled),
        context_full: st.stop == Some(StopReason::ContextFull),
    })
}
