//! Meta's Llama 4 `tokenizer.model` (tiktoken: base64 token bytes and ranks) loaded directly into
//! a tokenizers-crate byte-level BPE, the way transformers' `TikTokenConverter` converts it:
//! vocab = ranks, merges recovered from the ranks, the o200k split pattern, then Meta's 2048
//! special tokens from id 200000 (llama-models `llama4/tokenizer.py`).

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior};

/// Llama 4's pre-tokenizer pattern (`O200K_PATTERN` in Meta's tokenizer.py and HF's converter).
pub const O200K_PATTERN: &str = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

pub const NUM_RESERVED_SPECIAL: usize = 2048;

/// Meta's special tokens in id order (ids 200000.. for the real model).
pub fn llama4_special_tokens() -> Vec<String> {
    let mut t: Vec<String> =
        ["<|begin_of_text|>", "<|end_of_text|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    t.extend(["<|header_start|>", "<|header_end|>", "<|eom|>", "<|eot|>", "<|step|>"].map(String::from));
    t.extend((0..6).map(|i| format!("<|text_post_train_reserved_special_token_{i}|>")));
    t.extend(["<|python_start|>", "<|python_end|>", "<|finetune_right_pad|>"].map(String::from));
    t.extend(reserved("text_post_train", 61, 8));
    t.extend(
        [
            "<|image_start|>",
            "<|image_end|>",
            "<|vision_reserved_special_token_0|>",
            "<|vision_reserved_special_token_1|>",
        ]
        .map(String::from),
    );
    t.extend(["<|tile_x_separator|>", "<|tile_y_separator|>"].map(String::from));
    t.extend((2..6).map(|i| format!("<|vision_reserved_special_token_{i}|>")));
    t.extend(["<|image|>", "<|vision_reserved_special_token_6|>", "<|patch|>"].map(String::from));
    t.extend(reserved("vision", 1041, 7));
    t.extend((0..8).map(|i| format!("<|reasoning_reserved_special_token_{i}|>")));
    t.extend(["<|reasoning_thinking_start|>", "<|reasoning_thinking_end|>"].map(String::from));
    let n = t.len();
    t.extend((0..NUM_RESERVED_SPECIAL - n).map(|i| format!("<|reserved_special_token_{i}|>")));
    t
}

fn reserved(name: &'static str, n: usize, start: usize) -> impl Iterator<Item = String> {
    (start..start + n).map(move |i| format!("<|{name}_reserved_special_token_{i}|>"))
}

/// GPT-2's reversible byte -> printable char map used by byte-level BPE.
fn bytes_to_unicode() -> [char; 256] {
    let mut map = ['\0'; 256];
    let mut n = 0u32;
    for b in 0..=255u32 {
        let printable = (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
        map[b as usize] = if printable {
            char::from_u32(b).unwrap()
        } else {
            n += 1;
            char::from_u32(255 + n).unwrap()
        };
    }
    map
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// Builds the tokenizer from a tiktoken file.
pub fn load(path: &Path) -> Result<tokenizers::Tokenizer> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))?;
    from_text(&text, path)
}

/// Builds the tokenizer from a tiktoken file's text; `path` names it in errors.
pub fn from_text(text: &str, path: &Path) -> Result<tokenizers::Tokenizer> {
    let err = |m: String| Error::Tokenizer(format!("{}: {m}", path.display()));
    let mut ranks: HashMap<Vec<u8>, u32> = HashMap::with_capacity(200_000);
    for (ln, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let mut it = line.split_whitespace();
        let (tok, rank) = (it.next(), it.next().and_then(|r| r.parse::<u32>().ok()));
        let (Some(tok), Some(rank)) = (tok, rank) else {
            return Err(err(format!("line {}: expected `<base64> <rank>`", ln + 1)));
        };
        let bytes = b64_decode(tok).ok_or_else(|| err(format!("line {}: bad base64", ln + 1)))?;
        ranks.insert(bytes, rank);
    }
    let map = bytes_to_unicode();
    let to_str = |b: &[u8]| b.iter().map(|&x| map[x as usize]).collect::<String>();
    // Merges, as TikTokenConverter derives them: every split of a token into two tokens, ordered
    // by the merged token's rank, then by the ranks of the parts.
    // (merged rank, left rank, right rank, left bytes, right bytes)
    type Merge = (u32, u32, u32, Vec<u8>, Vec<u8>);
    let mut merges: Vec<Merge> = vec![];
    for (tok, &rank) in &ranks {
        for i in 1..tok.len() {
            let (l, r) = (&tok[..i], &tok[i..]);
            if let (Some(&rl), Some(&rr)) = (ranks.get(l), ranks.get(r)) {
                merges.push((rank, rl, rr, l.to_vec(), r.to_vec()));
            }
        }
    }
    merges.sort_unstable_by_key(|m| (m.0, m.1, m.2));
    let merges: Vec<(String, String)> = merges.into_iter().map(|m| (to_str(&m.3), to_str(&m.4))).collect();
    let n_base = ranks.len() as u32;
    let vocab: Vocab = ranks.into_iter().map(|(b, r)| (to_str(&b), r)).collect();
    let bpe =
        BPE::builder().vocab_and_merges(vocab, merges).ignore_merges(true).build().map_err(|e| err(e.to_string()))?;
    let mut tok = tokenizers::Tokenizer::new(bpe);
    let split = Split::new(SplitPattern::Regex(O200K_PATTERN.into()), SplitDelimiterBehavior::Isolated, false)
        .map_err(|e| err(e.to_string()))?;
    tok.with_pre_tokenizer(Some(Sequence::new(vec![split.into(), ByteLevel::new(false, false, false).into()])));
    tok.with_decoder(Some(ByteLevel::default()));
    let specials: Vec<AddedToken> = llama4_special_tokens().into_iter().map(|s| AddedToken::from(s, true)).collect();
    tok.add_special_tokens(&specials);
    if tok.token_to_id("<|begin_of_text|>") != Some(n_base) {
        return Err(err(format!("special tokens did not land at id {n_base}")));
    }
    Ok(tok)
}
