//! The browser facade: a thin wasm-bindgen layer over the same runtime the CLI drives. JavaScript
//! fetches or picks the model's files (it owns download progress and caching), hands their bytes
//! to an [`Engine`], and calls `generate` with a per-token callback. Everything GPU-side is the
//! library's async code on wgpu's WebGPU backend; nothing here blocks the event loop while the
//! GPU works.

use llama4_wgpu::gpu::{AdapterChoice, GpuContext, LimitsPreset};
use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::loader::{Gguf, MemoryFiles};
use llama4_wgpu::model::{LoadOptions, TextModel};
use llama4_wgpu::runtime::chat::{self, Message};
use llama4_wgpu::runtime::tokenizer::StreamDecoder;
use llama4_wgpu::runtime::{ModelFiles, Session, Tokenizer};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::path::Path;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

fn js_err(e: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&e.to_string())
}

/// A value as a plain JS object (maps as objects, not `Map`s; u64 as numbers).
fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(js_err)
}

/// What a loaded model keeps once its weights are on the GPU (the file bytes are dropped).
/// Shared with a running `generate`; loading another model drops this one when that ends.
struct Loaded {
    model: TextModel,
    tokenizer: Option<Tokenizer>,
    chat_template: (String, String),
    name: String,
}

struct Inner {
    ctx: Rc<GpuContext>,
    files: MemoryFiles,
    loaded: Option<Rc<Loaded>>,
    cancel: Rc<Cell<bool>>,
    last: Option<Stats>,
}

/// Options of `generate`, as a plain JS object; every field optional.
#[derive(Deserialize, Default)]
#[serde(default)]
struct GenerateOptions {
    /// Token ids used as given (the test contract); else `prompt` is tokenized.
    prompt_ids: Option<Vec<u32>>,
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
struct Stats {
    tokens: Vec<u32>,
    text: String,
    prompt_tokens: usize,
    prefill_tok_s: f64,
    decode_tok_s: f64,
    adapter: String,
    backend: String,
    cancelled: bool,
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
        let ctx = Rc::new(GpuContext::new(&choice).await.map_err(js_err)?);
        let inner = Inner { ctx, files: MemoryFiles::new("model/"), loaded: None, cancel: Rc::default(), last: None };
        Ok(Engine { inner: Rc::new(RefCell::new(inner)) })
    }

    /// Adds one file of a Hugging Face checkpoint folder (config.json, model.safetensors or the
    /// index and its shards, tokenizer.json, tokenizer_config.json, chat_template.jinja).
    #[wasm_bindgen(js_name = addFile)]
    pub fn add_file(&self, name: &str, bytes: Vec<u8>) {
        self.inner.borrow_mut().files.insert(name, bytes);
    }

    /// Uploads the checkpoint whose files were added; `on_progress(layer, layers)` after each
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
        // A Llama model (Llama 4, or a Llama-named llama.cpp conversion): the page shows
        // "Built with Llama", as the Llama licenses ask.
        let general_name = g.get_meta("general.name").and_then(|v| v.as_str()).unwrap_or_default();
        let llama = g.architecture().is_ok_and(|a| a == "llama4") || general_name.to_lowercase().contains("llama");
        let mf = ModelFiles::from_gguf(g).map_err(js_err)?;
        Self::upload(&mut inner, mf, name, llama, on_progress)
    }

    /// Generates from `options` (see `GenerateOptions`), calling `on_token(id, text_piece)` for
    /// each token as it comes; resolves to `{tokens, text, prompt_tokens, prefill_tok_s,
    /// decode_tok_s, adapter, backend, cancelled}`.
    pub fn generate(&self, options: JsValue, on_token: js_sys::Function) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let opts: GenerateOptions = if options.is_undefined() || options.is_null() {
                GenerateOptions::default()
            } else {
                serde_wasm_bindgen::from_value(options).map_err(js_err)?
            };
            let stats = run(&inner, opts, &on_token).await?;
            inner.borrow_mut().last = Some(stats.clone());
            to_js(&stats)
        })
    }

    /// Stops a running `generate` after its current token.
    pub fn cancel(&self) {
        self.inner.borrow().cancel.set(true);
    }

    /// The adapter, its limits and the last generation's rates.
    pub fn stats(&self) -> Result<JsValue, JsValue> {
        let inner = self.inner.borrow();
        let l = &inner.ctx.limits;
        let v = serde_json::json!({
            "adapter": inner.ctx.info.name,
            "backend": format!("{:?}", inner.ctx.info.backend),
            "shader_f16": inner.ctx.shader_f16,
            "subgroups": inner.ctx.subgroups,
            "max_storage_buffer_binding_size": l.max_storage_buffer_binding_size,
            "max_buffer_size": l.max_buffer_size,
            "model": inner.loaded.as_ref().map(|m| m.name.clone()),
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
        let ctx = inner.ctx.clone();
        let model = TextModel::load_with(&ctx, &mf.cfg, mf.tensors.as_ref(), &LoadOptions::default(), |i, n| {
            let _ = on_progress.call2(&JsValue::NULL, &JsValue::from(i as u32), &JsValue::from(n as u32));
        })
        .map_err(js_err)?;
        let info = serde_json::json!({
            "layers": mf.cfg.num_hidden_layers,
            "vocab_size": mf.cfg.vocab_size,
            "weight_bytes": model.weight_bytes(),
            "llama": llama,
            "has_tokenizer": mf.tokenizer.is_ok(),
        });
        inner.loaded = Some(Rc::new(Loaded {
            model,
            tokenizer: mf.tokenizer.ok(),
            chat_template: mf.chat_template,
            name: name.to_string(),
        }));
        to_js(&info)
    }
}

async fn run(inner: &Rc<RefCell<Inner>>, o: GenerateOptions, on_token: &js_sys::Function) -> Result<Stats, JsValue> {
    // Owned handles: no RefCell borrow is held across an await.
    let (ctx, l, cancel) = {
        let i = inner.borrow();
        let l = i.loaded.clone().ok_or_else(|| js_err("no model loaded"))?;
        i.cancel.set(false);
        (i.ctx.clone(), l, i.cancel.clone())
    };
    let tok = l.tokenizer.as_ref();
    let ids: Vec<u32> = match (&o.prompt_ids, &o.prompt) {
        (Some(ids), _) => ids.clone(),
        (None, Some(text)) => {
            let tok = tok.ok_or_else(|| js_err("the model has no tokenizer: give prompt_ids"))?;
            let text = if o.chat {
                let mut msgs = vec![];
                if let Some(s) = &o.system {
                    msgs.push(Message { role: "system".into(), content: s.clone() });
                }
                msgs.push(Message { role: "user".into(), content: text.clone() });
                chat::render(&l.chat_template.0, &l.chat_template.1, &msgs, true).map_err(js_err)?
            } else {
                text.clone()
            };
            tok.encode_prompt(&text).map_err(js_err)?
        }
        (None, None) => return Err(js_err("give prompt or prompt_ids")),
    };
    let max_tokens = o.max_tokens.unwrap_or(128).max(1);
    let sampler =
        SamplerConfig { temperature: o.temperature, top_k: o.top_k, top_p: o.top_p.unwrap_or(1.0), seed: o.seed };
    let max_context = (ids.len() + max_tokens).min(l.model.cfg.max_position_embeddings.max(ids.len() + 1));
    let mut s = Session::new(&ctx, &l.model, max_context, sampler).map_err(js_err)?;
    let t0 = web_time::Instant::now();
    let mut next = s.prefill(&ids, false).await.map_err(js_err)?.token;
    let prefill_s = t0.elapsed().as_secs_f64();
    // With a text prompt generation ends at the model's end-of-turn ids (kept in `tokens`, not
    // in the text), as the CLI does; with prompt_ids it runs max_tokens, as `run --prompt-ids`.
    let stop = tok.map(|t| t.stop_ids()).unwrap_or_default();
    let stops = |id: u32| o.prompt_ids.is_none() && stop.contains(&id);
    let mut tokens = vec![];
    let mut dec = StreamDecoder::new();
    let t1 = web_time::Instant::now();
    let mut cancelled = false;
    loop {
        tokens.push(next);
        let piece = match tok {
            Some(t) if !stops(next) => dec.push(t, next).unwrap_or_default(),
            _ => String::new(),
        };
        let _ = on_token.call2(&JsValue::NULL, &JsValue::from(next), &JsValue::from_str(&piece));
        if tokens.len() >= max_tokens || stops(next) {
            break;
        }
        if cancel.get() {
            cancelled = true;
            break;
        }
        next = s.decode(None, false).await.map_err(js_err)?.token;
    }
    let decode_s = t1.elapsed().as_secs_f64();
    let shown = &tokens[..tokens.len() - tokens.last().is_some_and(|&t| stops(t)) as usize];
    let text = tok.and_then(|t| t.decode(shown).ok()).unwrap_or_default();
    Ok(Stats {
        prompt_tokens: ids.len(),
        prefill_tok_s: ids.len() as f64 / prefill_s.max(1e-9),
        decode_tok_s: (tokens.len().saturating_sub(1)) as f64 / decode_s.max(1e-9),
        adapter: ctx.info.name.clone(),
        backend: format!("{:?}", ctx.info.backend),
        text,
        tokens,
        cancelled,
    })
}
