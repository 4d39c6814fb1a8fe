//! Memory-mapped safetensors checkpoints: one `model.safetensors` or shards listed in
//! `model.safetensors.index.json`. Headers are validated up front (truncation, lying offsets),
//! tensor data is only touched when a tensor is converted for upload.

use crate::error::{Error, Result};
use memmap2::Mmap;
use safetensors::{Dtype, SafeTensors};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Element type of a stored tensor (the ones Llama 4 checkpoints use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    F16,
    Bf16,
}

impl DType {
    pub fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F16 | DType::Bf16 => 2,
        }
    }
}

/// A tensor's location: which shard, where its bytes are, its dtype and shape.
#[derive(Clone, Debug)]
pub struct TensorInfo {
    pub shard: usize,
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub start: usize,
    pub end: usize,
}

pub struct Checkpoint {
    pub dir: PathBuf,
    shards: Vec<(PathBuf, Mmap)>,
    tensors: BTreeMap<String, TensorInfo>,
}

/// A borrowed view of one tensor's raw bytes.
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
    /// Element `i` (flat, row-major) as f32.
    #[inline]
    pub fn get_f32(&self, i: usize) -> f32 {
        let b = self.bytes;
        match self.dtype {
            DType::F32 => f32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]),
            DType::F16 => half::f16::from_le_bytes([b[2 * i], b[2 * i + 1]]).to_f32(),
            DType::Bf16 => half::bf16::from_le_bytes([b[2 * i], b[2 * i + 1]]).to_f32(),
        }
    }
    pub fn to_f32(&self) -> Vec<f32> {
        (0..self.numel()).map(|i| self.get_f32(i)).collect()
    }
    /// Raw bytes of element `i`.
    #[inline]
    pub fn elem_bytes(&self, i: usize) -> &[u8] {
        let s = self.dtype.size();
        &self.bytes[s * i..s * (i + 1)]
    }
}

impl Checkpoint {
    /// Opens the safetensors files of `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let index = dir.join("model.safetensors.index.json");
        let files: Vec<PathBuf> = if index.exists() {
            let text = std::fs::read_to_string(&index).map_err(|e| Error::io(&index, e))?;
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| Error::io(&index, format!("not valid JSON: {e}")))?;
            let map = v
                .get("weight_map")
                .and_then(|m| m.as_object())
                .ok_or_else(|| Error::io(&index, "no `weight_map` object"))?;
            let mut names: Vec<String> = map.values().filter_map(|f| f.as_str().map(String::from)).collect();
            names.sort();
            names.dedup();
            names.into_iter().map(|n| dir.join(n)).collect()
        } else {
            let single = dir.join("model.safetensors");
            if !single.exists() {
                return Err(Error::io(dir, "no model.safetensors or model.safetensors.index.json"));
            }
            vec![single]
        };
        let mut shards = Vec::new();
        let mut tensors = BTreeMap::new();
        for (si, path) in files.into_iter().enumerate() {
            let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
            // SAFETY: the map is read-only and lives as long as `Checkpoint`. Another process truncating
            // the file while we run would fault; that is the usual contract of memory-mapped model files.
            let mmap = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(&path, e))?;
            let st = SafeTensors::deserialize(&mmap)
                .map_err(|e| Error::io(&path, format!("not a valid safetensors file: {e}")))?;
            let base = mmap.as_ptr() as usize;
            for (name, view) in st.tensors() {
                let dtype = match view.dtype() {
                    Dtype::F32 => DType::F32,
                    Dtype::F16 => DType::F16,
                    Dtype::BF16 => DType::Bf16,
                    other => {
                        return Err(Error::load(
                            &path,
                            &name,
                            format!("dtype {other:?} is not supported (f32, f16, bf16)"),
                        ))
                    }
                };
                let data = view.data();
                let start = data.as_ptr() as usize - base;
                let numel: usize = view.shape().iter().product();
                if data.len() != numel * dtype.size() {
                    return Err(Error::load(
                        &path,
                        &name,
                        format!(
                            "shape {:?} needs {} bytes, the header gives {}",
                            view.shape(),
                            numel * dtype.size(),
                            data.len()
                        ),
                    ));
                }
                tensors.insert(
                    name.clone(),
                    TensorInfo { shard: si, dtype, shape: view.shape().to_vec(), start, end: start + data.len() },
                );
            }
            shards.push((path, mmap));
        }
        Ok(Checkpoint { dir: dir.to_path_buf(), shards, tensors })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(|s| s.as_str())
    }

    /// The tensor `name`, which must have `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<TensorView<'_>> {
        let v = self.get_any(name)?;
        if v.shape != shape {
            return Err(Error::load(v.path, name, format!("shape {:?}, expected {:?}", v.shape, shape)));
        }
        Ok(v)
    }

    /// The tensor `name` whatever its shape.
    pub fn get_any(&self, name: &str) -> Result<TensorView<'_>> {
        let (key, info) = self
            .tensors
            .get_key_value(name)
            .ok_or_else(|| Error::load(self.dir.clone(), name, "missing from the checkpoint"))?;
        let (path, mmap) = &self.shards[info.shard];
        Ok(TensorView { name: key, path, dtype: info.dtype, shape: &info.shape, bytes: &mmap[info.start..info.end] })
    }

    /// Total bytes of each dtype, for reporting.
    pub fn dtype_histogram(&self) -> HashMap<String, usize> {
        let mut h = HashMap::new();
        for t in self.tensors.values() {
            *h.entry(format!("{:?}", t.dtype)).or_default() += t.end - t.start;
        }
        h
    }
}
