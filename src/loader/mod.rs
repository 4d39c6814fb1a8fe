//! Checkpoint loading: safetensors folders (memory-mapped, sharded) and GGUF files, both behind
//! [`TensorSource`], and the weight names of each.

pub mod gguf;
pub mod mmproj;
pub mod names;
pub mod safetensors;
pub mod source;
pub mod synthetic;
pub mod tensor;

pub use self::gguf::Gguf;
pub use self::safetensors::{Checkpoint, TensorInfo};
pub use mmproj::Mmproj;
pub use names::WeightNames;
pub use source::{FileBytes, FileSource, Folder, MemoryFiles};
pub use tensor::{DType, TensorSource, TensorView};
