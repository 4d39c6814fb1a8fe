//! The tokenizer (tokenizers crate) of a checkpoint folder (`tokenizer.json`, Meta's
//! `tokenizer.model`) or of a GGUF file's metadata, plus what generation needs: BOS handling and
//! the ids that end a turn.

use crate::error::{Error, Result};
use crate::loader::{FileSource, Folder};
use std::path::Path;

pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    /// The BOS id, prepended by [`Tokenizer::encode_prompt`] when the model asks for it.
    pub bos: Option<u32>,
    pub add_bos: bool,
    stop: Vec<u32>,
}

impl Tokenizer {
    /// `DIR/tokenizer.json`, else Meta's tiktoken `DIR/tokenizer.model`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        Self::from_files(&Folder::new(dir))
    }

    /// `tokenizer.json`, else Meta's tiktoken `tokenizer.model`, of any file source.
    pub fn from_files(src: &dyn FileSource) -> Result<Self> {
        if src.exists("tokenizer.json") {
            let bytes = src.open("tokenizer.json")?;
            let inner = tokenizers::Tokenizer::from_bytes(&*bytes)
                .map_err(|e| Error::Tokenizer(format!("{}: {e}", src.path_of("tokenizer.json").display())))?;
            return Ok(Self::hf(inner));
        }
        if src.exists("tokenizer.model") {
            let path = src.path_of("tokenizer.model");
            return Ok(Self::hf(super::tiktoken::from_text(&src.read_text("tokenizer.model")?, &path)?));
        }
        Err(Error::Tokenizer(format!(
            "{}: no tokenizer.json or tokenizer.model (needed for --prompt; --prompt-ids works without)",
            src.origin().display()
        )))
    }

    /// Meta's Llama 4 `tokenizer.model` (tiktoken ranks), loaded directly.
    pub fn from_tiktoken(path: &Path) -> Result<Self> {
        Ok(Self::hf(super::tiktoken::load(path)?))
    }

    /// A Llama 4 tokenizer: stops at `<|eot|>`, `<|eom|>`, `<|end_of_text|>` (those that exist).
    fn hf(inner: tokenizers::Tokenizer) -> Self {
        let stop = ["<|eot|>", "<|eom|>", "<|end_of_text|>"].iter().filter_map(|t| inner.token_to_id(t)).collect();
        Tokenizer { bos: inner.token_to_id("<|begin_of_text|>"), add_bos: false, stop, inner }
    }

    /// The tokenizer in a GGUF file's metadata, and its chat template if it has one.
    pub fn from_gguf(g: &crate::loader::Gguf) -> Result<(Self, Option<String>)> {
        let v = super::gguf_tokenizer::load(g)?;
        Ok((Tokenizer { inner: v.tokenizer, bos: v.bos, add_bos: v.add_bos, stop: v.stop }, v.chat_template))
    }

    /// Encodes text exactly as written (special tokens in the text are recognised; no BOS added).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, false).map_err(|e| Error::Tokenizer(format!("encoding: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Encodes a prompt: BOS first when the model asks for one and the text does not start with it.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = self.encode(text)?;
        if let (true, Some(b)) = (self.add_bos, self.bos) {
            if ids.first() != Some(&b) {
                ids.insert(0, b);
            }
        }
        Ok(ids)
    }

    /// The text of token `id` (for templates that print `bos_token`).
    pub fn token_text(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, false).map_err(|e| Error::Tokenizer(format!("decoding: {e}")))
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Ids that end a turn (end of generation).
    pub fn stop_ids(&self) -> Vec<u32> {
        self.stop.clone()
    }
}

/// Decodes a growing id list incrementally: returns only the new, complete text (holding back a
/// trailing partial UTF-8 sequence), so text can stream to stdout token by token.
pub struct StreamDecoder {
    ids: Vec<u32>,
    printed: usize,
}

impl StreamDecoder {
    pub fn new() -> Self {
        StreamDecoder { ids: vec![], printed: 0 }
    }
    pub fn push(&mut self, tok: &Tokenizer, id: u32) -> Result<String> {
        self.ids.push(id);
        let text = tok.decode(&self.ids)?;
        if text.ends_with('\u{FFFD}') || text.len() < self.printed || !text.is_char_boundary(self.printed) {
            return Ok(String::new());
        }
        let new = text[self.printed..].to_string();
        self.printed = text.len();
        Ok(new)
    }
}

impl Default for StreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}
