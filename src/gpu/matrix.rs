//! Weight matrices on the GPU: `[experts, rows, cols]` computing `y = W x`, stored in their
//! checkpoint's own format (f32, f16, bf16 or a ggml block format), split into chunks that each fit
//! one binding (a storage buffer, or a texture on CPU adapters: [`WeightStore`]), and streamed up
//! in bounded pieces (never a host copy of a whole binding).
//!
//! A matrix may be stacked from several tensors (q|k|v, gate|up) of different formats, as GGUF
//! "mostly Q4_K" files have: each chunk holds rows of one format, and the matmul picks its
//! pipeline per chunk.
//!
//! Quantize-on-load ([`MatrixSpec::upload`] with a target format) turns float rows into ggml
//! blocks on their way up, one row at a time.

pub use super::row_part::RowPart;
pub use super::weight_store::{WeightStore, TEX_WIDTH};
use crate::error::{Error, Result};
use crate::gpu::{Binding, GpuContext};
use crate::quant::WeightFormat;
use std::ops::Range;

/// Host bytes gathered before one `write_buffer` (and so the most a load holds besides the mmap).
const PIECE: usize = 4 << 20;
/// Uploaded bytes between flushes of wgpu's staging memory.
const FLUSH_EVERY: usize = 64 << 20;

/// One binding of a matrix: experts `experts`, rows `rows` of each, row-major, all in one format.
pub struct WeightChunk {
    pub store: WeightStore,
    pub format: WeightFormat,
    pub experts: Range<u32>,
    pub rows: Range<u32>,
    /// GPU blocks per row (`format.gpu_block_elems()` elements each).
    pub row_blocks: u32,
}

impl WeightChunk {
    pub fn row_bytes(&self) -> u64 {
        self.row_blocks as u64 * self.format.gpu_block_bytes() as u64
    }

    /// The chunk as a shader binding.
    pub fn binding(&self) -> Binding<'_> {
        match &self.store {
            WeightStore::Buffer(b) => Binding::Buffer(b),
            WeightStore::Texture { view, .. } => Binding::Texture(view),
        }
    }
}

/// A weight matrix `[experts, rows, cols]` (`rows` = output features), computing `y = W x`.
pub struct Matrix {
    pub name: String,
    pub experts: usize,
    pub rows: usize,
    pub cols: usize,
    pub chunks: Vec<WeightChunk>,
}

/// Streams one chunk's bytes into its store through a bounded host piece.
struct ChunkWriter<'c> {
    ctx: &'c GpuContext,
    store: &'c WeightStore,
    offset: u64,
    pending: Vec<u8>,
    since_flush: &'c mut usize,
}

impl ChunkWriter<'_> {
    /// Writes the whole granules pending, or with `all` everything (the tail zero-padded).
    fn flush(&mut self, all: bool) {
        let g = self.store.granule();
        let n = if all { self.pending.len().next_multiple_of(g) } else { self.pending.len() / g * g };
        self.pending.resize(n.max(self.pending.len()), 0);
        if n == 0 {
            return;
        }
        self.store.write(&self.ctx.queue, self.offset, &self.pending[..n]);
        self.offset += n as u64;
        self.pending.drain(..n);
        *self.since_flush += n;
        if *self.since_flush >= FLUSH_EVERY {
            self.ctx.flush_uploads();
            *self.since_flush = 0;
        }
    }
}

/// A matrix to upload: its rows stacked from `parts`, and whether quantize-on-load applies.
#[derive(Clone)]
pub struct MatrixSpec<'a> {
    pub name: String,
    pub experts: usize,
    pub cols: usize,
    pub parts: Vec<RowPart<'a>>,
    /// Attention, dense and expert weights: quantize-on-load applies. Norms, the router and the
    /// embeddings are built with [`MatrixSpec::kept`] and stay as stored.
    pub quantizable: bool,
}

impl<'a> MatrixSpec<'a> {
    pub fn new(name: impl Into<String>, experts: usize, cols: usize, parts: Vec<RowPart<'a>>) -> Self {
        MatrixSpec { name: name.into(), experts, cols, parts, quantizable: true }
    }

    /// Never quantized on load.
    pub fn kept(self) -> Self {
        MatrixSpec { quantizable: false, ..self }
    }

    /// The format `part` has on the GPU when loading with `quantize`: the target for float rows
    /// whose width is whole blocks of it, else the stored format.
    pub fn gpu_format(&self, part: &RowPart, quantize: Option<WeightFormat>) -> WeightFormat {
        match quantize {
            Some(q) if self.quantizable && part.format().is_float() && self.cols.is_multiple_of(q.block_elems()) => q,
            _ => part.format(),
        }
    }

    /// Why `quantize` leaves some of this matrix as stored (`None` when it applies to all of it).
    pub fn kept_reason(&self, quantize: WeightFormat) -> Option<String> {
        let mut stored: Vec<_> = self.parts.iter().map(|p| p.format()).filter(|f| *f != quantize).collect();
        stored.sort();
        stored.dedup();
        if self.parts.iter().all(|p| self.gpu_format(p, Some(quantize)) == quantize) {
            return None;
        }
        let names = stored.iter().map(|f| f.name()).collect::<Vec<_>>().join("/");
        Some(if !self.quantizable {
            format!("{names}: not quantized (norms, router and embeddings stay as stored)")
        } else if !self.cols.is_multiple_of(quantize.block_elems()) {
            format!("{names}: width {} is not whole {}-element blocks", self.cols, quantize.block_elems())
        } else {
            format!("{names}: already quantized")
        })
    }

    /// GPU bytes of `part` (all experts) when loading with `quantize`.
    pub fn part_bytes(&self, part: &RowPart, quantize: Option<WeightFormat>) -> u64 {
        let row = self.gpu_format(part, quantize).gpu_row_bytes(self.cols).unwrap_or(0) as u64;
        (self.experts * part.rows()) as u64 * row
    }

    /// Uploads the parts stacked along the rows, float rows quantized to `quantize` where it
    /// applies. Consecutive parts of one GPU format share chunks; a chunk is whole experts where
    /// an expert's rows fit one binding, else a row range of one expert; a single row that does
    /// not fit is an error.
    pub fn upload(&self, ctx: &GpuContext, quantize: Option<WeightFormat>) -> Result<Matrix> {
        let (name, experts, cols, parts) = (self.name.as_str(), self.experts, self.cols, &self.parts[..]);
        let err = |what: String| Error::Shape(format!("matrix `{name}`: {what}"));
        let mut starts = vec![];
        let mut rows = 0;
        for p in parts {
            starts.push(rows);
            rows += p.rows();
        }
        // Segments: maximal runs of parts with one format.
        let mut segments: Vec<(WeightFormat, Range<usize>)> = vec![];
        for (i, p) in parts.iter().enumerate() {
            let r = starts[i]..starts[i] + p.rows();
            match segments.last_mut() {
                Some((f, seg)) if *f == self.gpu_format(p, quantize) => seg.end = r.end,
                _ => segments.push((self.gpu_format(p, quantize), r)),
            }
        }
        let limit = ctx.weight_chunk_limit();
        let mut plan: Vec<(WeightFormat, Range<usize>, Range<usize>)> = vec![];
        for (format, seg) in segments {
            let row_bytes = format.gpu_row_bytes(cols).ok_or_else(|| {
                err(format!("{} rows of {cols} are not whole {}-element blocks", format.name(), format.block_elems()))
            })? as u64;
            if row_bytes + 4 > limit {
                return Err(Error::Unsupported {
                    adapter: ctx.adapter_name().into(),
                    what: format!("room for one row of `{name}` ({row_bytes} bytes) in a weight binding (max {limit})"),
                });
            }
            let expert_bytes = row_bytes * seg.len() as u64;
            if expert_bytes + 4 <= limit {
                let per = ((limit - 4) / expert_bytes).max(1) as usize;
                for e in (0..experts).step_by(per) {
                    plan.push((format, e..(e + per).min(experts), seg.clone()));
                }
            } else {
                let per = ((limit - 4) / row_bytes) as usize;
                for e in 0..experts {
                    for r in seg.clone().step_by(per) {
                        plan.push((format, e..e + 1, r..(r + per).min(seg.end)));
                    }
                }
            }
        }
        let mut chunks = Vec::with_capacity(plan.len());
        let mut since_flush = 0;
        for (format, er, rr) in plan {
            let row_bytes = format.gpu_row_bytes(cols).unwrap_or(0);
            // + a slack word for a buffer's unaligned reads (a texture's out-of-range texels read
            // as zeros or its last texel, and those bytes are masked off either way: a slack word
            // there would cost a whole row where the bytes fill their rows)
            let slack = if ctx.texture_weights { 0 } else { 4 };
            let size = (er.len() * rr.len() * row_bytes).next_multiple_of(4) + slack;
            let store = WeightStore::new(ctx, name, size as u64);
            let mut w =
                ChunkWriter { ctx, store: &store, offset: 0, pending: Vec::new(), since_flush: &mut since_flush };
            let band = (PIECE / row_bytes.max(1)).max(1);
            for e in er.clone() {
                for (p, &s) in parts.iter().zip(&starts) {
                    // The rows of this part that fall in the chunk, in bands of about PIECE bytes.
                    let (lo, hi) = (rr.start.max(s), rr.end.min(s + p.rows()));
                    let mut r = lo;
                    while r < hi {
                        let end = (r + band).min(hi);
                        p.write_rows(e, r - s..end - s, cols, format, &mut w.pending);
                        if w.pending.len() >= PIECE {
                            w.flush(false);
                        }
                        r = end;
                    }
                }
            }
            w.flush(true);
            chunks.push(WeightChunk {
                store,
                format,
                experts: er.start as u32..er.end as u32,
                rows: rr.start as u32..rr.end as u32,
                row_blocks: (row_bytes / format.gpu_block_bytes()) as u32,
            });
        }
        Ok(Matrix { name: name.to_string(), experts, rows, cols, chunks })
    }
}

impl Matrix {
    /// Uploads `parts` as stored (see [`MatrixSpec::upload`]).
    pub fn upload(ctx: &GpuContext, name: &str, experts: usize, cols: usize, parts: &[RowPart]) -> Result<Matrix> {
        MatrixSpec::new(name, experts, cols, parts.to_vec()).kept().upload(ctx, None)
    }

    /// Bytes of the weights (without a texture's last-row padding or a buffer's slack word).
    pub fn bytes(&self) -> u64 {
        self.chunks.iter().map(|c| c.experts.len() as u64 * c.rows.len() as u64 * c.row_bytes()).sum()
    }

    /// Bytes the GPU holds for the weights: [`Matrix::bytes`] and each chunk's padding (a
    /// texture's last row, a buffer's slack word).
    pub fn gpu_bytes(&self) -> u64 {
        self.chunks.iter().map(|c| c.store.bytes()).sum()
    }

    /// The formats of the chunks, without repeats.
    pub fn formats(&self) -> Vec<WeightFormat> {
        let mut f: Vec<_> = self.chunks.iter().map(|c| c.format).collect();
        f.sort();
        f.dedup();
        f
    }
}
