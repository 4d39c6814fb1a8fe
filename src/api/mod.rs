//! The embedding API: what a host app (a desktop app, the browser facade, the C ABI, the CLI's
//! chat) holds. Three owned handles with private fields, each cheap to keep beside the others:
//!
//! - [`Runtime`]: one GPU device, the library's own ([`Runtime::new`]) or the app's
//!   ([`Runtime::from_device`], sharing its UI's device and queue).
//! - [`Model`]: weights on that device with their tokenizer and chat template; a clone is another
//!   handle to the same weights, and several models load side by side.
//! - [`Chat`]: one conversation's KV cache. [`Chat::generate`] takes a [`Request`] (prompt,
//!   sampling, limits: per request) and gives a [`Generation`], an async stream of [`Token`]s
//!   that a [`CancelToken`] stops between tokens.
//!
//! Everything GPU-side is async and never blocks (the same code runs in a browser tab); a native
//! app drives it from a worker thread, e.g. with `pollster::block_on`, never on its UI thread.
//!
//! ```no_run
//! # async fn demo() -> llama4_wgpu::Result<()> {
//! use llama4_wgpu::{Request, Runtime};
//!
//! let runtime = Runtime::new(&Default::default()).await?;
//! let model = runtime.open(std::path::Path::new("SmolLM2-135M-Instruct.gguf"), &Default::default(), |p| {
//!     eprintln!("layer {}/{}", p.layer, p.layers)
//! })?;
//! let mut chat = model.chat(None)?;
//! let mut answer = chat.generate(Request::user("What is the capital of France?").max_tokens(32))?;
//! while let Some(token) = answer.next().await? {
//!     print!("{}", token.text);
//! }
//! println!("\n{:.1} tokens/s", answer.stats().decode_tokens_per_s());
//! # Ok(())
//! # }
//! ```

mod chat;
mod model;
mod request;

pub use chat::{Chat, Generation, Stats, StopReason, Token};
pub use model::{Model, Runtime};
pub use request::{CancelToken, Prompt, Request};
