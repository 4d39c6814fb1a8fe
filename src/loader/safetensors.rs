//! Memory-mapped safetensors checkpoints: one `model.safetensors` or shards listed in
//! `model.safetensors.index.json`. Headers are validated up front (truncation, lying offsets),
//! tensor data is only touched when a tensor is converted for upload.

use super::tensor::{check_tensor_bytes, DType, TensorSource, TensorView};
use crate::error::{Error, Result};
use memmap2::Mmap;
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

impl Checkpoint {
    /// Opens the safetensors files of `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let index = dir.join("model.safetensors.index.json");
        let files: Vec<PathBuf> = if index.exists() {
            let text = std::fs::read_to_string(&index).map_err(|e| Error::io(&index, e))?;
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| Error::file(&index, format!("not valid JSON: {e}")))?;
            let map = v
                .get("weight_map")
                .and_then(|m| m.as_object())
                .ok_or_else(|| Error::file(&index, "no `weight_map` object"))?;
            let mut names: Vec<String> = map.values().filter_map(|f| f.as_str().map(String::from)).collect();
            names.sort();
            names.dedup();
            names.into_iter().map(|n| dir.join(n)).collect()
        } else {
            let single = dir.join("model.safetensors");
            if !single.exists() {
                return Err(Error::file(dir, "no model.safetensors or model.safetensors.index.json"));
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
                .map_err(|e| Error::file(&path, format!("not a valid safetensors file: {e}")))?;
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
                check_tensor_bytes(&path, &name, dtype, view.shape(), data.len())?;
                tensors.insert(
                    name.clone(),
                    TensorInfo { shard: si, dtype, shape: view.shape().to_vec(), start, end: start + data.len() },
                );
            }
            shards.push((path, mmap));
        }
        Ok(Checkpoint { dir: dir.to_path_buf(), shards, tensors })
    }
}

impl TensorSource for Checkpoint {
    fn origin(&self) -> &Path {
        &self.dir
    }

    fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    fn names(&self) -> Vec<&str> {
        self.tensors.keys().map(|s| s.as_str()).collect()
    }

    fn get_any(&self, name: &str) -> Result<TensorView<'_>> {
        let (key, info) = self
            .tensors
            .get_key_value(name)
            .ok_or_else(|| Error::load(self.dir.clone(), name, "missing from the checkpoint"))?;
        let (path, mmap) = &self.shards[info.shard];
        Ok(TensorView { name: key, path, dtype: info.dtype, shape: &info.shape, bytes: &mmap[info.start..info.end] })
    }
}
