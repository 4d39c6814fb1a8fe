//! The model thread: loads models and generates answers on the UI's device, so the UI thread
//! never waits for the GPU. Commands go in through a channel, events come out through another,
//! each followed by a repaint request so the window shows it at once.

use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::runtime::chat::Message;
use llama4_wgpu::{CancelToken, Chat, Model, Request, Runtime, Stats};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender};

/// What the UI asks for.
pub enum Command {
    /// Load a GGUF file or a checkpoint folder, replacing the model (and the chat) held.
    Open(PathBuf),
    /// Answer the conversation's last user message.
    Answer { messages: Vec<Message>, sampling: SamplerConfig, max_tokens: usize, cancel: CancelToken },
    /// Start a new conversation (the KV cache is kept, emptied).
    Reset,
}

/// What the UI hears back.
pub enum Event {
    /// Loading: layers uploaded of all of them.
    Progress {
        layer: usize,
        layers: usize,
    },
    Loaded(ModelInfo),
    /// A file that could not be opened or loaded; the model held before stays.
    LoadFailed(String),
    /// The prompt is in (prefill done) and this is the answer's first piece, or the next one.
    Piece(String),
    /// The answer ended: how ([`Stats::stop`], set once it ends) and how fast.
    Done(Stats),
    /// The request failed (a bad prompt, a GPU error); the conversation was forgotten.
    Failed(String),
}

pub struct ModelInfo {
    pub name: String,
    pub path: PathBuf,
    pub weight_bytes: u64,
    pub context: usize,
}

/// Starts the thread; `notify` is called after every event (the UI's repaint request).
pub fn spawn(runtime: Runtime, notify: impl Fn() + Send + 'static) -> (Sender<Command>, Receiver<Event>) {
    let (cmd_tx, cmd_rx) = std::sync::mpsc::channel::<Command>();
    let (ev_tx, ev_rx) = std::sync::mpsc::channel::<Event>();
    std::thread::Builder::new()
        .name("llama4-wgpu model".into())
        .spawn(move || {
            let send = |e: Event| {
                let _ = ev_tx.send(e);
                notify();
            };
            let mut held: Option<(Model, Chat)> = None;
            for cmd in cmd_rx {
                match cmd {
                    Command::Open(path) => match open(&runtime, &path, &send) {
                        Ok((model, chat, info)) => {
                            // the old model's buffers go before the Loaded event says it is gone
                            held = Some((model, chat));
                            send(Event::Loaded(info));
                        }
                        Err(e) => {
                            // the library's errors name the file where they know it
                            let msg = e.to_string();
                            let shown = path.display().to_string();
                            send(Event::LoadFailed(if msg.contains(&shown) { msg } else { format!("{shown}: {msg}") }))
                        }
                    },
                    Command::Answer { messages, sampling, max_tokens, cancel } => {
                        let Some((_, chat)) = held.as_mut() else {
                            send(Event::Failed("no model is loaded".into()));
                            continue;
                        };
                        let req = Request::messages(messages).sampling(sampling).max_tokens(max_tokens).cancel(cancel);
                        match answer(chat, req, &send) {
                            Ok(outcome) => send(Event::Done(outcome)),
                            Err(e) => send(Event::Failed(e.to_string())),
                        }
                    }
                    Command::Reset => {
                        if let Some((_, chat)) = held.as_mut() {
                            chat.reset();
                        }
                    }
                }
            }
        })
        .expect("spawning the model thread");
    (cmd_tx, ev_rx)
}

fn open(
    runtime: &Runtime,
    path: &std::path::Path,
    send: &impl Fn(Event),
) -> llama4_wgpu::Result<(Model, Chat, ModelInfo)> {
    let model =
        runtime.open(path, &Default::default(), |p| send(Event::Progress { layer: p.layer, layers: p.layers }))?;
    if model.tokenizer().is_none() {
        return Err(llama4_wgpu::Error::Input("it has no tokenizer, so it cannot chat".into()));
    }
    let chat = model.chat(None)?;
    let info = ModelInfo {
        name: model.name().to_string(),
        path: path.to_path_buf(),
        weight_bytes: model.weight_bytes(),
        context: chat.max_context(),
    };
    Ok((model, chat, info))
}

/// Streams the answer to `req`; its [`Stats`] say how it ended and how fast it ran.
fn answer(chat: &mut Chat, req: Request, send: &impl Fn(Event)) -> llama4_wgpu::Result<Stats> {
    let mut generation = chat.generate(req)?;
    while let Some(token) = pollster::block_on(generation.next())? {
        if !token.text.is_empty() {
            send(Event::Piece(token.text));
        }
    }
    Ok(generation.stats().clone())
}
