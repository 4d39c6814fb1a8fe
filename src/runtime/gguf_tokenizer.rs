//! A GGUF file's tokenizer metadata (`tokenizer.ggml.*`) turned into a tokenizers-crate byte-level
//! BPE: the vocabulary and merges as stored, the pre-tokenizer `tokenizer.ggml.pre` names (as
//! llama.cpp's llama-vocab.cpp maps them), and the control / user-defined tokens as special tokens
//! so they are recognised in text.

use crate::error::{Error, Result};
use crate::loader::gguf::{Gguf, Value};
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, SplitDelimiterBehavior};

/// Llama 3's split pattern (its tokenizer.json; llama.cpp's `llama-bpe`).
const LLAMA3_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// ggml token types (`llama_token_type`).
const CONTROL: i64 = 3;
const USER_DEFINED: i64 = 4;

fn strings<'a>(g: &'a Gguf, key: &str) -> Result<Option<Vec<&'a str>>> {
    let Some(v) = g.get_meta(key) else { return Ok(None) };
    let err = || Error::Tokenizer(format!("{}: `{key}` must be an array of strings", g.path.display()));
    v.as_array().ok_or_else(err)?.iter().map(|s| s.as_str().ok_or_else(err)).collect::<Result<Vec<_>>>().map(Some)
}

/// The pre-tokenizer llama.cpp uses for `tokenizer.ggml.pre`, as the HF tokenizer.json it came from.
fn pre_tokenizer(pre: &str) -> Result<PreTokenizerWrapper> {
    let split = |pattern: &str| -> Result<PreTokenizerWrapper> {
        let s = Split::new(SplitPattern::Regex(pattern.into()), SplitDelimiterBehavior::Isolated, false)
            .map_err(|e| Error::Tokenizer(format!("pre-tokenizer `{pre}`: {e}")))?;
        Ok(Sequence::new(vec![s.into(), ByteLevel::new(false, false, false).into()]).into())
    };
    Ok(match pre {
        // GPT-2's byte-level split.
        "default" | "gpt-2" | "gpt2" | "olmo" | "mpt" => ByteLevel::new(false, true, true).into(),
        // SmolLM: every digit alone, then GPT-2's split.
        "smollm" | "codeshell" | "exaone" | "minerva-7b" => {
            Sequence::new(vec![Digits::new(true).into(), ByteLevel::new(false, true, true).into()]).into()
        }
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "pixtral" => split(LLAMA3_PATTERN)?,
        "llama4" => split(super::tiktoken::O200K_PATTERN)?,
        other => {
            return Err(Error::Tokenizer(format!(
                "tokenizer.ggml.pre `{other}` is not supported (default, gpt-2, smollm, llama-bpe, llama4)"
            )))
        }
    })
}

/// What generation needs besides the tokenizer: BOS handling and the stop tokens.
pub struct GgufVocab {
    pub tokenizer: tokenizers::Tokenizer,
    pub bos: Option<u32>,
    pub add_bos: bool,
    /// eos, eot and eom ids that the vocabulary has.
    pub stop: Vec<u32>,
    pub chat_template: Option<String>,
}

pub fn load(g: &Gguf) -> Result<GgufVocab> {
    let path = g.path.display();
    let err = |m: String| Error::Tokenizer(format!("{path}: {m}"));
    let model = g.get_meta("tokenizer.ggml.model").and_then(|v| v.as_str()).unwrap_or("");
    if model != "gpt2" {
        return Err(err(format!(
            "tokenizer.ggml.model `{model}` is not supported (byte-level BPE `gpt2` is; --prompt-ids works without a tokenizer)"
        )));
    }
    let tokens = strings(g, "tokenizer.ggml.tokens")?.ok_or_else(|| err("no tokenizer.ggml.tokens".into()))?;
    let merges = strings(g, "tokenizer.ggml.merges")?.unwrap_or_default();
    let types: Vec<i64> = match g.get_meta("tokenizer.ggml.token_type").and_then(Value::as_array) {
        Some(a) if a.len() == tokens.len() => a.iter().map(|v| v.as_i64().unwrap_or(1)).collect(),
        Some(a) => return Err(err(format!("{} token types for {} tokens", a.len(), tokens.len()))),
        None => vec![1; tokens.len()],
    };
    let vocab: Vocab = tokens.iter().enumerate().map(|(i, t)| (t.to_string(), i as u32)).collect();
    if vocab.len() != tokens.len() {
        return Err(err("tokenizer.ggml.tokens has duplicates".into()));
    }
    let merges = merges
        .iter()
        .map(|m| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| err(format!("merge `{m}` is not two tokens")))
        })
        .collect::<Result<Vec<_>>>()?;
    let bpe = BPE::builder().vocab_and_merges(vocab, merges).build().map_err(|e| err(e.to_string()))?;
    let mut tok = tokenizers::Tokenizer::new(bpe);
    let pre = g.get_meta("tokenizer.ggml.pre").and_then(|v| v.as_str()).unwrap_or("default");
    tok.with_pre_tokenizer(Some(pre_tokenizer(pre).map_err(|e| err(e.to_string()))?));
    tok.with_decoder(Some(ByteLevel::default()));
    let specials: Vec<AddedToken> = tokens
        .iter()
        .zip(&types)
        .filter(|(_, &t)| t == CONTROL || t == USER_DEFINED)
        .map(|(s, &t)| AddedToken::from(s.to_string(), t == CONTROL))
        .collect();
    tok.add_special_tokens(&specials);
    let id =
        |key: &str| g.get_meta(key).and_then(|v| v.as_u64()).filter(|&x| (x as usize) < tokens.len()).map(|x| x as u32);
    let mut stop: Vec<u32> =
        ["eos", "eot", "eom"].iter().filter_map(|k| id(&format!("tokenizer.ggml.{k}_token_id"))).collect();
    // The chat template's end-of-turn markers, when they are tokens.
    for t in ["<|im_end|>", "<|eot_id|>", "<|eot|>", "<|eom|>", "<|end_of_text|>", "<|endoftext|>"] {
        if let Some(i) = tokens.iter().position(|s| *s == t) {
            stop.push(i as u32);
        }
    }
    stop.sort();
    stop.dedup();
    Ok(GgufVocab {
        tokenizer: tok,
        bos: id("tokenizer.ggml.bos_token_id"),
        add_bos: g.get_meta("tokenizer.ggml.add_bos_token").and_then(|v| v.as_bool()).unwrap_or(false),
        stop,
        chat_template: g.get_meta("tokenizer.chat_template").and_then(|v| v.as_str()).map(String::from),
    })
}
