//! A generation session: prefill the prompt in batched steps (micro-batches of at most
//! [`Session::prefill_batch`] tokens), then one token per decode step.
//! Each step is one recorded plan replayed in one submit; the only readback is the sampled id
//! (and logits when asked for).

use crate::error::{Error, Result};
use crate::gpu::buffers::{map_and_read_after, read_f32};
use crate::gpu::Activation;
use crate::gpu::{DispatchTime, GpuContext, Plan, Timer};
use crate::kernels::SamplerConfig;
use crate::model::{ImageMerge, KvCache, TextModel, Workspace};
use std::sync::Arc;

mod decoding;
pub(crate) use decoding::DecodeState;
pub use decoding::Decoding;

struct Stage {
    ws: Workspace,
    plan: Plan,
}

/// One sequence's KV cache and recorded steps on a loaded model. Owns what it uses (a handle to
/// the context, the model as a shared `Arc`), so it can be stored beside them or moved to
/// another task.
pub struct Session {
    ctx: GpuContext,
    model: Arc<TextModel>,
    cache: KvCache,
    sampler: SamplerConfig,
    decode: Option<Stage>,
    /// Token readback buffers: a step copies its sampled id into one; [`Session::decode_stream`]
    /// alternates between the two while the next step runs.
    staging: [wgpu::Buffer; 2],
    /// Positions already in the cache.
    past: usize,
    /// Steps taken (feeds the sampler's RNG; a prefill counts once, however many batches).
    counter: u32,
    /// The most tokens one prefill step takes.
    prefill_batch: usize,
    /// Whether the decode workspace holds the last sampled token.
    has_next: bool,
    /// The most bytes of GPU buffers this session has held at once (cache, workspaces, readback).
    peak_bytes: u64,
    /// Time every dispatch of the next steps (timestamp queries), see [`Session::set_profiling`].
    profiling: bool,
    /// [`Session::decode_stream`] queues the next step before reading an id back.
    queue_ahead: bool,
    last_profile: Option<Vec<DispatchTime>>,
}

/// What one step produced.
pub struct StepOut {
    pub token: u32,
    /// `[rows, vocab]` when logits were requested.
    pub logits: Option<Vec<f32>>,
}

impl Session {
    /// A session of `max_context` positions (its KV cache) that samples with `sampler` until
    /// [`Session::set_sampler`] changes it.
    pub fn new(ctx: &GpuContext, model: &Arc<TextModel>, max_context: usize, sampler: SamplerConfig) -> Result<Self> {
        sampler.validate()?;
        let cache = KvCache::new(ctx, &model.cfg, max_context, model.dtype)?;
        let prefill_batch =
            Workspace::max_tokens(ctx, &model.cfg, model.passes(ctx), crate::model::workspace::PREFILL_BATCH);
        if prefill_batch == 0 {
            return Err(Error::Unsupported {
                adapter: ctx.info.name.clone(),
                what: format!(
                    "a step of one token: its activations exceed max_storage_buffer_binding_size ({} bytes)",
                    ctx.max_binding
                ),
            });
        }
        let staging = [0, 1].map(|_| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("token readback"),
                size: 4,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        let mut s = Session {
            ctx: ctx.clone(),
            model: model.clone(),
            cache,
            sampler,
            decode: None,
            staging,
            past: 0,
            counter: 0,
            prefill_batch,
            has_next: false,
            peak_bytes: 0,
            profiling: false,
            // a CPU adapter's "GPU" is the same cores: there, queuing ahead measured 9% slower
            // (SmolLM2 Q4_1 tg64 on lavapipe, 8.4 against 9.2 tok/s)
            queue_ahead: !ctx.is_cpu(),
            last_profile: None,
        };
        s.note_held(0);
        Ok(s)
    }

    /// How tokens are chosen from here on. A different sampler re-records the decode step (its
    /// workspace is kept); either way the draw restarts from `sampler`'s seed, so one request
    /// samples the same ids whatever ran before it.
    pub fn set_sampler(&mut self, sampler: SamplerConfig) -> Result<()> {
        sampler.validate()?;
        if sampler != self.sampler {
            self.sampler = sampler;
            if let Some(stage) = self.decode.take() {
                let plan = self.model.record(&self.ctx, &stage.ws, &self.cache, &self.sampler)?;
                self.decode = Some(Stage { ws: stage.ws, plan });
            }
        }
        self.counter = 0;
        Ok(())
    }

    pub fn sampler(&self) -> &SamplerConfig {
        &self.sampler
    }

    /// The positions the KV cache holds at most.
    pub fn max_context(&self) -> usize {
        self.cache.max_context
    }

    /// Dispatches in one decode step (after the first prefill or decode).
    pub fn decode_dispatches(&self) -> Option<usize> {
        self.decode.as_ref().map(|s| s.plan.len())
    }

    /// The most bytes of GPU buffers this session has held at once: its KV cache, the decode
    /// workspace, the largest prefill workspace and the readback buffer (the weights are the
    /// model's: add [`TextModel::weight_bytes`](crate::model::TextModel::weight_bytes)).
    pub fn peak_bytes(&self) -> u64 {
        self.peak_bytes
    }

    /// With `on`, every following step runs each dispatch in its own timed compute pass (slower:
    /// for profiles, not for speed) and [`Session::last_profile`] gives its kernels' GPU times.
    /// Where the device has no timestamp queries, steps run untimed ([`Timer::new`] is `None`).
    pub fn set_profiling(&mut self, on: bool) {
        self.profiling = on;
    }

    /// Each dispatch of the last profiled step, in order, with its GPU time.
    pub fn last_profile(&self) -> Option<&[DispatchTime]> {
        self.last_profile.as_deref()
    }

    /// The most tokens one prefill step takes: longer prompts prefill in micro-batches of this
    /// many (at most 512, fewer where a step's activations would pass the binding limit).
    pub fn prefill_batch(&self) -> usize {
        self.prefill_batch
    }

    /// Prefill in micro-batches of at most `n` tokens: any `n` from 1 up to the most whose step
    /// fits the adapter's storage binding limit (which may be more than the default 512).
    pub fn set_prefill_batch(&mut self, n: usize) -> Result<()> {
        let most = Workspace::max_tokens(&self.ctx, &self.model.cfg, self.model.passes(&self.ctx), n.max(1));
        if n == 0 || most < n {
            return Err(Error::Input(format!(
                "a prefill batch of {n} tokens: between 1 and {most} fit this adapter's bindings"
            )));
        }
        self.prefill_batch = n;
        Ok(())
    }

    pub fn position(&self) -> usize {
        self.past
    }

    /// Forgets every position from `n` on, so the next prefill continues at `n` (a chat turn that
    /// re-tokenizes differently from what was generated). Returns false, changing nothing, when the
    /// cache no longer holds positions `..n`: a chunked layer's ring has moved past `n`'s chunk
    /// (a rewind to the start of a chunk, and so to 0, always works).
    pub fn rewind(&mut self, n: usize) -> bool {
        if n > self.past {
            return false;
        }
        let chunk = self.model.cfg.attention_chunk_size;
        let chunked = self.cache.layers.iter().any(|l| l.shape.chunk != 0 && l.shape.cap < self.cache.max_context);
        // a chunked layer's ring holds the current chunk only; a rewind to a chunk's start needs
        // nothing of it (position 0 always works)
        if chunked && n < self.past && n < (self.past - 1) / chunk * chunk && !n.is_multiple_of(chunk) {
            return false;
        }
        self.past = n;
        self.has_next = false;
        true
    }

    /// Moves `n` positions ahead as if a prompt of `n` tokens had run, without running it: the KV
    /// cache keeps whatever those positions hold (zeros in a new session). For benchmarks at a
    /// context depth (`bench -d`), where a step's cost depends on how many positions attention
    /// reads, not on their values; what is generated after it means nothing.
    pub fn skip(&mut self, n: usize) -> Result<()> {
        self.check_room(n)?;
        self.past += n;
        self.has_next = false;
        Ok(())
    }

    /// Keeps the longest prefix of `ids` that `cached` (the ids the cache holds, in order) starts
    /// with, leaving at least one id to prefill, and rewinds to it, or to 0 when the cache can no
    /// longer go back there. Returns how many ids were kept: prefill `ids[kept..]` next.
    pub fn keep_prefix(&mut self, cached: &[u32], ids: &[u32]) -> usize {
        let common = cached.iter().zip(ids).take_while(|(a, b)| a == b).count().min(ids.len().saturating_sub(1));
        if self.rewind(common) {
            common
        } else {
            self.rewind(0);
            0
        }
    }

    /// Raises the peak to what the cache, the readback buffer, the decode workspace and `extra`
    /// bytes (a prefill's workspace) hold together.
    fn note_held(&mut self, extra: u64) {
        let decode_ws = self.decode.as_ref().map_or(0, |s| s.ws.bytes());
        let cache = KvCache::bytes(&self.model.cfg, self.cache.max_context, self.model.dtype);
        let held = cache + self.staging.iter().map(|b| b.size()).sum::<u64>() + decode_ws + extra;
        self.peak_bytes = self.peak_bytes.max(held);
    }

    fn check_room(&self, n: usize) -> Result<()> {
        if self.past + n > self.cache.max_context {
            return Err(Error::Input(format!(
                "context too long: {} positions in the cache + {n} new exceed the maximum context of {} (raise --max-context)",
                self.past, self.cache.max_context
            )));
        }
        Ok(())
    }

    fn decode_stage(&mut self) -> Result<&Stage> {
        if self.decode.is_none() {
            let ctx = &self.ctx;
            let ws = Workspace::new(ctx, &self.model.cfg, self.model.passes(ctx), 1, true)?;
            let plan = self.model.record(ctx, &ws, &self.cache, &self.sampler)?;
            self.decode = Some(Stage { ws, plan });
            self.note_held(0);
        }
        Ok(self.decode.as_ref().unwrap())
    }

    /// Runs the prompt through the model, in steps of at most [`Session::prefill_batch`]
    /// tokens. With `all_logits`, returns the logits of every prompt position `[T, vocab]`; the
    /// sampled next token is always returned.
    pub async fn prefill(&mut self, ids: &[u32], all_logits: bool) -> Result<StepOut> {
        self.prefill_merged(ids, all_logits, None).await
    }

    /// [`Session::prefill`] of a prompt with images: the rows of its `patch` tokens are the
    /// rows of `features` (`[n_patch, hidden]`, from [`crate::model::VisionModel::encode`]), in
    /// order; the counts must match.
    pub async fn prefill_images(
        &mut self,
        ids: &[u32],
        all_logits: bool,
        patch: u32,
        features: Activation,
    ) -> Result<StepOut> {
        self.prefill_images_from(ids, all_logits, patch, features, 0).await
    }

    /// [`Session::prefill_images`] of the rest of a conversation whose earlier part the cache
    /// holds: `features` has the rows of every image so far, and the `patch` tokens of `ids`
    /// take them from `first_row` (the `patch` tokens already in the cache) to the end.
    pub async fn prefill_images_from(
        &mut self,
        ids: &[u32],
        all_logits: bool,
        patch: u32,
        features: Activation,
        first_row: usize,
    ) -> Result<StepOut> {
        let dims = (self.model.cfg.hidden_size, self.past, first_row);
        let merge = ImageMerge::new(&self.ctx, ids, patch, features, dims)?;
        self.prefill_merged(ids, all_logits, Some(&merge)).await
    }

    async fn prefill_merged(&mut self, ids: &[u32], all_logits: bool, merge: Option<&ImageMerge>) -> Result<StepOut> {
        if ids.is_empty() {
            return Err(Error::Input("empty prompt".into()));
        }
        crate::model::check_ids(ids, self.model.cfg.vocab_size)?;
        self.check_room(ids.len())?;
        self.decode_stage()?;
        let batch = self.prefill_batch;
        // one workspace and plan for the full batches (replayed), one for a shorter last batch
        let stage = |s: &Self, n: usize| -> Result<Stage> {
            let ws = Workspace::new(&s.ctx, &s.model.cfg, s.model.passes(&s.ctx), n, all_logits)?;
            let plan = s.model.record_with(&s.ctx, &ws, &s.cache, &s.sampler, merge)?;
            Ok(Stage { ws, plan })
        };
        let full = if ids.len() >= batch { Some(stage(self, batch)?) } else { None };
        let rest = match ids.len() % batch {
            0 => None,
            n => Some(stage(self, n)?),
        };
        self.note_held([&full, &rest].into_iter().flatten().map(|s| s.ws.bytes()).sum());
        let mut logits: Option<Vec<f32>> = all_logits.then(Vec::new);
        let mut token = 0;
        for (i, part) in ids.chunks(batch).enumerate() {
            let last = (i + 1) * batch >= ids.len();
            let st = if part.len() == batch { full.as_ref() } else { rest.as_ref() }.unwrap();
            let out = self.run(st, Some(part), all_logits, last).await?;
            token = out.token;
            if let (Some(all), Some(l)) = (&mut logits, out.logits) {
                all.extend(l);
            }
        }
        Ok(StepOut { token, logits })
    }

    /// Feeds the last sampled token (or `force`) and samples the next one.
    pub async fn decode(&mut self, force: Option<u32>, want_logits: bool) -> Result<StepOut> {
        if let Some(f) = force {
            crate::model::check_ids(&[f], self.model.cfg.vocab_size)?;
        } else if !self.has_next {
            return Err(Error::Input("decode before prefill".into()));
        }
        self.check_room(1)?;
        self.decode_stage()?;
        let stage = self.decode.take().unwrap();
        let r = self.run(&stage, force.as_ref().map(std::slice::from_ref), want_logits, true).await;
        self.decode = Some(stage);
        r
    }

    /// Whether [`Session::decode_stream`] queues each next step before reading an id back (the
    /// default on GPUs; CPU adapters run their steps on the cores that would encode the next).
    pub fn set_queue_ahead(&mut self, on: bool) {
        self.queue_ahead = on;
    }

    /// One step: its inputs written, its plan submitted, the sampled id read back. `last`: the
    /// step that ends a prefill or a decode (the sampler's counter moves on after it).
    async fn run(&mut self, stage: &Stage, ids: Option<&[u32]>, want_logits: bool, last: bool) -> Result<StepOut> {
        let ws = &stage.ws;
        let timer = if self.profiling { Timer::new(&self.ctx, stage.plan.len()) } else { None };
        let done = self.submit(stage, ids, last, 0, timer.as_ref())?;
        let ctx = &self.ctx;
        let token = map_and_read_after(ctx, &self.staging[0], 1, Some(done)).await?[0];
        if let Some(t) = timer {
            self.last_profile = Some(t.read(ctx, &stage.plan).await?);
        }
        let logits = if want_logits {
            let mut all = Vec::with_capacity(ws.logits_rows * self.model.cfg.vocab_size);
            for block in &ws.logits {
                all.extend(read_f32(ctx, block, 0, block.len).await?);
            }
            Some(all)
        } else {
            None
        };
        Ok(StepOut { token, logits })
    }

    /// Writes a step's inputs and submits its plan (timed per dispatch with `timer`), its sampled
    /// id copied into the decode workspace's ids (the next step's input) and into readback buffer
    /// `slot`; the session moves past the step's tokens.
    fn submit(
        &mut self,
        stage: &Stage,
        ids: Option<&[u32]>,
        last: bool,
        slot: usize,
        timer: Option<&Timer>,
    ) -> Result<wgpu::SubmissionIndex> {
        let ctx = &self.ctx;
        let ws = &stage.ws;
        let scope = ctx.error_scope();
        ws.write_step(ctx, &self.model.cfg, &self.model.inv_freq, self.past, self.counter, ids);
        let dec_ids = &self.decode.as_ref().map(|s| &s.ws.ids).unwrap_or(&ws.ids).buffer;
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        match timer {
            Some(t) => t.encode(&stage.plan, &mut enc),
            None => stage.plan.encode(&mut enc),
        }
        enc.copy_buffer_to_buffer(&ws.token.buffer, 0, dec_ids, 0, 4);
        enc.copy_buffer_to_buffer(&ws.token.buffer, 0, &self.staging[slot], 0, 4);
        let index = ctx.queue.submit([enc.finish()]);
        scope.check(ctx, "a forward step")?;
        self.past += ws.n_tokens;
        self.counter += last as u32;
        self.has_next = true;
        Ok(index)
    }
}
