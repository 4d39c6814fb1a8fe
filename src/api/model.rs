//! A device ([`Runtime`]) and the models loaded on it ([`Model`]).

use super::chat::Chat;
use super::request::Prompt;
use crate::config::TextConfig;
use crate::error::{Error, Result};
use crate::gpu::{AdapterChoice, GpuContext};
use crate::model::{KvCache, LoadOptions, TextModel, Uploaded};
use crate::runtime::{chat, ModelFiles, Tokenizer};
use std::sync::Arc;

/// The runtime on one GPU device. A clone is another handle to the same device.
#[derive(Clone)]
pub struct Runtime {
    ctx: GpuContext,
}

impl Runtime {
    /// Picks an adapter as `choice` says (by default the first GPU, Vulkan/Metal/DX12 before GL)
    /// and creates the library's own device on it.
    pub async fn new(choice: &AdapterChoice) -> Result<Self> {
        Ok(Runtime { ctx: GpuContext::new(choice).await? })
    }

    /// The runtime on the host app's device and queue, created from `adapter` (see
    /// [`GpuContext::from_device`]: nothing global is changed on the device).
    ///
    /// ```no_run
    /// # async fn demo(adapter: wgpu::Adapter) -> llama4_wgpu::Result<()> {
    /// use llama4_wgpu::gpu::GpuContext;
    /// let (device, queue) = adapter
    ///     .request_device(&wgpu::DeviceDescriptor {
    ///         required_limits: GpuContext::wanted_limits(&adapter),
    ///         required_features: GpuContext::wanted_features(&adapter),
    ///         ..Default::default()
    ///     })
    ///     .await
    ///     .expect("a device");
    /// // the app renders with `device` and `queue`; the model computes on the same ones
    /// let runtime = llama4_wgpu::Runtime::from_device(&adapter, device.clone(), queue.clone(), &Default::default())?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_device(
        adapter: &wgpu::Adapter,
        device: wgpu::Device,
        queue: wgpu::Queue,
        choice: &AdapterChoice,
    ) -> Result<Self> {
        Ok(Runtime { ctx: GpuContext::from_device(adapter, device, queue, choice)? })
    }

    /// The runtime on an existing context (the lower layer's handle).
    pub fn from_context(ctx: GpuContext) -> Self {
        Runtime { ctx }
    }

    /// The device, its limits and the variants chosen for it: the lower layer
    /// ([`crate::model`], [`crate::runtime::Session`]) takes it.
    pub fn gpu(&self) -> &GpuContext {
        &self.ctx
    }

    pub fn adapter(&self) -> &wgpu::AdapterInfo {
        &self.ctx.info
    }

    /// Uploads the model `files` opened, calling `progress` after each layer. Synchronous and
    /// CPU-heavy (reading, converting and queuing weights): call it off the UI thread.
    pub fn load(&self, files: ModelFiles, opts: &LoadOptions, progress: impl FnMut(Uploaded)) -> Result<Model> {
        let text = TextModel::load_with(&self.ctx, &files.cfg, files.tensors.as_ref(), opts, progress)?;
        let name = files
            .name
            .clone()
            .or_else(|| files.path.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "model".into());
        let tokenizer = files.tokenizer.ok();
        // a GGUF model always stops at its end-of-generation ids (llama.cpp's convention)
        let stop = tokenizer.as_ref().map(|t| t.stop_ids()).unwrap_or_default();
        Ok(Model {
            inner: Arc::new(Inner {
                ctx: self.ctx.clone(),
                text: Arc::new(text),
                tokenizer,
                template: files.chat_template,
                name,
                stop,
            }),
        })
    }

    /// Opens a GGUF file or a checkpoint folder ([`ModelFiles::open`]) and [`Runtime::load`]s it.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open(&self, path: &std::path::Path, opts: &LoadOptions, progress: impl FnMut(Uploaded)) -> Result<Model> {
        self.load(ModelFiles::open(path)?, opts, progress)
    }
}

struct Inner {
    ctx: GpuContext,
    text: Arc<TextModel>,
    tokenizer: Option<Tokenizer>,
    /// The chat template and the BOS text it is rendered with.
    template: (String, String),
    name: String,
    /// End-of-turn ids.
    stop: Vec<u32>,
}

/// Weights on a device with their tokenizer and chat template. A clone is another handle to the
/// same weights (freed with the last one, and the last [`Chat`] on them).
#[derive(Clone)]
pub struct Model {
    inner: Arc<Inner>,
}

/// Positions a chat holds by default (the KV cache grows with it: SmolLM2-135M at 2048 positions
/// takes 94 MiB in f32).
const CHAT_CONTEXT: usize = 2048;
/// Fewer positions than this make no chat.
const MIN_CONTEXT: usize = 128;

impl Model {
    /// `general.name` of a GGUF file, else the file or folder name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    pub fn config(&self) -> &TextConfig {
        &self.inner.text.cfg
    }

    /// `None` when the files had none (then only [`Prompt::Ids`] work).
    pub fn tokenizer(&self) -> Option<&Tokenizer> {
        self.inner.tokenizer.as_ref()
    }

    /// The ids that end an answer.
    pub fn stop_ids(&self) -> &[u32] {
        &self.inner.stop
    }

    /// The weights as the lower layer holds them (for [`crate::runtime::Session`]).
    pub fn text_model(&self) -> &Arc<TextModel> {
        &self.inner.text
    }

    /// The device it is on (the lower layer's handle).
    pub fn gpu(&self) -> &GpuContext {
        &self.inner.ctx
    }

    /// The adapter the weights are on.
    pub fn adapter(&self) -> &wgpu::AdapterInfo {
        &self.inner.ctx.info
    }

    /// Bytes of weights on the GPU.
    pub fn weight_bytes(&self) -> u64 {
        self.inner.text.weight_bytes()
    }

    /// The positions a chat keeps unless asked otherwise: 2048 (or the model's own context when
    /// smaller), fewer when a layer's K or V cache would not fit one storage binding; an error
    /// naming the limit when not even 128 positions fit.
    pub fn default_context(&self) -> Result<usize> {
        let (cfg, ctx) = (self.config(), self.gpu());
        let want = CHAT_CONTEXT.min(cfg.max_position_embeddings.max(1));
        let n = KvCache::positions_within(cfg, want, self.inner.text.dtype, ctx.max_binding);
        if n < MIN_CONTEXT.min(want) {
            return Err(Error::Unsupported {
                adapter: ctx.info.name.clone(),
                what: format!(
                    "room for a chat with {}: a layer's KV cache holds only {n} positions within one storage binding \
                     (max_storage_buffer_binding_size {} bytes), a chat needs {}",
                    self.name(),
                    ctx.max_binding,
                    MIN_CONTEXT.min(want)
                ),
            });
        }
        Ok(n)
    }

    /// A new conversation with a KV cache of `max_context` positions (default:
    /// [`Model::default_context`]); a request that needs more grows it.
    pub fn chat(&self, max_context: Option<usize>) -> Result<Chat> {
        let n = match max_context {
            Some(n) => n.max(1),
            None => self.default_context()?,
        };
        Chat::new(self.clone(), n)
    }

    /// `messages` through the model's chat template, the assistant's turn opened.
    pub fn render(&self, messages: &[chat::Message]) -> Result<String> {
        chat::render(&self.inner.template.0, &self.inner.template.1, messages, true)
    }

    /// The prompt's token ids.
    pub fn prompt_ids(&self, prompt: &Prompt) -> Result<Vec<u32>> {
        let tok = || {
            self.tokenizer().ok_or_else(|| {
                Error::Tokenizer(format!("{} has no tokenizer: give the prompt as token ids", self.name()))
            })
        };
        match prompt {
            Prompt::Ids(ids) => Ok(ids.clone()),
            Prompt::Text(t) => tok()?.encode_prompt(t),
            Prompt::Messages(m) => tok()?.encode_prompt(&self.render(m)?),
        }
    }
}
