//! Where a matrix's rows come from: one tensor in one of the checkpoint layouts, written out in
//! GPU row layout (float rows padded to 32 elements), quantized on the way where asked.

use crate::loader::TensorView;
use crate::quant::{quantize, WeightFormat};
use std::ops::Range;

/// Rows of a logical `[experts, rows, cols]` matrix taken from one tensor.
#[derive(Clone)]
pub enum RowPart<'a> {
    /// A Linear weight `[rows, cols]` (`x @ W.T`) of the one expert.
    Linear(TensorView<'a>),
    /// Expert-stacked Linear weights `[experts, rows, cols]` (GGUF's `ffn_*_exps`).
    Stacked(TensorView<'a>),
    /// One Linear weight `[rows, cols]` per expert.
    PerExpert(Vec<TensorView<'a>>),
    /// HF's fused experts `[E, cols, total_out]` (`x @ W`): output columns `col0..col0+rows` become
    /// rows (float formats only), transposed in cache-sized bands.
    Transposed { view: TensorView<'a>, col0: usize, rows: usize },
}

impl RowPart<'_> {
    pub fn rows(&self) -> usize {
        match self {
            RowPart::Linear(v) => v.shape[0],
            RowPart::Stacked(v) => v.shape[1],
            RowPart::PerExpert(v) => v[0].shape[0],
            RowPart::Transposed { rows, .. } => *rows,
        }
    }

    pub(super) fn format(&self) -> WeightFormat {
        match self {
            RowPart::Linear(v) | RowPart::Stacked(v) | RowPart::Transposed { view: v, .. } => v.dtype,
            RowPart::PerExpert(v) => v[0].dtype,
        }
    }

    /// The Linear-layout tensor holding expert `e`'s rows, and the first row of that expert in it.
    fn linear_source(&self, e: usize) -> Option<(&TensorView<'_>, usize)> {
        match self {
            RowPart::Linear(v) => Some((v, 0)),
            RowPart::Stacked(v) => Some((v, e * v.shape[1])),
            RowPart::PerExpert(v) => Some((&v[e], 0)),
            RowPart::Transposed { .. } => None,
        }
    }

    /// Appends rows `rr` of expert `e` in GPU row layout, in format `to`: the stored format, or a
    /// quantize-on-load target for float rows whose width is whole blocks of it.
    pub(super) fn write_rows(&self, e: usize, rr: Range<usize>, cols: usize, to: WeightFormat, out: &mut Vec<u8>) {
        let from = self.format();
        if to == from {
            return self.write_stored_rows(e, rr, cols, out);
        }
        // `cols` is whole blocks of `to`, so the float rows carry no padding.
        let row_bytes = from.gpu_row_bytes(cols).unwrap_or(0);
        let mut stored = Vec::with_capacity(rr.len() * row_bytes);
        self.write_stored_rows(e, rr, cols, &mut stored);
        let mut row = vec![0.0f32; cols];
        for bytes in stored.chunks_exact(row_bytes.max(1)) {
            from.dequantize(bytes, &mut row);
            quantize::quantize_row(to, &row, out);
        }
    }

    /// Appends rows `rr` of expert `e` as stored (float rows zero-padded to 32 elements).
    fn write_stored_rows(&self, e: usize, rr: Range<usize>, cols: usize, out: &mut Vec<u8>) {
        let f = self.format();
        let gpu_row = f.gpu_row_bytes(cols).unwrap_or(0);
        if let Some((v, first)) = self.linear_source(e) {
            let src_row = v.row_bytes();
            let rows = &v.bytes[(first + rr.start) * src_row..(first + rr.end) * src_row];
            if src_row == gpu_row {
                out.extend_from_slice(rows);
            } else {
                for row in rows.chunks_exact(src_row) {
                    out.extend_from_slice(row);
                    out.resize(out.len() + gpu_row - src_row, 0);
                }
            }
            return;
        }
        let RowPart::Transposed { view, col0, .. } = self else { unreachable!() };
        // Row r, element k = view[e, k, col0 + r]: read each source row once per band of 32 rows.
        let (es, total_out) = (f.block_bytes(), view.shape[2]);
        let mut r = rr.start;
        while r < rr.end {
            let band = (rr.end - r).min(32);
            let start = out.len();
            out.resize(start + band * gpu_row, 0);
            let dst = &mut out[start..];
            for k in 0..cols {
                let src = ((e * cols + k) * total_out + col0 + r) * es;
                let src = &view.bytes[src..src + band * es];
                for (i, elem) in src.chunks_exact(es).enumerate() {
                    dst[i * gpu_row + k * es..i * gpu_row + (k + 1) * es].copy_from_slice(elem);
                }
            }
            r += band;
        }
    }
}
