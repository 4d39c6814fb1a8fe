//! The C ABI over the library's embedding API ([`llama4_wgpu::Runtime`], `Model`, `Chat`): one
//! opaque handle per model, a blocking generate call with a token callback (run it on a worker
//! thread), cancel from any thread, and the last error as text. No panic crosses the boundary:
//! each entry point catches it and reports it as an error.

use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::runtime::chat::Message;
use llama4_wgpu::{CancelToken, Chat, Prompt, Request, Runtime, StopReason};
use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

/// A model loaded on its own GPU device, with one conversation: its messages and KV cache.
pub struct L4Model {
    _runtime: Runtime,
    name: CString,
    chat: Mutex<Conversation>,
    /// The running generation's, for `l4_cancel` from another thread.
    cancel: Mutex<CancelToken>,
}

/// How one generation samples and when it stops.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct L4Params {
    /// 0: greedy.
    pub temperature: f32,
    /// 0: off.
    pub top_k: u32,
    /// 1: off.
    pub top_p: f32,
    pub seed: u64,
    /// The most tokens generated (0 counts as 1).
    pub max_tokens: u32,
    /// Nonzero: the prompt is one user message through the model's chat template (and the answer
    /// stops at its end-of-turn id); zero: plain text.
    pub chat: i32,
}

/// Why a generation ended (`l4_generate`'s result when it succeeds).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4Stop {
    EndOfTurn = 0,
    MaxTokens = 1,
    /// `l4_cancel`, or the callback returned false.
    Cancelled = 2,
    ContextFull = 3,
    /// Failed: see `l4_last_error`.
    Error = -1,
}

/// Called with each token: its id and the text it completes (UTF-8, NUL-terminated, valid only
/// during the call; empty while a character is incomplete). Return false to stop.
pub type L4TokenCallback = Option<extern "C" fn(user: *mut c_void, id: u32, text: *const c_char) -> bool>;

struct Conversation {
    chat: Chat,
    /// The chat-mode turns so far, user and assistant.
    history: Vec<Message>,
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_error(msg: impl std::fmt::Display) {
    let s = msg.to_string().replace('\0', " ");
    LAST_ERROR.with(|e| *e.borrow_mut() = CString::new(s).unwrap_or_default());
}

/// Runs `f`, turning an `Err` or a panic into the thread's last error and `fail`.
fn guard<T>(fail: T, f: impl FnOnce() -> Result<T, String>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            set_error(e);
            fail
        }
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            set_error(format!("internal error (a panic, caught): {what}"));
            fail
        }
    }
}

fn text_arg<'a>(p: *const c_char, what: &str) -> Result<&'a str, String> {
    if p.is_null() {
        return Err(format!("{what} is NULL"));
    }
    // SAFETY: the caller passes a NUL-terminated string that outlives the call.
    unsafe { CStr::from_ptr(p) }.to_str().map_err(|_| format!("{what} is not UTF-8"))
}

/// The reason the last call on this thread failed, as UTF-8; valid until the next call on this
/// thread. Empty when none failed.
#[no_mangle]
pub extern "C" fn l4_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// Opens a GGUF file or a Hugging Face checkpoint folder on the first GPU (Vulkan, Metal or DX12
/// before GL) with a KV cache of `max_context` positions (0: the model's default, at most 2048).
/// NULL on failure (l4_last_error says why). Free it with l4_model_free.
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn l4_model_open(path: *const c_char, max_context: u32) -> *mut L4Model {
    guard(std::ptr::null_mut(), || {
        let path = text_arg(path, "path")?;
        let runtime = pollster::block_on(Runtime::new(&Default::default())).map_err(|e| e.to_string())?;
        let model = runtime.open(path.as_ref(), &Default::default(), |_| {}).map_err(|e| e.to_string())?;
        let chat = model.chat((max_context > 0).then_some(max_context as usize)).map_err(|e| e.to_string())?;
        let name = CString::new(model.name().replace('\0', "")).unwrap_or_default();
        let chat = Mutex::new(Conversation { chat, history: vec![] });
        let m = L4Model { _runtime: runtime, name, chat, cancel: Mutex::default() };
        Ok(Box::into_raw(Box::new(m)))
    })
}

/// The default parameters: greedy, 256 tokens, chat on.
#[no_mangle]
pub extern "C" fn l4_params_default() -> L4Params {
    L4Params { temperature: 0.0, top_k: 0, top_p: 1.0, seed: 0, max_tokens: 256, chat: 1 }
}

/// Answers `prompt` (UTF-8), calling `on_token(user, id, text)` for each token as it comes;
/// `params` NULL means l4_params_default(). Blocks until the answer ends: call it off the UI
/// thread. In chat mode each call is the next turn of the model's conversation (l4_reset starts
/// a new one); only what its KV cache does not hold yet is prefilled. Returns why the answer
/// ended, or L4_STOP_ERROR.
/// # Safety
/// `model` is NULL or a live handle from l4_model_open; `prompt` NULL or NUL-terminated;
/// `params` NULL or a valid L4Params.
#[no_mangle]
pub unsafe extern "C" fn l4_generate(
    model: *const L4Model,
    prompt: *const c_char,
    params: *const L4Params,
    on_token: L4TokenCallback,
    user: *mut c_void,
) -> L4Stop {
    guard(L4Stop::Error, || {
        // SAFETY: a handle from l4_model_open, not yet freed (NULL is refused).
        let m = unsafe { model.as_ref() }.ok_or("model is NULL")?;
        let text = text_arg(prompt, "prompt")?;
        // SAFETY: NULL or a valid L4Params.
        let p = unsafe { params.as_ref() }.copied().unwrap_or_else(|| l4_params_default());
        let sampling =
            SamplerConfig { temperature: p.temperature, top_k: p.top_k as usize, top_p: p.top_p, seed: p.seed };
        let mut conv = m.chat.lock().unwrap();
        let turn = Message { role: "user".into(), content: text.into() };
        let prompt = if p.chat != 0 {
            Prompt::Messages(conv.history.iter().cloned().chain([turn.clone()]).collect())
        } else {
            Prompt::Text(text.into())
        };
        let cancel = CancelToken::new();
        *m.cancel.lock().unwrap() = cancel.clone();
        let req = Request::new(prompt).max_tokens(p.max_tokens as usize).sampling(sampling).cancel(cancel.clone());
        let conv = &mut *conv;
        let mut g = conv.chat.generate(req).map_err(|e| e.to_string())?;
        while let Some(t) = pollster::block_on(g.next()).map_err(|e| e.to_string())? {
            if let Some(cb) = on_token {
                let piece = CString::new(t.text.replace('\0', "")).unwrap_or_default();
                if !cb(user, t.id, piece.as_ptr()) {
                    cancel.cancel();
                }
            }
        }
        if p.chat != 0 {
            let answer = Message { role: "assistant".into(), content: g.text().to_string() };
            conv.history.extend([turn, answer]);
        }
        Ok(match g.stats().stop {
            Some(StopReason::EndOfTurn) => L4Stop::EndOfTurn,
            Some(StopReason::MaxTokens) => L4Stop::MaxTokens,
            Some(StopReason::ContextFull) => L4Stop::ContextFull,
            _ => L4Stop::Cancelled,
        })
    })
}

/// Stops the model's running l4_generate before its next token (from any thread). Does nothing
/// when none runs.
/// # Safety
/// `model` is NULL or a live handle from l4_model_open.
#[no_mangle]
pub unsafe extern "C" fn l4_cancel(model: *const L4Model) {
    guard((), || {
        // SAFETY: a handle from l4_model_open, not yet freed.
        if let Some(m) = unsafe { model.as_ref() } {
            m.cancel.lock().unwrap().cancel();
        }
        Ok(())
    })
}

/// Forgets the conversation: its turns and KV cache.
/// # Safety
/// `model` is NULL or a live handle from l4_model_open.
#[no_mangle]
pub unsafe extern "C" fn l4_reset(model: *const L4Model) {
    guard((), || {
        // SAFETY: a handle from l4_model_open, not yet freed.
        if let Some(m) = unsafe { model.as_ref() } {
            let mut conv = m.chat.lock().unwrap();
            conv.chat.reset();
            conv.history.clear();
        }
        Ok(())
    })
}

/// The model's name (UTF-8), valid until l4_model_free; NULL for a NULL model.
/// # Safety
/// `model` is NULL or a live handle from l4_model_open.
#[no_mangle]
pub unsafe extern "C" fn l4_model_name(model: *const L4Model) -> *const c_char {
    // SAFETY: a handle from l4_model_open, not yet freed.
    unsafe { model.as_ref() }.map_or(std::ptr::null(), |m| m.name.as_ptr())
}

/// Frees a model and its GPU memory. NULL is ignored. Not while l4_generate runs on it.
/// # Safety
/// `model` is NULL or a handle from l4_model_open, freed once.
#[no_mangle]
pub unsafe extern "C" fn l4_model_free(model: *mut L4Model) {
    guard((), || {
        if !model.is_null() {
            // SAFETY: a handle from l4_model_open, freed once.
            drop(unsafe { Box::from_raw(model) });
        }
        Ok(())
    })
}

// l4_cancel comes from another thread than l4_generate's: the handle must be shareable.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<L4Model>();
};
