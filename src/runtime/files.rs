//! Opening what `--model` names: a Hugging Face checkpoint folder (config.json, safetensors,
//! tokenizer files) or one GGUF file (metadata, tensors, tokenizer and chat template inside).

use super::{chat, Tokenizer};
use crate::config::{TextConfig, VisionConfig};
use crate::error::{Error, Result};
use crate::loader::{Checkpoint, FileSource, Folder, Gguf, TensorSource};
use crate::vision::ProcessorConfig;
use std::path::{Path, PathBuf};

pub struct ModelFiles {
    pub path: PathBuf,
    pub cfg: TextConfig,
    pub tensors: Box<dyn TensorSource>,
    /// The tokenizer, or why there is none (`--prompt-ids` works without one).
    pub tokenizer: Result<Tokenizer>,
    /// The chat template and the BOS text it is rendered with.
    pub chat_template: (String, String),
    pub is_gguf: bool,
    /// The model's own name (a GGUF file's `general.name`), where the files give one.
    pub name: Option<String>,
    /// The vision tower's config (`vision_config`), `None` for a text-only model.
    pub vision: Option<VisionConfig>,
    /// How images are cut into tiles (`preprocessor_config.json`, else Llama 4's defaults).
    pub processor: ProcessorConfig,
}

impl ModelFiles {
    /// Opens a `.gguf` file, or a checkpoint folder, with its tokenizer.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, true)
    }

    /// As [`ModelFiles::open`]; with `folder_tokenizer` false a folder's tokenizer is not loaded
    /// (deriving Meta's tiktoken merges takes seconds) and `tokenizer` says so. A GGUF file's
    /// vocabulary is always read: its end-of-generation ids stop every run.
    pub fn open_with(path: &Path, folder_tokenizer: bool) -> Result<Self> {
        if path.is_dir() {
            return Self::from_folder(&Folder::new(path), folder_tokenizer);
        }
        if !path.exists() {
            return Err(Error::file(path, "no such file or folder"));
        }
        Self::from_gguf(Gguf::open(path)?)
    }

    /// A Hugging Face checkpoint from any file source (a folder, files in memory): config.json,
    /// safetensors (one file or an index and shards), the tokenizer and chat template files.
    pub fn from_folder(src: &dyn FileSource, load_tokenizer: bool) -> Result<Self> {
        let vision = VisionConfig::from_files(src)?;
        // Without a processor config, tiles are the tower's own size (Llama 4's other defaults).
        let processor = ProcessorConfig::from_files(src)?.unwrap_or_else(|| ProcessorConfig {
            tile: vision.as_ref().map_or(336, |v| v.image_size),
            ..Default::default()
        });
        Ok(ModelFiles {
            path: src.origin().into(),
            cfg: TextConfig::from_files(src)?,
            tensors: Box::new(Checkpoint::from_files(src)?),
            tokenizer: if load_tokenizer {
                Tokenizer::from_files(src)
            } else {
                Err(Error::Tokenizer("not loaded (not needed)".into()))
            },
            chat_template: chat::load_template_from(src)?,
            is_gguf: false,
            name: None,
            vision,
            processor,
        })
    }

    /// A GGUF model, from a file or bytes in memory ([`Gguf::from_bytes`]).
    pub fn from_gguf(g: Gguf) -> Result<Self> {
        let path = g.path.clone();
        let name = g.get_meta("general.name").and_then(|v| v.as_str()).map(str::to_string);
        let cfg = TextConfig::from_gguf(&g)?;
        let (tokenizer, template) = match Tokenizer::from_gguf(&g) {
            Ok((t, tpl)) => (Ok(t), tpl),
            Err(e) => (Err(e), None),
        };
        let bos = tokenizer.as_ref().ok().and_then(|t| t.bos.and_then(|b| t.token_text(b))).unwrap_or_default();
        let template = template.unwrap_or_else(|| chat::LLAMA4_TEMPLATE.to_string());
        Ok(ModelFiles {
            path,
            cfg,
            tensors: Box::new(g),
            tokenizer,
            chat_template: (template, bos),
            is_gguf: true,
            name,
            vision: None,
            processor: ProcessorConfig::default(),
        })
    }
}

/// The file name `tools/fetch_smollm2.sh` gives SmolLM2-135M-Instruct (Q4_1 GGUF) in [`cache_dir`].
pub const SMOLLM2_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// Where the fetch tools put models: `$LLAMA4_WGPU_CACHE`, else `$XDG_CACHE_HOME/llama4-wgpu`,
/// else `~/.cache/llama4-wgpu` (`None` without any of these variables).
#[cfg(not(target_arch = "wasm32"))]
pub fn cache_dir() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("LLAMA4_WGPU_CACHE")
        .or_else(|| var("XDG_CACHE_HOME").map(|c| c.join("llama4-wgpu")))
        .or_else(|| var("HOME").map(|h| h.join(".cache/llama4-wgpu")))
}
