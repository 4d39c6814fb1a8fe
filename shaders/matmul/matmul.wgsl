// y = W x for a weight chunk W [experts, n, k] (rows = output features, `nn.Linear` layout) in
// any weight format. A row is `row_blocks` GPU blocks of BLOCK_ELEMS weights (BLOCK_BYTES bytes,
// see common/weights_*.wgsl); the k axis is cut in *groups* of 4 weights, and each thread owns
// whole groups, decoding each once and using it for every row's TT activation rows.
//
// Dense: activation row t (of n_tokens) reads input row x_row0 + t / x_div and writes output row t,
// columns out_col0 .. out_col0 + n. Each workgroup computes ROWS output rows for TT activation rows.
//
// EXPERT_ID (the MoE "mul_mat_id" variant): activation row t is a routed assignment. Its expert is
// ids[t] (read on the GPU, never by the host); workgroups whose expert is not in this chunk do no
// work, so only the routed experts' weights are ever read. With scale_input the input row is
// multiplied by scores[t] first: the router score scales the expert's *input* (spec §2.7).

override TT: u32 = 1u; // activation rows per workgroup, <= 8 (1 with EXPERT_ID)
const ROWS: u32 = 4u;
const WG: u32 = 64u;
const MAX_OUT: u32 = 32u; // ROWS * max TT

struct Params {
    k: u32,
    n: u32,
    n_tokens: u32,
    out_stride: u32,
    out_col0: u32,
    accumulate: u32,
    x_stride: u32,
    x_row0: u32,
    wg_x: u32,
    e0: u32,
    e1: u32,
    x_div: u32,
    scale_input: u32,
    row_blocks: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
#if EXPERT_ID
@group(0) @binding(4) var<storage, read> ids: array<u32>;
@group(0) @binding(5) var<storage, read> scores: array<f32>;
#endif

#include_weights

const GROUPS: u32 = BLOCK_ELEMS / 4u;

var<workgroup> red: array<f32, 2048>; // WG * MAX_OUT partial sums

// x[base + e .. base + e + 4], zero past k (float rows are padded to whole blocks).
fn x4(base: u32, e: u32) -> vec4<f32> {
    if (e + 4u <= p.k) {
        return vec4<f32>(x[base + e], x[base + e + 1u], x[base + e + 2u], x[base + e + 3u]);
    }
    var v = vec4<f32>(0.0);
    for (var i = 0u; i < 4u; i++) {
        if (e + i < p.k) {
            v[i] = x[base + e + i];
        }
    }
    return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r0 = (wid.x + wid.z * p.wg_x) * ROWS;
    let t0 = wid.y * TT;
    let row_bytes = p.row_blocks * BLOCK_BYTES;
    var live = r0 < p.n;
    var w_base = 0u; // byte offset of this workgroup's expert inside the chunk
    var in_scale = 1.0;
#if EXPERT_ID
    let e = ids[t0];
    live = live && e >= p.e0 && e < p.e1;
    if (live) {
        w_base = (e - p.e0) * p.n * row_bytes;
        if (p.scale_input != 0u) {
            in_scale = scores[t0];
        }
    }
#endif
    var acc: array<f32, MAX_OUT>;
    for (var i = 0u; i < MAX_OUT; i++) {
        acc[i] = 0.0;
    }
    let units = select(0u, p.row_blocks * GROUPS, live);
    for (var u = lid; u < units; u += WG) {
        let blk = u / GROUPS;
        let j = u % GROUPS;
        let e = blk * BLOCK_ELEMS + 4u * j;
        var xs: array<vec4<f32>, 8>;
        for (var tt = 0u; tt < TT; tt++) {
            let t = t0 + tt;
            xs[tt] = vec4<f32>(0.0);
            if (t < p.n_tokens) {
                xs[tt] = x4((p.x_row0 + t / p.x_div) * p.x_stride, e) * in_scale;
            }
        }
        for (var r = 0u; r < ROWS; r++) {
            let row = r0 + r;
            if (row < p.n) {
                let wv = w_group(w_base + row * row_bytes + blk * BLOCK_BYTES, j);
                for (var tt = 0u; tt < TT; tt++) {
                    acc[r * TT + tt] += dot(wv, xs[tt]);
                }
            }
        }
    }
    for (var i = 0u; i < ROWS * TT; i++) {
        red[i * WG + lid] = acc[i];
    }
    workgroupBarrier();
    if (live && lid < ROWS * TT) {
        var sum = 0.0;
        for (var j = 0u; j < WG; j++) {
            sum += red[lid * WG + j];
        }
        let row = r0 + lid / TT;
        let t = t0 + lid % TT;
        if (row < p.n && t < p.n_tokens) {
            let o = t * p.out_stride + p.out_col0 + row;
            if (p.accumulate != 0u) {
                out[o] += sum;
            } else {
                out[o] = sum;
            }
        }
    }
}
