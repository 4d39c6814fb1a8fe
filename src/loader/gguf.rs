//! GGUF files (versions 2 and 3), memory-mapped or in memory. Every field is checked before it is used: counts
//! and lengths are bounded by the bytes that remain, tensor data must lie inside the file, and no
//! allocation is sized by an unchecked field. Tensor data is never copied at open.

use super::source::FileBytes;
use super::tensor::{check_tensor_bytes, TensorSource, TensorView};
use crate::error::{Error, Result};
use crate::quant::WeightFormat;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
}

impl Value {
    /// Any integer type that fits `u64` (GGUF writers differ in the int type they pick).
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v as u64),
            Value::U16(v) => Some(v as u64),
            Value::U32(v) => Some(v as u64),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::I8(v) => Some(v as i64),
            Value::I16(v) => Some(v as i64),
            Value::I32(v) => Some(v as i64),
            Value::I64(v) => Some(v),
            _ => self.as_u64().and_then(|v| i64::try_from(v).ok()),
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v as f64),
            Value::F64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => self.as_u64().map(|v| v != 0),
        }
    }
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// Where a tensor is: its ggml type, row-major shape and byte range in the file.
#[derive(Clone, Debug)]
pub struct GgufTensor {
    /// ggml type id; [`WeightFormat::from_ggml`] says whether we read it.
    pub ggml_type: u32,
    pub shape: Vec<usize>,
    pub start: usize,
    pub end: usize,
}

pub struct Gguf {
    pub path: PathBuf,
    pub version: u32,
    pub meta: BTreeMap<String, Value>,
    pub tensors: BTreeMap<String, GgufTensor>,
    bytes: FileBytes,
}

/// What [`Gguf::check_prefix`] learns from a file's header.
#[derive(Debug)]
pub struct GgufSummary {
    pub architecture: String,
    /// `general.name`, when the file has one.
    pub name: Option<String>,
    pub tensors: usize,
}

fn unread_type(path: &Path, tensor: &str, ggml_type: u32) -> Error {
    let formats = WeightFormat::ALL.map(|f| f.name()).join(", ");
    Error::load(
        path,
        tensor,
        format!("tensor type {} is not supported ({formats})", WeightFormat::ggml_name(ggml_type)),
    )
}

/// Largest number of dimensions ggml has.
const MAX_DIMS: usize = 4;

/// What the header holds: the version, the metadata and where every tensor lies.
type Header = (u32, BTreeMap<String, Value>, BTreeMap<String, GgufTensor>);

/// A bounds-checked little-endian reader over the header. `b` is the file or, before a download,
/// its first bytes; `len` is the whole file's length, which bounds every count and offset.
struct Reader<'a> {
    b: &'a [u8],
    len: usize,
    pos: usize,
    path: &'a Path,
    /// Set when the header goes on past the bytes in `b` (a prefix: read more of the file).
    short: bool,
}

impl<'a> Reader<'a> {
    fn err(&self, what: impl std::fmt::Display) -> Error {
        Error::file(self.path, format!("bad GGUF header at byte {}: {what}", self.pos))
    }
    /// Bytes left in the whole file.
    fn remaining(&self) -> usize {
        self.len - self.pos
    }
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.err(format!("{what} needs {n} bytes, {} remain (truncated file?)", self.remaining())));
        }
        if n > self.b.len() - self.pos {
            self.short = true;
            return Err(self.err(format!("{what} lies past the {} bytes read so far", self.b.len())));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn arr<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        Ok(self.take(N, what)?.try_into().unwrap())
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.arr(what)?))
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.arr(what)?))
    }
    /// A count of items of at least `min_size` bytes each, bounded by what remains.
    fn count(&mut self, what: &str, min_size: usize) -> Result<usize> {
        let n = self.u64(what)?;
        if n > (self.remaining() / min_size.max(1)) as u64 {
            return Err(self.err(format!(
                "{what} is {n}, but only {} bytes remain for items of at least {min_size} bytes (truncated file?)",
                self.remaining()
            )));
        }
        Ok(n as usize)
    }
    fn string(&mut self, what: &str) -> Result<String> {
        let n = self.count(what, 1)?;
        let bytes = self.take(n, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.err(format!("{what} is not UTF-8")))
    }
    fn value(&mut self, ty: u32, key: &str, depth: usize) -> Result<Value> {
        Ok(match ty {
            0 => Value::U8(self.arr::<1>(key)?[0]),
            1 => Value::I8(self.arr::<1>(key)?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.arr(key)?)),
            3 => Value::I16(i16::from_le_bytes(self.arr(key)?)),
            4 => Value::U32(self.u32(key)?),
            5 => Value::I32(i32::from_le_bytes(self.arr(key)?)),
            6 => Value::F32(f32::from_le_bytes(self.arr(key)?)),
            7 => match self.arr::<1>(key)?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(self.err(format!("`{key}`: bool byte {b}"))),
            },
            8 => Value::String(self.string(key)?),
            9 => {
                if depth > 0 {
                    return Err(self.err(format!("`{key}`: nested arrays are not supported")));
                }
                let ety = self.u32(key)?;
                let size = match ety {
                    0 | 1 | 7 => 1,
                    2 | 3 => 2,
                    4..=6 => 4,
                    8 | 10..=12 => 8,
                    _ => return Err(self.err(format!("`{key}`: array of unknown value type {ety}"))),
                };
                let n = self.count(key, size)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.value(ety, key, depth + 1)?);
                }
                Value::Array(v)
            }
            10 => Value::U64(self.u64(key)?),
            11 => Value::I64(i64::from_le_bytes(self.arr(key)?)),
            12 => Value::F64(f64::from_le_bytes(self.arr(key)?)),
            _ => return Err(self.err(format!("`{key}`: unknown value type {ty}"))),
        })
    }
}

impl Gguf {
    pub fn open(path: &Path) -> Result<Self> {
        Self::from_image(path, FileBytes::open(path)?)
    }

    /// A GGUF image built into the program; `name` stands for its path in errors.
    pub fn from_static(name: &Path, bytes: &'static [u8]) -> Result<Self> {
        Self::from_image(name, FileBytes::Static(bytes))
    }

    /// A GGUF image already read into memory; `name` stands for its path in errors.
    pub fn from_bytes(name: &Path, bytes: Vec<u8>) -> Result<Self> {
        Self::from_image(name, FileBytes::Owned(bytes))
    }

    /// A GGUF image from any byte source; `path` names it in errors.
    pub fn from_image(path: &Path, bytes: FileBytes) -> Result<Self> {
        let (version, meta, tensors) = Self::parse(&bytes, path)?;
        Ok(Gguf { path: path.to_path_buf(), version, meta, tensors, bytes })
    }

    /// Parses a whole GGUF image (header and the placement of every tensor).
    pub fn parse(b: &[u8], path: &Path) -> Result<Header> {
        Self::parse_from(&mut Reader { b, len: b.len(), pos: 0, path, short: false })
    }

    /// Checks a GGUF file from its first bytes and its length, before it is downloaded: the header
    /// must parse with every tensor inside `file_len` bytes, the architecture must be one this
    /// runtime runs and every tensor's type one it reads. `Ok(None)`: `prefix` ends inside the
    /// header (read more of the file and ask again).
    pub fn check_prefix(prefix: &[u8], file_len: usize, path: &Path) -> Result<Option<GgufSummary>> {
        let mut r = Reader { b: prefix, len: file_len.max(prefix.len()), pos: 0, path, short: false };
        let (_, meta, tensors) = match Self::parse_from(&mut r) {
            Ok(h) => h,
            Err(_) if r.short => return Ok(None),
            Err(e) => return Err(e),
        };
        let text = |k: &str| meta.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let architecture = text("general.architecture")
            .ok_or_else(|| Error::file(path, "no `general.architecture` in the GGUF metadata"))?;
        crate::config::check_gguf_architecture(path, &architecture)?;
        for (name, t) in &tensors {
            if WeightFormat::from_ggml(t.ggml_type).is_none() {
                return Err(unread_type(path, name, t.ggml_type));
            }
        }
        Ok(Some(GgufSummary { architecture, name: text("general.name"), tensors: tensors.len() }))
    }

    fn parse_from(r: &mut Reader) -> Result<Header> {
        let path = r.path;
        if r.len == 0 {
            return Err(Error::file(path, "empty file (not a GGUF model)"));
        }
        let magic = r.take(4, "the magic").map_err(|_| Error::file(path, "too short to be a GGUF file"))?;
        if magic != b"GGUF" {
            return Err(Error::file(
                path,
                format!("not a GGUF file (magic {:?}, expected \"GGUF\")", String::from_utf8_lossy(magic)),
            ));
        }
        let version = r.u32("the version")?;
        if !(2..=3).contains(&version) {
            return Err(Error::file(path, format!("GGUF version {version} is not supported (2 and 3 are)")));
        }
        let n_tensors = r.count("the tensor count", 8 + 4 + 8 + 4 + 8)?;
        let n_kv = r.count("the metadata count", 8 + 4 + 1)?;
        let mut meta = BTreeMap::new();
        for _ in 0..n_kv {
            let key = r.string("a metadata key")?;
            let ty = r.u32(&key)?;
            let v = r.value(ty, &key, 0)?;
            if meta.insert(key.clone(), v).is_some() {
                return Err(r.err(format!("duplicate metadata key `{key}`")));
            }
        }
        let mut infos = Vec::with_capacity(n_tensors);
        for _ in 0..n_tensors {
            let name = r.string("a tensor name")?;
            let n_dims = r.u32(&name)? as usize;
            if n_dims == 0 || n_dims > MAX_DIMS {
                return Err(r.err(format!("tensor `{name}` has {n_dims} dimensions (1 to {MAX_DIMS})")));
            }
            let mut dims = Vec::with_capacity(n_dims);
            for _ in 0..n_dims {
                let d = r.u64(&name)?;
                if d == 0 || d > (1u64 << 40) {
                    return Err(r.err(format!("tensor `{name}` has dimension {d}")));
                }
                dims.push(d as usize);
            }
            let ty = r.u32(&name)?;
            let offset = r.u64(&name)?;
            infos.push((name, dims, ty, offset));
        }
        let align = match meta.get("general.alignment") {
            None => 32,
            Some(v) => match v.as_u64() {
                Some(a) if a.is_power_of_two() && a <= 1 << 20 => a as usize,
                _ => return Err(Error::file(path, format!("general.alignment {v:?} is not a power of two"))),
            },
        };
        let data_start = r.pos.next_multiple_of(align);
        if data_start > r.len && n_tensors > 0 {
            return Err(Error::file(path, "truncated: the file ends before its tensor data"));
        }
        let data_len = r.len.saturating_sub(data_start);
        let mut tensors = BTreeMap::new();
        for (name, dims, ty, offset) in infos {
            // GGUF lists dimensions innermost first; we keep row-major shapes.
            let shape: Vec<usize> = dims.iter().rev().copied().collect();
            let bad = |reason: String| Error::load(path, &name, reason);
            if offset % align as u64 != 0 {
                return Err(bad(format!("data offset {offset} is not a multiple of the alignment {align}")));
            }
            let size = match WeightFormat::from_ggml(ty) {
                Some(f) => {
                    let numel = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
                    let cols = shape[shape.len() - 1];
                    let rows = numel.map(|n| n / cols);
                    match (f.bytes_for(cols), rows) {
                        (Some(rb), Some(rows)) => {
                            rows.checked_mul(rb).ok_or_else(|| bad(format!("shape {shape:?} is too large")))?
                        }
                        (None, _) => {
                            check_tensor_bytes(path, &name, f, &shape, 0)?;
                            0
                        }
                        (_, None) => return Err(bad(format!("shape {shape:?} is too large"))),
                    }
                }
                None if ty < 64 => 0, // a ggml type we do not read: an error only if the model uses it
                None => return Err(bad(format!("unknown tensor type {ty}"))),
            };
            let end = (offset as usize).checked_add(size).filter(|&e| e <= data_len && offset as usize <= data_len);
            let Some(end) = end else {
                return Err(bad(format!(
                    "data [{offset}, {offset} + {size}) lies past the end of the file ({data_len} data bytes; truncated?)"
                )));
            };
            let t = GgufTensor { ggml_type: ty, shape, start: data_start + offset as usize, end: data_start + end };
            if tensors.insert(name.clone(), t).is_some() {
                return Err(bad("appears twice".into()));
            }
        }
        Ok((version, meta, tensors))
    }

    pub fn get_meta(&self, key: &str) -> Option<&Value> {
        self.meta.get(key)
    }

    /// `general.architecture`.
    pub fn architecture(&self) -> Result<&str> {
        self.meta
            .get("general.architecture")
            .and_then(|v| v.as_str())
            .ok_or_else(|| Error::file(&self.path, "no `general.architecture` in the GGUF metadata"))
    }
}

impl TensorSource for Gguf {
    fn origin(&self) -> &Path {
        &self.path
    }

    fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    fn names(&self) -> Vec<&str> {
        self.tensors.keys().map(|s| s.as_str()).collect()
    }

    fn get_any(&self, name: &str) -> Result<TensorView<'_>> {
        let (key, t) = self
            .tensors
            .get_key_value(name)
            .ok_or_else(|| Error::load(&self.path, name, "missing from the GGUF file"))?;
        let dtype = WeightFormat::from_ggml(t.ggml_type).ok_or_else(|| unread_type(&self.path, name, t.ggml_type))?;
        Ok(TensorView { name: key, path: &self.path, dtype, shape: &t.shape, bytes: &self.bytes[t.start..t.end] })
    }
}
