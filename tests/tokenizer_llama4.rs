//! The real Llama 4 tokenizer (Meta's `tokenizer.model` from PyPI's llama-models 0.3.0, fetched by
//! tools/fetch_llama4_tokenizer.sh) loaded by our tiktoken loader gives the same ids as Meta's
//! tiktoken-based tokenizer (vectors from tools/make_tokenizer_vectors.py), in many scripts.

mod common;
use llama4_wgpu::runtime::chat::{self, Message};
use llama4_wgpu::runtime::Tokenizer;
use std::path::Path;

fn llama4() -> Tokenizer {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/llama4-tokenizer/tokenizer.model");
    assert!(p.exists(), "{} missing: run tools/fetch_llama4_tokenizer.sh (CI does)", p.display());
    Tokenizer::from_tiktoken(&p).unwrap()
}

#[test]
fn same_ids_as_tiktoken_in_many_scripts() {
    let tok = llama4();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(common::fixture("llama4_tokenizer_vectors.json")).unwrap())
            .unwrap();
    assert_eq!(tok.vocab_size(), v["n_words"].as_u64().unwrap() as usize);
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 15);
    for c in cases {
        let text = c["text"].as_str().unwrap();
        let want: Vec<u32> = c["ids"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
        assert_eq!(tok.encode(text).unwrap(), want, "ids differ for {text:?}");
        assert_eq!(tok.decode(&want).unwrap(), text, "round trip of {text:?}");
    }
}

#[test]
fn special_token_ids_match_the_spec() {
    let tok = llama4();
    for (t, id) in [
        ("<|begin_of_text|>", 200000),
        ("<|end_of_text|>", 200001),
        ("<|header_start|>", 200005),
        ("<|header_end|>", 200006),
        ("<|eom|>", 200007),
        ("<|eot|>", 200008),
        ("<|finetune_right_pad|>", 200018),
        ("<|image_start|>", 200080),
        ("<|image_end|>", 200081),
        ("<|tile_x_separator|>", 200084),
        ("<|tile_y_separator|>", 200085),
        ("<|image|>", 200090),
        ("<|patch|>", 200092),
        ("<|reasoning_reserved_special_token_0|>", 201134),
        ("<|reasoning_thinking_end|>", 201143),
        ("<|reserved_special_token_0|>", 201144),
    ] {
        assert_eq!(tok.token_id(t), Some(id), "{t}");
    }
    assert_eq!(tok.stop_ids(), vec![200008, 200007, 200001]);
}

#[test]
fn chat_template_renders_the_spec_example() {
    let msgs = [
        Message { role: "system".into(), content: " You are terse. ".into() },
        Message { role: "user".into(), content: "Hi!".into() },
    ];
    let text = chat::render(chat::LLAMA4_TEMPLATE, "<|begin_of_text|>", &msgs, true).unwrap();
    assert_eq!(
        text,
        "<|begin_of_text|><|header_start|>system<|header_end|>\n\nYou are terse.<|eot|><|header_start|>user<|header_end|>\n\nHi!<|eot|><|header_start|>assistant<|header_end|>\n\n"
    );
    // Meta's tiktoken tokenizer on the same text (llama-models 0.3.0); `\n\n` after a header is 368.
    let meta = [
        200000, 200005, 15651, 200006, 368, 4662, 583, 260, 6201, 26, 200008, 200005, 1556, 200006, 368, 25181, 13,
        200008, 200005, 140680, 200006, 368,
    ];
    assert_eq!(llama4().encode(&text).unwrap(), meta);
}
