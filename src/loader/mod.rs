//! Checkpoint loading: safetensors files (memory-mapped, sharded) and the Llama 4 weight names.

pub mod names;
pub mod safetensors;

pub use self::safetensors::{Checkpoint, DType, TensorInfo, TensorView};
pub use names::WeightNames;
