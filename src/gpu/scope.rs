//! GPU errors as `Err`s without touching the device's global handler: the library's own work
//! (uploads, recording, a step's submit) runs inside error scopes, so a device shared with a host
//! app keeps whatever uncaptured-error handler the app installed.
//!
//! Natively a scope's answer is ready as soon as it is popped. In a browser it comes later, so
//! there no scope is pushed: errors reach the handler [`GpuContext::new`] installs on the device
//! it creates itself (and only on that one).

use super::GpuContext;
use crate::error::{Error, Result};

/// Error scopes open on this thread around some of the library's GPU calls; see
/// [`GpuContext::error_scope`]. Not `Send`: open and check it on one thread, with no `.await`
/// in between (the calls inside are all synchronous).
#[must_use = "an error scope catches errors only to report them from `check`"]
pub struct ErrorScope {
    /// Innermost last: validation, internal, out of memory (popped in reverse).
    #[cfg(not(target_arch = "wasm32"))]
    guards: Vec<wgpu::ErrorScopeGuard>,
}

impl GpuContext {
    /// Opens scopes catching out-of-memory, internal and validation errors of the GPU calls made
    /// on this thread until [`ErrorScope::check`].
    pub fn error_scope(&self) -> ErrorScope {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let filters = [wgpu::ErrorFilter::OutOfMemory, wgpu::ErrorFilter::Internal, wgpu::ErrorFilter::Validation];
            ErrorScope { guards: filters.map(|f| self.device.push_error_scope(f)).into() }
        }
        #[cfg(target_arch = "wasm32")]
        ErrorScope {}
    }

    /// Runs `f` inside an [`ErrorScope`]: its own error first, else the first GPU error it raised
    /// (named `what`).
    pub fn scoped<T>(&self, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let scope = self.error_scope();
        let r = f();
        let checked = scope.check(self, what);
        let v = r?;
        checked?;
        Ok(v)
    }
}

impl ErrorScope {
    /// Closes the scopes: the first error caught (or, on a device the library created, reported to
    /// its handler since the last check) as an `Err` naming `what` and the adapter.
    #[cfg_attr(target_arch = "wasm32", allow(unused_mut))]
    pub fn check(mut self, ctx: &GpuContext, what: &str) -> Result<()> {
        #[allow(unused_mut)]
        let mut first: Option<String> = None;
        #[cfg(not(target_arch = "wasm32"))]
        while let Some(g) = self.guards.pop() {
            // natively the future is ready at once
            if let Some(e) = super::now_or_never(g.pop()).flatten() {
                first.get_or_insert(e.to_string());
            }
        }
        match first.or_else(|| ctx.take_uncaptured()) {
            Some(e) => Err(Error::Gpu(format!("{what} on `{}`: {e}", ctx.info.name))),
            None => Ok(()),
        }
    }
}

/// Scopes must be popped innermost first (wgpu panics otherwise); a scope left by an early
/// return is popped so, its errors dropped with it (the `Err` returned says what went wrong).
impl Drop for ErrorScope {
    fn drop(&mut self) {
        #[cfg(not(target_arch = "wasm32"))]
        while let Some(g) = self.guards.pop() {
            drop(g);
        }
    }
}
