//! What one generation is asked to do.

use crate::kernels::SamplerConfig;
use crate::runtime::chat::Message;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What the model continues.
#[derive(Clone, Debug)]
pub enum Prompt {
    /// Token ids, used as given.
    Ids(Vec<u32>),
    /// Plain text, tokenized as a prompt (with the model's BOS where it has one).
    Text(String),
    /// A conversation through the model's chat template, ending with the user's turn; the
    /// assistant's turn is opened after it. A follow-up turn on the same [`super::Chat`]
    /// prefills only what its KV cache does not already hold.
    Messages(Vec<Message>),
}

/// Stops a [`super::Generation`] before its next token; clone it to the thread with the stop
/// button. One token can still come after the call (the step already running).
///
/// ```no_run
/// # async fn demo(chat: &mut llama4_wgpu::Chat) -> llama4_wgpu::Result<()> {
/// use llama4_wgpu::{CancelToken, Request, StopReason};
///
/// let stop = CancelToken::new();
/// let button = stop.clone(); // the UI thread keeps this one and calls `button.cancel()`
/// let mut answer = chat.generate(Request::user("Tell me a long story.").cancel(stop))?;
/// while let Some(token) = answer.next().await? {
///     print!("{}", token.text);
/// }
/// if answer.stats().stop == Some(StopReason::Cancelled) {
///     println!(" [stopped]");
/// }
/// # drop(button);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed)
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// One generation: the prompt, how many tokens at most, how they are sampled, when to stop.
#[derive(Clone, Debug)]
pub struct Request {
    pub(crate) prompt: Prompt,
    pub(crate) max_tokens: usize,
    pub(crate) sampling: SamplerConfig,
    pub(crate) stop_at_end_of_turn: bool,
    pub(crate) cancel: Option<CancelToken>,
}

impl Request {
    /// Continues `prompt`: up to 256 tokens, greedy; text and conversations stop at the model's
    /// end-of-turn ids, token ids only at `max_tokens` ([`Request::stop_at_end_of_turn`]).
    pub fn new(prompt: Prompt) -> Self {
        let stop_at_end_of_turn = !matches!(prompt, Prompt::Ids(_));
        Request { prompt, max_tokens: 256, sampling: SamplerConfig::default(), stop_at_end_of_turn, cancel: None }
    }
    /// One user message through the chat template.
    pub fn user(text: impl Into<String>) -> Self {
        Self::new(Prompt::Messages(vec![Message { role: "user".into(), content: text.into() }]))
    }
    /// A conversation through the chat template (see [`Prompt::Messages`]).
    pub fn messages(messages: Vec<Message>) -> Self {
        Self::new(Prompt::Messages(messages))
    }
    /// Plain text, no template.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(Prompt::Text(text.into()))
    }
    /// Token ids as given.
    pub fn ids(ids: Vec<u32>) -> Self {
        Self::new(Prompt::Ids(ids))
    }
    /// The most tokens generated (at least 1).
    pub fn max_tokens(mut self, n: usize) -> Self {
        self.max_tokens = n.max(1);
        self
    }
    /// How tokens are chosen (greedy by default); checked when the request runs.
    pub fn sampling(mut self, s: SamplerConfig) -> Self {
        self.sampling = s;
        self
    }
    /// Whether the model's end-of-turn ids end the answer.
    pub fn stop_at_end_of_turn(mut self, on: bool) -> Self {
        self.stop_at_end_of_turn = on;
        self
    }
    /// A token that stops the generation between tokens.
    pub fn cancel(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }
    pub fn prompt(&self) -> &Prompt {
        &self.prompt
    }
}
