//! One conversation ([`Chat`]) and the token stream of one request ([`Generation`]).

use super::model::Model;
use super::request::Request;
use crate::error::{Error, Result};
use crate::runtime::session::DecodeState;
use crate::runtime::tokenizer::StreamDecoder;
use crate::runtime::Session;
use web_time::Instant;

/// One conversation: a KV cache on a [`Model`] and the ids it holds. Each request renders the
/// whole prompt again and prefills only what the cache does not already hold.
pub struct Chat {
    model: Model,
    session: Session,
    /// The ids the KV cache holds, in order.
    cached: Vec<u32>,
}

/// One token of an answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub id: u32,
    /// The text this token completes (empty while a character's bytes are incomplete, and for
    /// an end-of-turn id).
    pub text: String,
}

/// Why an answer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The model's end-of-turn id (not part of the text).
    EndOfTurn,
    /// The request's `max_tokens`.
    MaxTokens,
    /// Its [`super::CancelToken`].
    Cancelled,
    /// The model's context is full.
    ContextFull,
    /// A step failed ([`Generation::next`] returned the error).
    Failed,
}

/// What a request did, so far or in all.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Tokens of the prompt, and how many of them the KV cache already held.
    pub prompt_tokens: usize,
    pub reused_tokens: usize,
    /// Tokens generated, an end-of-turn id included.
    pub generated: usize,
    pub prefill_s: f64,
    pub decode_s: f64,
    /// `None` until the answer ends.
    pub stop: Option<StopReason>,
}

impl Stats {
    /// Prompt tokens prefilled (those the cache held not counted) per second.
    pub fn prefill_tokens_per_s(&self) -> f64 {
        (self.prompt_tokens - self.reused_tokens) as f64 / self.prefill_s.max(1e-9)
    }
    /// Decode steps (every token after the first) per second.
    pub fn decode_tokens_per_s(&self) -> f64 {
        self.generated.saturating_sub(1) as f64 / self.decode_s.max(1e-9)
    }
}

impl Chat {
    pub(crate) fn new(model: Model, max_context: usize) -> Result<Self> {
        let session = Session::new(model.gpu(), model.text_model(), max_context, Default::default())?;
        Ok(Chat { model, session, cached: vec![] })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The positions the KV cache holds at most (requests that need more grow it).
    pub fn max_context(&self) -> usize {
        self.session.max_context()
    }

    /// The ids the KV cache holds.
    pub fn cached_ids(&self) -> &[u32] {
        &self.cached
    }

    /// Forgets the conversation (the cache is kept, emptied).
    pub fn reset(&mut self) {
        self.cached.clear();
        self.session.rewind(0);
    }

    /// Starts answering `req`: the prompt is tokenized and checked now, prefilled by the first
    /// [`Generation::next`]. Tokens come from `next` until it returns `None`.
    pub fn generate(&mut self, req: Request) -> Result<Generation<'_>> {
        req.sampling.validate()?;
        let ids = self.model.prompt_ids(&req.prompt)?;
        if ids.is_empty() {
            return Err(Error::Input("the prompt is empty".into()));
        }
        crate::model::check_ids(&ids, self.model.config().vocab_size)?;
        let model_context = self.model.config().max_position_embeddings.max(1);
        if ids.len() >= model_context {
            return Err(Error::Input(format!(
                "the prompt has {} tokens; {}'s context is {model_context} (start a new chat)",
                ids.len(),
                self.model.name()
            )));
        }
        let want = (ids.len() + req.max_tokens).min(model_context);
        if self.session.max_context() < want {
            // a larger cache; the old one (and what it held) goes first
            self.cached.clear();
            let m = &self.model;
            self.session = Session::new(m.gpu(), m.text_model(), want, req.sampling)?;
        }
        self.session.set_sampler(req.sampling)?;
        let stop = if req.stop_at_end_of_turn { self.model.stop_ids().to_vec() } else { vec![] };
        let stats = Stats { prompt_tokens: ids.len(), ..Default::default() };
        Ok(Generation {
            chat: self,
            req,
            ids,
            stop,
            stats,
            decoder: StreamDecoder::new(),
            steps: None,
            last: None,
            text: String::new(),
        })
    }
}

/// The answer to one request, token by token: an async stream ([`Generation::next`]). Dropping
/// it between tokens ends it there; the conversation keeps what was generated.
pub struct Generation<'c> {
    chat: &'c mut Chat,
    req: Request,
    /// The prompt's ids.
    ids: Vec<u32>,
    stop: Vec<u32>,
    stats: Stats,
    decoder: StreamDecoder,
    /// The decode steps, once the prompt is in.
    steps: Option<DecodeState>,
    /// The last id handed out (sampled, not yet fed to the model).
    last: Option<u32>,
    text: String,
}

impl Drop for Generation<'_> {
    fn drop(&mut self) {
        if let Some(st) = self.steps.take() {
            self.chat.session.decode_end(st);
        }
    }
}

impl Generation<'_> {
    /// The next token, or `None` when the answer has ended ([`Stats::stop`] says why). An error
    /// ends it too (the conversation is then forgotten: its cache may be half written).
    pub async fn next(&mut self) -> Result<Option<Token>> {
        if self.stats.stop.is_some() {
            return Ok(None);
        }
        let r = self.step().await;
        if r.is_err() {
            self.end(StopReason::Failed);
            self.chat.reset();
        }
        r
    }

    async fn step(&mut self) -> Result<Option<Token>> {
        let chat = &mut *self.chat;
        let id = match &mut self.steps {
            None => {
                let t = Instant::now();
                let reused = chat.session.keep_prefix(&chat.cached, &self.ids);
                chat.cached.clear();
                let first = chat.session.prefill(&self.ids[reused..], false).await?.token;
                chat.cached.extend(&self.ids);
                self.stats.reused_tokens = reused;
                self.stats.prefill_s = t.elapsed().as_secs_f64();
                // the steps after the first token, as many as the cache has room for
                let room = chat.session.max_context() - chat.session.position();
                self.steps = Some(chat.session.decode_begin((self.req.max_tokens - 1).min(room))?);
                first
            }
            Some(st) => {
                if self.req.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
                    return Ok(self.end(StopReason::Cancelled));
                }
                let t = Instant::now();
                let id = chat.session.decode_next(st).await?;
                self.stats.decode_s += t.elapsed().as_secs_f64();
                match id {
                    Some(id) => id,
                    // fewer steps than max_tokens asks for: the cache had no room for more
                    None => return Ok(self.end(StopReason::ContextFull)),
                }
            }
        };
        // the id before this one has been fed to the model: the cache holds it now
        if let Some(prev) = self.last.replace(id) {
            self.chat.cached.push(prev);
        }
        self.stats.generated += 1;
        let stops = self.stop.contains(&id);
        let piece = match self.chat.model.tokenizer() {
            Some(t) if !stops => self.decoder.push(t, id)?,
            _ => String::new(),
        };
        self.text.push_str(&piece);
        if stops {
            self.end(StopReason::EndOfTurn);
        } else if self.stats.generated >= self.req.max_tokens {
            self.end(StopReason::MaxTokens);
        }
        Ok(Some(Token { id, text: piece }))
    }

    /// Ends the answer for `why`: a decode step queued ahead is undone.
    fn end(&mut self, why: StopReason) -> Option<Token> {
        self.stats.stop.get_or_insert(why);
        if let Some(st) = self.steps.take() {
            self.chat.session.decode_end(st);
        }
        None
    }

    /// The answer so far, end-of-turn ids left out.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The prompt's token ids.
    pub fn prompt_ids(&self) -> &[u32] {
        &self.ids
    }
}
