//! `tokenizer.json` through the tokenizers crate, plus the special ids generation needs.

use crate::error::{Error, Result};
use std::path::Path;

pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
}

impl Tokenizer {
    /// `DIR/tokenizer.json`, else Meta's tiktoken `DIR/tokenizer.model`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let path = dir.join("tokenizer.json");
        if path.exists() {
            let inner = tokenizers::Tokenizer::from_file(&path)
                .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))?;
            return Ok(Tokenizer { inner });
        }
        let model = dir.join("tokenizer.model");
        if model.exists() {
            return Self::from_tiktoken(&model);
        }
        Err(Error::Tokenizer(format!(
            "{}: no tokenizer.json or tokenizer.model (needed for --prompt; --prompt-ids works without)",
            dir.display()
        )))
    }

    /// Meta's Llama 4 `tokenizer.model` (tiktoken ranks), loaded directly.
    pub fn from_tiktoken(path: &Path) -> Result<Self> {
        Ok(Tokenizer { inner: super::tiktoken::load(path)? })
    }

    /// Encodes text exactly as written (special tokens in the text are recognised; no BOS added).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, false).map_err(|e| Error::Tokenizer(format!("encoding: {e}")))?;
        Ok(enc.get_ids().to_vec())
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

    /// Ids that end a chat turn: `<|eot|>`, `<|eom|>`, `<|end_of_text|>` (those that exist).
    pub fn stop_ids(&self) -> Vec<u32> {
        ["<|eot|>", "<|eom|>", "<|end_of_text|>"].iter().filter_map(|t| self.token_id(t)).collect()
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
