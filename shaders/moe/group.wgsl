// MoE prefill grouped by expert: the histogram and scan that come before the grouped matmuls.
// The n routed assignments (a = t k + j, expert ids[a]) are sorted by expert into rows, each
// expert's run padded to whole tiles of `tile` rows, so that every matmul tile holds one expert
// and reads its weights once for `tile` rows. Written for the rows r < n_rows:
//   expert[r]: the expert of row r, with PAD set on padding rows (a matmul tile takes its first
//              row's expert and skips its padding), or NONE past the last tile (no work there)
//   src[r]:    the assignment in row r, or NONE for a padding row
// and slot[a], the row of assignment a. Stable: an expert's assignments keep their order.
// One workgroup; invocation i owns experts i, i + WG, ... (the host checks n_experts <= MAX).

struct Params {
    n: u32,
    n_experts: u32,
    tile: u32,
    n_rows: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read_write> expert: array<u32>;
@group(0) @binding(3) var<storage, read_write> src: array<u32>;
@group(0) @binding(4) var<storage, read_write> slot: array<u32>;

const WG: u32 = 64u;
const MAX_EXPERTS: u32 = 256u;
const NONE: u32 = 0xffffffffu;
const PAD: u32 = 0x80000000u;

// start[e] .. start[e + 1]: expert e's rows, padding included
var<workgroup> start: array<u32, 257>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
    // histogram: each expert's padded row count
    for (var e = lid; e < p.n_experts; e += WG) {
        var c = 0u;
        for (var a = 0u; a < p.n; a++) {
            c += select(0u, 1u, ids[a] == e);
        }
        start[e + 1u] = (c + p.tile - 1u) / p.tile * p.tile;
    }
    workgroupBarrier();
    // exclusive scan (at most 256 experts: one invocation is enough)
    if (lid == 0u) {
        start[0] = 0u;
        for (var e = 0u; e < p.n_experts; e++) {
            start[e + 1u] += start[e];
        }
    }
    workgroupBarrier();
    // scatter, in assignment order within each expert
    for (var e = lid; e < p.n_experts; e += WG) {
        var r = start[e];
        for (var a = 0u; a < p.n; a++) {
            if (ids[a] == e) {
                src[r] = a;
                expert[r] = e;
                slot[a] = r;
                r++;
            }
        }
        for (; r < start[e + 1u]; r++) {
            src[r] = NONE;
            expert[r] = e | PAD;
        }
    }
    for (var r = start[p.n_experts] + lid; r < p.n_rows; r += WG) {
        src[r] = NONE;
        expert[r] = NONE;
    }
}
