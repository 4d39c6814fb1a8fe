//! Minimal `.npy` (format 1.0) for float32 C-order arrays: `--dump-logits` writes them, tests
//! read transformers' reference logits with them.

use crate::error::{Error, Result};
use std::path::Path;

pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<()> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_txt = if shape.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_txt}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(bytemuck::cast_slice(data));
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// Reads a little-endian float32 C-order array: (shape, data).
pub fn read_f32(path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_f32(&bytes, path)
}

/// [`read_f32`] of bytes in memory; `path` names them in errors.
pub fn parse_f32(bytes: &[u8], path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let bad = |m: &str| Error::file(path, format!("not a float32 .npy file: {m}"));
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("no magic"));
    }
    let (hlen, start): (usize, usize) = match (bytes[6], bytes.get(8..12)) {
        (1, _) => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        (_, Some(b)) => (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12),
        (_, None) => return Err(bad("short header")),
    };
    let header = std::str::from_utf8(bytes.get(start..start.saturating_add(hlen)).ok_or_else(|| bad("short header"))?)
        .map_err(|_| bad("header"))?;
    if !header.contains("'<f4'") || header.contains("'fortran_order': True") {
        return Err(bad("dtype must be <f4, C order"));
    }
    let s = header.split("'shape':").nth(1).ok_or_else(|| bad("no shape"))?;
    let s = &s[s.find('(').ok_or_else(|| bad("shape"))? + 1..s.find(')').ok_or_else(|| bad("shape"))?];
    let shape: Vec<usize> = s
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| x.parse().map_err(|_| bad("shape")))
        .collect::<Result<_>>()?;
    let data = &bytes[start + hlen..];
    let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).and_then(|n| n.checked_mul(4));
    if n != Some(data.len()) {
        return Err(bad("data size does not match the shape"));
    }
    Ok((shape, data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()))
}
