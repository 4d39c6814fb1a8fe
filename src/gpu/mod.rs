//! GPU plumbing: the device context, weight and activation buffers, the shader registry with its
//! pipeline cache, and the recorder that turns a forward pass into one list of dispatches.

pub mod buffers;
pub mod context;
pub mod matrix;
pub mod pipelines;
pub mod profile;
pub mod recorder;
pub mod row_part;
pub mod scope;
pub mod weight_store;

pub use crate::quant::WeightFormat;
pub use buffers::Activation;
pub use context::{
    feature_line, feature_names, list_adapters, parse_backend, parse_limits, quiet_headless_vulkan, AdapterChoice,
    AdapterReport, GpuContext, LimitsPreset, Requirements, REQUIRED,
};
pub use matrix::{Matrix, MatrixSpec, RowPart, WeightChunk, WeightStore};
pub use pipelines::{Flag, PipelineKey, Shader, Variant};
pub use profile::{DispatchTime, Timer};
pub use recorder::{Binding, Plan, Recorder};
pub use scope::ErrorScope;

/// Polls a future once. wgpu's native futures (error scopes, mapping after a blocking poll) are
/// already resolved when we ask; on the web this returns `None` instead of blocking.
pub fn now_or_never<F: std::future::Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}
