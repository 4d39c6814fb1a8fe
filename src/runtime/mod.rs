//! Running the model: generation sessions, the tokenizer and the chat template.

pub mod chat;
pub mod npy;
pub mod session;
pub mod tiktoken;
pub mod tokenizer;

pub use session::{Session, StepOut};
pub use tokenizer::Tokenizer;
