//! What every checkpoint format hands the model loader: borrowed tensor views behind one
//! [`TensorSource`] trait (safetensors folders and GGUF files today, a browser byte source later).

use crate::error::{Error, Result};
use crate::quant::WeightFormat;
use std::path::Path;

/// A stored tensor's element type is one of the weight formats.
pub type DType = WeightFormat;

/// A borrowed view of one tensor's raw bytes. `shape` is row-major (the last axis is contiguous);
/// quantized tensors hold whole blocks along the last axis.
#[derive(Clone)]
pub struct TensorView<'a> {
    pub name: &'a str,
    pub path: &'a Path,
    pub dtype: DType,
    pub shape: &'a [usize],
    pub bytes: &'a [u8],
}

impl TensorView<'_> {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
    /// Length of the last axis.
    pub fn cols(&self) -> usize {
        self.shape.last().copied().unwrap_or(1)
    }
    /// Bytes of one row (the last axis).
    pub fn row_bytes(&self) -> usize {
        self.dtype.bytes_for(self.cols()).unwrap_or(0)
    }
    /// The whole tensor as f32 (dequantized).
    pub fn to_f32(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.numel()];
        self.dtype.dequantize(self.bytes, &mut out);
        out
    }
}

/// Checks a tensor's declared shape against its bytes: whole blocks along the last axis and a
/// byte count that matches. Used by every loader before a view is handed out.
pub fn check_tensor_bytes(path: &Path, name: &str, dtype: DType, shape: &[usize], bytes: usize) -> Result<()> {
    let cols = shape.last().copied().unwrap_or(1);
    let rows = shape.iter().rev().skip(1).try_fold(1usize, |a, &d| a.checked_mul(d));
    let row_bytes = dtype.bytes_for(cols).ok_or_else(|| {
        Error::load(
            path,
            name,
            format!(
                "{} stores blocks of {} elements, but the last dimension of shape {shape:?} is {cols}",
                dtype.name(),
                dtype.block_elems()
            ),
        )
    })?;
    match rows.and_then(|r| r.checked_mul(row_bytes)) {
        Some(need) if need == bytes => Ok(()),
        Some(need) => Err(Error::load(
            path,
            name,
            format!("shape {shape:?} in {} needs {need} bytes, the file gives {bytes}", dtype.name()),
        )),
        None => Err(Error::load(path, name, format!("shape {shape:?} is too large"))),
    }
}

/// A set of named tensors: a safetensors folder, a GGUF file.
pub trait TensorSource {
    /// The folder or file, for errors.
    fn origin(&self) -> &Path;
    /// The tensor `name` whatever its shape.
    fn get_any(&self, name: &str) -> Result<TensorView<'_>>;
    fn contains(&self, name: &str) -> bool;
    /// Every tensor name.
    fn names(&self) -> Vec<&str>;

    /// The tensor `name`, which must have `shape`.
    fn get(&self, name: &str, shape: &[usize]) -> Result<TensorView<'_>> {
        let v = self.get_any(name)?;
        if v.shape != shape {
            return Err(Error::load(v.path, name, format!("shape {:?}, expected {:?}", v.shape, shape)));
        }
        Ok(v)
    }

    /// Bytes stored per format, for `info`.
    fn format_histogram(&self) -> Vec<(WeightFormat, usize, usize)> {
        let mut h: std::collections::BTreeMap<WeightFormat, (usize, usize)> = Default::default();
        for n in self.names() {
            if let Ok(v) = self.get_any(n) {
                let e = h.entry(v.dtype).or_default();
                e.0 += 1;
                e.1 += v.bytes.len();
            }
        }
        h.into_iter().map(|(f, (c, b))| (f, c, b)).collect()
    }
}
