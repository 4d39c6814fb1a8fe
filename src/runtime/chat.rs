//! The Llama 4 chat template (spec §8), rendered with minijinja from the checkpoint's own
//! `chat_template.jinja` / `tokenizer_config.json`, or the built-in copy of the HF template.

use crate::error::{Error, Result};
use std::path::Path;

/// The template transformers writes for Llama 4 text chats (processing_llama4.py), text-only part.
pub const LLAMA4_TEMPLATE: &str = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set system_message = messages[0]['content']|trim %}{% set messages = messages[1:] %}{{ '<|header_start|>system<|header_end|>\\n\\n' + system_message + '<|eot|>' }}{% endif %}{% for message in messages %}{{ '<|header_start|>' + message['role'] + '<|header_end|>\\n\\n' + message['content'] + '<|eot|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|header_start|>assistant<|header_end|>\\n\\n' }}{% endif %}";

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

/// Finds the model's template: `chat_template.jinja`, else `tokenizer_config.json`'s `chat_template`.
pub fn load_template(dir: &Path) -> Result<(String, String)> {
    load_template_from(&crate::loader::Folder::new(dir))
}

/// [`load_template`] from any file source.
pub fn load_template_from(src: &dyn crate::loader::FileSource) -> Result<(String, String)> {
    let mut bos = "<|begin_of_text|>".to_string();
    let cfg_path = src.path_of("tokenizer_config.json");
    let mut template = None;
    if let Some(text) =
        src.exists("tokenizer_config.json").then(|| src.read_text("tokenizer_config.json")).transpose()?
    {
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Error::file(&cfg_path, format!("not valid JSON: {e}")))?;
        if let Some(b) = v.get("bos_token").and_then(|b| {
            b.as_str().map(String::from).or_else(|| b.get("content").and_then(|c| c.as_str()).map(String::from))
        }) {
            bos = b;
        }
        template = v.get("chat_template").and_then(|t| t.as_str()).map(String::from);
    }
    if src.exists("chat_template.jinja") {
        template = Some(src.read_text("chat_template.jinja")?);
    }
    Ok((template.unwrap_or_else(|| LLAMA4_TEMPLATE.to_string()), bos))
}

pub fn render(template: &str, bos: &str, messages: &[Message], add_generation_prompt: bool) -> Result<String> {
    let mut env = minijinja::Environment::new();
    env.set_unknown_method_callback(minijinja_contrib_like_methods);
    env.add_template("chat", template).map_err(|e| Error::Tokenizer(format!("chat template: {e}")))?;
    let tmpl = env.get_template("chat").map_err(|e| Error::Tokenizer(format!("chat template: {e}")))?;
    tmpl.render(
        minijinja::context! { messages => messages, bos_token => bos, add_generation_prompt => add_generation_prompt },
    )
    .map_err(|e| Error::Tokenizer(format!("chat template: {e}")))
}

/// Python string methods templates use (`.strip()`), mapped to minijinja.
fn minijinja_contrib_like_methods(
    _state: &minijinja::State,
    value: &minijinja::Value,
    method: &str,
    _args: &[minijinja::Value],
) -> std::result::Result<minijinja::Value, minijinja::Error> {
    match (method, value.as_str()) {
        ("strip", Some(s)) => Ok(minijinja::Value::from(s.trim())),
        _ => Err(minijinja::Error::from(minijinja::ErrorKind::UnknownMethod)),
    }
}
