//! Safetensors checkpoints (memory-mapped, or in memory from any [`FileSource`]): one `model.safetensors` or shards listed in
//! `model.safetensors.index.json`. Headers are validated up front (truncation, lying offsets),
//! tensor data is only touched when a tensor is converted for upload.

use super::source::{FileBytes, FileSource, Folder};
use super::tensor::{check_tensor_bytes, DType, TensorSource, TensorView};
use crate::error::{Error, Result};
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
    shards: Vec<(PathBuf, FileBytes)>,
    tensors: BTreeMap<String, TensorInfo>,
}

const INDEX: &str = "model.safetensors.index.json";
const SINGLE: &str = "model.safetensors";

impl Checkpoint {
    /// Opens the safetensors files of the folder `dir` (memory-mapped).
    pub fn open(dir: &Path) -> Result<Self> {
        Self::from_files(&Folder::new(dir))
    }

    /// Opens the safetensors files of any file source (a folder, files in memory).
    pub fn from_files(src: &dyn FileSource) -> Result<Self> {
        let dir = src.origin();
        let index = src.path_of(INDEX);
        let files: Vec<String> = if src.exists(INDEX) {
            let text = src.read_text(INDEX)?;
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| Error::file(&index, format!("not valid JSON: {e}")))?;
            let map = v
                .get("weight_map")
                .and_then(|m| m.as_object())
                .ok_or_else(|| Error::file(&index, "no `weight_map` object"))?;
            let mut names: Vec<String> = map.values().filter_map(|f| f.as_str().map(String::from)).collect();
            names.sort();
            names.dedup();
            names
        } else {
            if !src.exists(SINGLE) {
                return Err(Error::file(dir, "no model.safetensors or model.safetensors.index.json"));
            }
            vec![SINGLE.to_string()]
        };
        let mut shards = Vec::new();
        let mut tensors = BTreeMap::new();
        for (si, name) in files.into_iter().enumerate() {
            let path = src.path_of(&name);
            let mmap = src.open(&name)?;
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
