//! The app's state and what it does with the model thread's events; [`crate::view`] draws it.

use crate::script::Script;
use crate::worker::{self, Command, Event, ModelInfo};
use eframe::egui;
use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::runtime::chat::Message;
use llama4_wgpu::{CancelToken, Runtime, Stats, StopReason};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender};
use std::time::Instant;

/// One message as shown, with the speed of an answer once it ended.
pub struct Bubble {
    pub user: bool,
    pub text: String,
    pub footer: Option<String>,
}

/// The model held, or what is happening to it.
pub enum ModelState {
    None,
    Loading { path: PathBuf, fraction: f32 },
    Ready(ModelInfo),
}

/// An answer streaming in.
pub struct Streaming {
    pub cancel: CancelToken,
    pub started: Instant,
    pub first_piece: Option<Instant>,
    pub pieces: usize,
}

pub struct ChatApp {
    pub adapter: String,
    /// Why the model thread could not start on eframe's device (the app then only shows this).
    pub fatal: Option<String>,
    commands: Option<Sender<Command>>,
    events: Option<Receiver<Event>>,
    pub model: ModelState,
    /// Kept while a new model loads (it still answers until replaced).
    pub previous: Option<ModelInfo>,
    pub bubbles: Vec<Bubble>,
    /// The conversation as the chat template sees it (the system prompt goes first when set).
    history: Vec<Message>,
    pub input: String,
    pub system: String,
    pub sampling: SamplerConfig,
    pub max_tokens: usize,
    pub streaming: Option<Streaming>,
    /// The last answer's speed, or the last error.
    pub status: String,
    pub error: Option<String>,
    pub script: Script,
    /// Put the keyboard focus in the message box on the next frame (a model is ready, an
    /// answer ended).
    pub focus_input: bool,
    /// A file dialog is open; what it picks comes through `picked`.
    pub picking: bool,
    /// SmolLM2 where tools/fetch_smollm2.sh puts it, if it is there (looked for once, at start).
    pub cached_smollm2: Option<PathBuf>,
    picked: (Sender<Option<PathBuf>>, Receiver<Option<PathBuf>>),
}

impl ChatApp {
    pub fn new(cc: &eframe::CreationContext<'_>, model: Option<PathBuf>, max_tokens: usize, script: Script) -> Self {
        let mut app = ChatApp {
            adapter: String::new(),
            fatal: None,
            commands: None,
            events: None,
            model: ModelState::None,
            previous: None,
            bubbles: vec![],
            history: vec![],
            input: String::new(),
            system: String::new(),
            sampling: SamplerConfig { temperature: 0.0, top_k: 40, top_p: 0.95, seed: 0 },
            max_tokens,
            streaming: None,
            status: String::new(),
            error: None,
            script,
            focus_input: false,
            picking: false,
            cached_smollm2: llama4_wgpu::runtime::files::cache_dir()
                .map(|d| d.join(llama4_wgpu::runtime::files::SMOLLM2_FILE))
                .filter(|p| p.exists()),
            picked: std::sync::mpsc::channel(),
        };
        let Some(rs) = cc.wgpu_render_state.as_ref() else {
            app.fatal = Some("eframe did not start on wgpu".into());
            return app;
        };
        let info = rs.adapter.get_info();
        app.adapter = format!("{} ({:?})", info.name, info.backend);
        // the model computes on the device and queue the window is drawn with
        match Runtime::from_device(&rs.adapter, rs.device.clone(), rs.queue.clone(), &Default::default()) {
            Ok(runtime) => {
                let ctx = cc.egui_ctx.clone();
                let (tx, rx) = worker::spawn(runtime, move || ctx.request_repaint());
                app.commands = Some(tx);
                app.events = Some(rx);
            }
            Err(e) => app.fatal = Some(format!("the model cannot run on {}: {e}", app.adapter)),
        }
        if let Some(path) = model {
            app.open(path);
        }
        app
    }

    pub fn busy(&self) -> bool {
        self.streaming.is_some() || matches!(self.model, ModelState::Loading { .. })
    }

    fn send(&self, cmd: Command) {
        if let Some(tx) = &self.commands {
            let _ = tx.send(cmd);
        }
    }

    pub fn open(&mut self, path: PathBuf) {
        if self.commands.is_none() {
            return;
        }
        if self.busy() {
            self.error = Some(format!("{}: stop the answer (or wait for the load) first", path.display()));
            return;
        }
        self.error = None;
        if let ModelState::Ready(info) = std::mem::replace(&mut self.model, ModelState::None) {
            self.previous = Some(info);
        }
        self.model = ModelState::Loading { path: path.clone(), fraction: 0.0 };
        self.send(Command::Open(path));
    }

    /// Opens the system's file dialog for a GGUF file (or a checkpoint `folder`), awaited on a
    /// thread of its own so the window keeps repainting (and answering) while it is open.
    pub fn pick(&mut self, folder: bool, ctx: &egui::Context) {
        let dialog = rfd::AsyncFileDialog::new();
        // created here, on the UI thread (macOS wants that), awaited elsewhere
        let pending = if folder {
            Box::pin(dialog.set_title("Open a checkpoint folder").pick_folder())
                as std::pin::Pin<Box<dyn std::future::Future<Output = Option<rfd::FileHandle>> + Send>>
        } else {
            Box::pin(dialog.add_filter("GGUF model", &["gguf"]).set_title("Open a model").pick_file())
        };
        let (tx, ctx) = (self.picked.0.clone(), ctx.clone());
        self.picking = true;
        std::thread::spawn(move || {
            let path = pollster::block_on(pending).map(|h| h.path().to_path_buf());
            let _ = tx.send(path);
            ctx.request_repaint();
        });
    }

    /// Sends the input box's text as the next user message.
    pub fn submit(&mut self) {
        let text = self.input.trim().to_string();
        if text.is_empty() || self.busy() || !matches!(self.model, ModelState::Ready(_)) {
            return;
        }
        self.input.clear();
        self.error = None;
        if self.history.is_empty() && !self.system.trim().is_empty() {
            self.history.push(Message { role: "system".into(), content: self.system.trim().into() });
        }
        self.history.push(Message { role: "user".into(), content: text.clone() });
        self.bubbles.push(Bubble { user: true, text, footer: None });
        self.bubbles.push(Bubble { user: false, text: String::new(), footer: None });
        let cancel = CancelToken::new();
        self.streaming =
            Some(Streaming { cancel: cancel.clone(), started: Instant::now(), first_piece: None, pieces: 0 });
        self.send(Command::Answer {
            messages: self.history.clone(),
            sampling: self.sampling,
            max_tokens: self.max_tokens,
            cancel,
        });
    }

    pub fn stop(&mut self) {
        if let Some(s) = &self.streaming {
            s.cancel.cancel();
        }
    }

    pub fn new_chat(&mut self) {
        if self.busy() {
            return;
        }
        self.bubbles.clear();
        self.history.clear();
        self.status.clear();
        self.error = None;
        self.send(Command::Reset);
    }

    /// Takes in what the model thread said since the last frame.
    pub fn poll_events(&mut self) {
        if let Ok(picked) = self.picked.1.try_recv() {
            self.picking = false;
            if let Some(path) = picked {
                self.open(path);
            }
        }
        let Some(rx) = &self.events else { return };
        let events: Vec<Event> = rx.try_iter().collect();
        if events.is_empty() && matches!(rx.try_recv(), Err(std::sync::mpsc::TryRecvError::Disconnected)) {
            // the model thread is gone (a panic in it): say so rather than spin forever
            self.fatal.get_or_insert_with(|| "the model thread stopped unexpectedly; restart the app".into());
            self.streaming = None;
            self.model = ModelState::None;
            return;
        }
        for e in events {
            match e {
                Event::Progress { layer, layers } => {
                    if let ModelState::Loading { fraction, .. } = &mut self.model {
                        *fraction = layer as f32 / layers.max(1) as f32;
                    }
                }
                Event::Loaded(info) => {
                    self.previous = None;
                    self.status = format!("loaded {}", info.name);
                    self.model = ModelState::Ready(info);
                    self.bubbles.clear();
                    self.history.clear();
                    self.focus_input = true;
                    self.script.on_loaded();
                    if self.script.next_prompt(&mut self.input) {
                        self.submit();
                    }
                }
                Event::LoadFailed(msg) => {
                    self.model = self.previous.take().map_or(ModelState::None, ModelState::Ready);
                    self.error = Some(msg.clone());
                    self.script.on_failed(&msg);
                }
                Event::Piece(text) => {
                    if let Some(s) = &mut self.streaming {
                        s.first_piece.get_or_insert_with(Instant::now);
                        s.pieces += 1;
                        if self.script.should_stop(s.pieces) {
                            s.cancel.cancel();
                        }
                    }
                    if let Some(b) = self.bubbles.last_mut() {
                        b.text.push_str(&text);
                    }
                }
                Event::Done(outcome) => self.finish(Some(outcome)),
                Event::Failed(msg) => {
                    self.error = Some(msg.clone());
                    self.finish(None);
                    // the library forgot the conversation: so does the window's history
                    self.history.clear();
                    self.script.on_failed(&msg);
                }
            }
        }
    }

    fn finish(&mut self, outcome: Option<Stats>) {
        self.streaming = None;
        self.focus_input = true;
        let answer = self.bubbles.last().map(|b| b.text.clone()).unwrap_or_default();
        let Some(o) = outcome else { return };
        self.history.push(Message { role: "assistant".into(), content: answer.trim().to_string() });
        let why = match o.stop {
            Some(StopReason::EndOfTurn) | None => "",
            Some(StopReason::MaxTokens) => " · stopped at the token limit",
            Some(StopReason::Cancelled) => " · stopped",
            Some(StopReason::ContextFull) => " · the context is full: start a new chat",
            Some(StopReason::Failed) => " · failed",
        };
        let footer = format!(
            "{} tokens · {:.1} tok/s · prompt {} tokens ({} cached) at {:.0} tok/s{why}",
            o.generated,
            o.decode_tokens_per_s(),
            o.prompt_tokens,
            o.reused_tokens,
            o.prefill_tokens_per_s()
        );
        self.status = footer.clone();
        if let Some(b) = self.bubbles.last_mut() {
            b.footer = Some(footer);
        }
        let question =
            self.history.iter().rev().find(|m| m.role == "user").map(|m| m.content.clone()).unwrap_or_default();
        self.script.on_answer(&question, &answer, &o);
        if self.script.next_prompt(&mut self.input) {
            self.submit();
        }
    }
}

impl eframe::App for ChatApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.script.on_frame(self.streaming.is_some());
        self.poll_events();
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if let Some(path) = dropped.into_iter().next() {
            self.open(path);
        }
        crate::view::draw(self, ui);
        if self.busy() {
            // keep the spinner turning: the window repaints while the GPU works
            ctx.request_repaint_after(std::time::Duration::from_millis(30));
        }
    }
}
