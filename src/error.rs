//! The library's one error type. Every failure a user can cause (a bad file, a bad shape, a missing
//! GPU feature) is a variant here with the file, tensor or limit it is about.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operating system refused a file operation (the `std::io::Error` is kept as the source).
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },

    /// A file that is not what it claims to be (bad header, truncated, wrong format).
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },

    /// An image that cannot be used: undecodable, empty, too large.
    #[error("{path}: image: {reason}")]
    Image { path: PathBuf, reason: String },

    #[error("{path}: bad config: {reason}")]
    Config { path: PathBuf, reason: String },

    #[error("{path}: tensor `{tensor}`: {reason}")]
    Load { path: PathBuf, tensor: String, reason: String },

    #[error("{0}")]
    Tokenizer(String),

    #[error("no GPU adapter: {0}")]
    NoAdapter(String),

    #[error("GPU adapter `{adapter}` lacks {what}")]
    Unsupported { adapter: String, what: String },

    #[error("GPU error: {0}")]
    Gpu(String),

    /// Host-side sizes that do not fit together (buffers, rows, blocks): a caller's mistake caught
    /// before anything reaches the GPU.
    #[error("shape: {0}")]
    Shape(String),

    #[error("invalid input: {0}")]
    Input(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
    pub fn file(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Error::File { path: path.into(), reason: reason.to_string() }
    }
    pub fn config(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Config { path: path.into(), reason: reason.into() }
    }
    pub fn load(path: impl Into<PathBuf>, tensor: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Load { path: path.into(), tensor: tensor.into(), reason: reason.into() }
    }
}
