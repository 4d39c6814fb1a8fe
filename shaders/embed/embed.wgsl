// Embedding gather: out[t, :] = table[ids[t], :] for the ids that fall in this chunk of the table,
// in any weight format (one invocation decodes one 32-weight unit with the format's `unit_w`). The host checks every id
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
#if W_TEX
@group(0) @binding(2) var wt: texture_2d<u32>;
#else
@group(0) @binding(2) var<storage, read> w: array<u32>;
#endif
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

#include_weights

const UNITS: u32 = BLOCK_ELEMS / 32u;

// Writes weights e .. e + 4 of the row to output row t, those before `hidden` (float rows are
// zero-padded to 32).
fn store4(t: u32, e: u32, v: vec4<f32>) {
    for (var i = 0u; i < 4u; i++) {
        if (e + i < p.hidden) {
            out[t * p.hidden + e + i] = v[i];
        }
    }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let g = gid.x; // 32-weight unit along the row
    let t = gid.y;
    if (g >= p.row_blocks * UNITS || t >= p.n_tokens) {
        return;
    }
    let id = ids[t];
    if (id < p.row0 || id >= p.row0 + p.rows) {
        return;
    }
    let blk = g / UNITS;
    let v = unit_w((id - p.row0) * p.row_blocks * BLOCK_BYTES + blk * BLOCK_BYTES, g % UNITS);
    let e = 32u * g;
    store4(t, e, v.a0);
    store4(t, e + 4u, v.a1);
    store4(t, e + 8u, v.a2);
    store4(t, e + 12u, v.a3);
    store4(t, e + 16u, v.a4);
    store4(t, e + 20u, v.a5);
    store4(t, e + 24u, v.a6);
    store4(t, e + 28u, v.a7);
}
