//! The browser facade: a thin wasm-bindgen layer over the same runtime the CLI drives. JavaScript
//! fetches or picks the model's files (it owns download progress and caching), hands their bytes
//! to an [`Engine`], and calls `generate` with a per-token callback. Everything GPU-side is the
//! library's async code on wgpu's WebGPU backend; nothing here blocks the event loop while the
//! GPU works.

use futures_channel::{mpsc, oneshot};
use llama4_wgpu::gpu::{AdapterChoice, LimitsPreset};
use llama4_wgpu::loader::{Gguf, MemoryFiles};
use llama4_wgpu::runtime::chat::Message;
use llama4_wgpu::runtime::ModelFiles;
use llama4_wgpu::{CancelToken, Runtime};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

pub(crate) fn js_err(e: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&e.to_string())
}

/// A value as a plain JS object (maps as objects, not `Map`s; u64 as numbers).
fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(js_err)
}

mod bench;
mod serve;

/// A method's options object, or its defaults where the page passed none.
fn options_or_default<T: serde::de::DeserializeOwned + Default>(v: JsValue) -> Result<T, JsValue> {
    if v.is_undefined() || v.is_null() {
        Ok(T::default())
    } else {
        serde_wasm_bindgen::from_value(v).map_err(js_err)
    }
}

/// Hands `req` to the loaded model's task.
fn send(inner: &RefCell<Inner>, req: Request) -> Result<(), JsValue> {
    let sent = inner.borrow().served.as_ref().is_some_and(|tx| tx.unbounded_send(req).is_ok());
    if sent {
        Ok(())
    } else {
        Err(js_err("no model loaded"))
    }
}

use serve::Request;

struct Inner {
    runtime: Runtime,
    files: MemoryFiles,
    /// The task serving the loaded model (see `serve`); dropping it frees the model.
    served: Option<mpsc::UnboundedSender<Request>>,
    model_name: Option<String>,
    /// The running request's (see `serve::spawn`).
    cancel: Rc<RefCell<CancelToken>>,
    last: Option<Stats>,
}

/// Options of `generate`, as a plain JS object; every field optional.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct GenerateOptions {
    /// Token ids used as given (the test contract); else `messages` or `prompt` is tokenized.
    prompt_ids: Option<Vec<u32>>,
    /// A conversation (`[{role, content}]`, ending with the user's turn) through the model's
    /// chat template; a follow-up turn reuses the KV cache of the turns before it.
    messages: Option<Vec<Message>>,
    prompt: Option<String>,
    /// Wrap `prompt` in the model's chat template as one user turn.
    chat: bool,
    system: Option<String>,
    max_tokens: Option<usize>,
    temperature: f32,
    top_k: usize,
    top_p: Option<f32>,
    seed: u64,
}

#[derive(Serialize, Clone)]
pub(crate) struct Stats {
    tokens: Vec<u32>,
    text: String,
    prompt_tokens: usize,
    /// Prompt tokens the KV cache already held from the previous turn (not prefilled again).
    reused_tokens: usize,
    prefill_tok_s: f64,
    decode_tok_s: f64,
    adapter: String,
    backend: String,
    cancelled: bool,
    /// Generation stopped because the model's context is full.
    context_full: bool,
}

/// A Llama model (Llama 4, or a Llama-named llama.cpp conversion): the page shows "Built with
/// Llama", as the Llama licenses ask.
fn is_llama(architecture: &str, general_name: Option<&str>) -> bool {
    architecture == "llama4" || general_name.is_some_and(|n| n.to_lowercase().contains("llama"))
}

/// Checks a GGUF model from the first bytes of its file (`prefix`) and its length, before the
/// download: resolves to `null` when `prefix` ends inside the header (fetch more and ask again),
/// to `{architecture, name, tensors, llama}` when the header is whole and this runtime can run it,
/// and throws the reason it cannot (unknown architecture, a tensor type it does not read, tensors
/// past the end of the file, not a GGUF file).
#[wasm_bindgen(js_name = checkGguf)]
pub fn check_gguf(name: &str, prefix: &[u8], file_len: f64) -> Result<JsValue, JsValue> {
    match Gguf::check_prefix(prefix, file_len as usize, Path::new(name)).map_err(js_err)? {
        None => Ok(JsValue::NULL),
        Some(s) => to_js(&serde_json::json!({
            "architecture": s.architecture,
            "name": s.name,
            "tensors": s.tensors,
            "llama": is_llama(&s.architecture, s.name.as_deref()),
        })),
    }
}

/// One model on the page's GPU.
#[wasm_bindgen]
pub struct Engine {
    inner: Rc<RefCell<Inner>>,
}

#[wasm_bindgen]
impl Engine {
    /// Opens the browser's WebGPU adapter. `limits`: "adapter" (default) or "webgpu-default".
    pub async fn create(limits: Option<String>) -> Result<Engine, JsValue> {
        let preset = match limits.as_deref() {
            None => LimitsPreset::Adapter,
            Some(l) => llama4_wgpu::gpu::parse_limits(l).map_err(js_err)?,
        };
        let choice = AdapterChoice { limits: preset, ..Default::default() };
        let runtime = Runtime::new(&choice).await.map_err(js_err)?;
        let inner = Inner {
            runtime,
            files: MemoryFiles::new("model/"),
            served: None,
            model_name: None,
            cancel: Rc::default(),
            last: None,
        };
        Ok(Engine { inner: Rc::new(RefCell::new(inner)) })
    }

    /// Adds one file of a Hugging Face checkpoint folder (config.json, model.safetensors or the
    /// index and its shards, tokenizer.json, tokenizer_config.json, chat_template.jinja).
    #[wasm_bindgen(js_name = addFile)]
    pub fn add_file(&self, name: &str, bytes: Vec<u8>) {
        self.inner.borrow_mut().files.insert(name, bytes);
    }

    /// Uploads the checkpoint whose files were added; `on_progress(layer, layers, bytes)` after each
    /// layer. `origin` names it in errors (its URL, or "picked files").
    #[wasm_bindgen(js_name = loadFolder)]
    pub fn load_folder(&self, origin: &str, on_progress: &js_sys::Function) -> Result<JsValue, JsValue> {
        let mut inner = self.inner.borrow_mut();
        let mut files = std::mem::replace(&mut inner.files, MemoryFiles::new("model/"));
        files.set_origin(origin);
        let mf = ModelFiles::from_folder(&files, true).map_err(js_err)?;
        drop(files);
        // config.json names Llama4ForCausalLM or Llama4ForConditionalGeneration
        Self::upload(&mut inner, mf, origin, true, on_progress)
    }

    /// Uploads a GGUF model from its bytes.
    #[wasm_bindgen(js_name = loadGguf)]
    pub fn load_gguf(&self, name: &str, bytes: Vec<u8>, on_progress: &js_sys::Function) -> Result<JsValue, JsValue> {
        let mut inner = self.inner.borrow_mut();
        let g = Gguf::from_bytes(Path::new(name), bytes).map_err(js_err)?;
        let general_name = g.get_meta("general.name").and_then(|v| v.as_str());
        let llama = is_llama(g.architecture().unwrap_or_default(), general_name);
        let mf = ModelFiles::from_gguf(g).map_err(js_err)?;
        Self::upload(&mut inner, mf, name, llama, on_progress)
    }

    /// Generates from `options` (see `GenerateOptions`), calling `on_token(id, text_piece)` for
    /// each token as it comes; resolves to `{tokens, text, prompt_tokens, prefill_tok_s,
    /// decode_tok_s, adapter, backend, cancelled}`.
    pub fn generate(&self, options: JsValue, on_token: js_sys::Function) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let options: GenerateOptions = options_or_default(options)?;
            let (done, answer) = oneshot::channel();
            send(&inner, Request::Generate { options, on_token, done })?;
            let stats = answer.await.map_err(|_| js_err("the model was unloaded during generation"))??;
            inner.borrow_mut().last = Some(stats.clone());
            to_js(&stats)
        })
    }

    /// Benchmarks the loaded model as `llama4-wgpu bench` does (llama-bench's tests) from
    /// `options` `{n_prompt: [128], n_gen: [32], n_depth: [0], repetitions: 3}` (every field
    /// optional), calling `on_test(name)` as each test starts; resolves to `{adapter, backend,
    /// dispatches_per_token, tests: [{test, n_prompt, n_gen, n_depth, avg_ts, stddev_ts,
    /// samples_ts, avg_ns, stddev_ns, samples_ns}]}`. The chat's KV cache is let go.
    pub fn bench(&self, options: JsValue, on_test: js_sys::Function) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let options: bench::BenchOptions = options_or_default(options)?;
            let (done, answer) = oneshot::channel();
            send(&inner, Request::Bench { options, on_test, done })?;
            to_js(&answer.await.map_err(|_| js_err("the model was unloaded during the benchmark"))??)
        })
    }

    /// Stops a running `generate` after its current token.
    pub fn cancel(&self) {
        self.inner.borrow().cancel.borrow().cancel();
    }

    /// The adapter, its limits and the last generation's rates.
    pub fn stats(&self) -> Result<JsValue, JsValue> {
        let inner = self.inner.borrow();
        let ctx = inner.runtime.gpu();
        let l = &ctx.limits;
        let v = serde_json::json!({
            "adapter": ctx.info.name,
            "backend": format!("{:?}", ctx.info.backend),
            "shader_f16": ctx.shader_f16,
            "subgroups": ctx.subgroups,
            "max_storage_buffer_binding_size": l.max_storage_buffer_binding_size,
            "max_buffer_size": l.max_buffer_size,
            "model": inner.model_name,
            "prefill_tok_s": inner.last.as_ref().map(|s| s.prefill_tok_s),
            "decode_tok_s": inner.last.as_ref().map(|s| s.decode_tok_s),
        });
        to_js(&v)
    }
}

impl Engine {
    fn upload(
        inner: &mut Inner,
        mf: ModelFiles,
        name: &str,
        llama: bool,
        on_progress: &js_sys::Function,
    ) -> Result<JsValue, JsValue> {
        // the previous model goes first: dropping its sender ends its task once its last request
        // is answered, freeing its GPU memory
        inner.served = None;
        let model = inner
            .runtime
            .load(mf, &Default::default(), |u| {
                let (layer, layers, bytes) = (u.layer as u32, u.layers as u32, u.bytes as f64);
                let _ = on_progress.call3(&JsValue::NULL, &layer.into(), &layers.into(), &bytes.into());
            })
            .map_err(js_err)?;
        let context = model.default_context().map_err(|e| js_err(format!("{name}: {e}")))?;
        let cfg = model.config();
        let info = serde_json::json!({
            "context": context,
            "layers": cfg.num_hidden_layers,
            "vocab_size": cfg.vocab_size,
            "weight_bytes": model.weight_bytes(),
            "llama": llama,
            "has_tokenizer": model.tokenizer().is_some(),
        });
        inner.served = Some(serve::spawn(model, inner.cancel.clone()));
        inner.model_name = Some(name.to_string());
        to_js(&info)
    }
}
