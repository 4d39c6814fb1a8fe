// Embedding gather: out[t, :] = table[ids[t], :] for the ids that fall in this chunk of the table,
// in any weight format (one invocation decodes one group of 4 weights). The host checks every id
// against vocab_size before a step, and dispatches once per chunk.

struct Params {
    hidden: u32,
    n_tokens: u32,
    row0: u32, // first table row held by this chunk
    rows: u32, // rows in this chunk
    row_blocks: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

#include_weights

const GROUPS: u32 = BLOCK_ELEMS / 4u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let g = gid.x;
    let t = gid.y;
    if (g >= p.row_blocks * GROUPS || t >= p.n_tokens) {
        return;
    }
    let id = ids[t];
    if (id < p.row0 || id >= p.row0 + p.rows) {
        return;
    }
    let blk = g / GROUPS;
    let j = g % GROUPS;
    let v = w_group((id - p.row0) * p.row_blocks * BLOCK_BYTES + blk * BLOCK_BYTES, j);
    let e = blk * BLOCK_ELEMS + 4u * j;
    for (var i = 0u; i < 4u; i++) {
        if (e + i < p.hidden) {
            out[t * p.hidden + e + i] = v[i];
        }
    }
}
