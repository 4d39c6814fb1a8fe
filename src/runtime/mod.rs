//! Running the model: generation sessions, the tokenizer and the chat template.

pub mod bench;
pub mod chat;
pub mod files;
pub mod gguf_tokenizer;
pub mod npy;
pub mod session;
pub mod tiktoken;
pub mod tokenizer;

pub use files::ModelFiles;
pub use session::{Decoding, Session, StepOut};
pub use tokenizer::Tokenizer;
