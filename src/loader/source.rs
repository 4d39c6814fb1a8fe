//! Where checkpoint bytes come from: the one place the native/web split of file access lives.
//! Natively files are memory-mapped from a folder; in a browser (or for a model built into the
//! program) they are bytes already in memory, from a `fetch` response or a user-picked `File`.
//! The loaders take a [`FileSource`] and never touch the file system themselves.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The bytes of one whole file.
pub enum FileBytes {
    /// Memory-mapped from disk (native only).
    #[cfg(not(target_arch = "wasm32"))]
    Mapped(memmap2::Mmap),
    /// Built into the program.
    Static(&'static [u8]),
    /// Read or downloaded into memory.
    Owned(Vec<u8>),
    /// In memory and shared with a [`MemoryFiles`] (no copy of a multi-GB download).
    Shared(Arc<Vec<u8>>),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            FileBytes::Mapped(m) => m,
            FileBytes::Static(s) => s,
            FileBytes::Owned(v) => v,
            FileBytes::Shared(v) => v,
        }
    }
}

impl FileBytes {
    /// The file at `path`: memory-mapped natively, read into memory where there is no mmap.
    pub fn open(path: &Path) -> Result<Self> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            // SAFETY: the map is read-only and lives as long as the loader holding it. Another
            // process truncating the file while we run would fault; that is the usual contract of
            // memory-mapped model files.
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
            Ok(FileBytes::Mapped(map))
        }
        #[cfg(target_arch = "wasm32")]
        {
            Ok(FileBytes::Owned(std::fs::read(path).map_err(|e| Error::io(path, e))?))
        }
    }
}

/// A checkpoint's files by name (`config.json`, `model.safetensors`, shards, ...).
pub trait FileSource {
    /// The folder, or the name standing for it, in errors.
    fn origin(&self) -> &Path;
    fn exists(&self, name: &str) -> bool;
    /// The whole file `name`.
    fn open(&self, name: &str) -> Result<FileBytes>;

    /// The path `name` is reported as in errors.
    fn path_of(&self, name: &str) -> PathBuf {
        self.origin().join(name)
    }

    /// The file `name` as UTF-8 text.
    fn read_text(&self, name: &str) -> Result<String> {
        let bytes = self.open(name)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| Error::file(self.path_of(name), "not UTF-8 text"))
    }
}

/// A folder on disk.
pub struct Folder {
    dir: PathBuf,
}

impl Folder {
    pub fn new(dir: &Path) -> Self {
        Folder { dir: dir.to_path_buf() }
    }
}

impl FileSource for Folder {
    fn origin(&self) -> &Path {
        &self.dir
    }
    fn exists(&self, name: &str) -> bool {
        self.dir.join(name).exists()
    }
    fn open(&self, name: &str) -> Result<FileBytes> {
        FileBytes::open(&self.dir.join(name))
    }
}

/// Files already in memory (a browser's downloads or picked files), by name.
pub struct MemoryFiles {
    origin: PathBuf,
    files: BTreeMap<String, Arc<Vec<u8>>>,
}

impl MemoryFiles {
    /// `origin` names the set in errors (a URL, "picked files").
    pub fn new(origin: &str) -> Self {
        MemoryFiles { origin: PathBuf::from(origin), files: BTreeMap::new() }
    }
    /// Renames the set (once its URL or origin is known).
    pub fn set_origin(&mut self, origin: &str) {
        self.origin = PathBuf::from(origin);
    }
    pub fn insert(&mut self, name: &str, bytes: Vec<u8>) {
        self.files.insert(name.to_string(), Arc::new(bytes));
    }
}

impl FileSource for MemoryFiles {
    fn origin(&self) -> &Path {
        &self.origin
    }
    fn exists(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }
    fn open(&self, name: &str) -> Result<FileBytes> {
        self.files
            .get(name)
            .map(|b| FileBytes::Shared(b.clone()))
            .ok_or_else(|| Error::file(self.path_of(name), "not among the files given"))
    }
}
