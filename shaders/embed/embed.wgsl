// Embedding gather: out[t, :] = table[ids[t], :] for the ids that fall in this chunk of the table.
// The host checks every id against vocab_size before a step, and dispatches once per chunk.

struct Params {
    hidden: u32,
    n_tokens: u32,
    row0: u32, // first table row held by this chunk
    rows: u32, // rows in this chunk
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> w: array<WElem>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

#include_weights

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    let t = gid.y;
    if (c >= p.hidden || t >= p.n_tokens) {
        return;
    }
    let id = ids[t];
    if (id < p.row0 || id >= p.row0 + p.rows) {
        return;
    }
    out[t * p.hidden + c] = w_at((id - p.row0) * p.hidden + c);
}
