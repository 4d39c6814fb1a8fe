// y = W x for a weight chunk W [experts, n, k] (rows = output features, `nn.Linear` layout) in
// any weight format. A row is `row_blocks` GPU blocks of BLOCK_ELEMS weights (BLOCK_BYTES bytes,
// see common/weights_*.wgsl), read in 32-weight *units*: the format's `unit_w` decodes one unit
// once, and it is dotted with the 32 matching activations of each of the TT tokens.
//
// Three layouts of the same work:
// - default (GPUs): a workgroup computes ROWS rows; its threads stride over the units of the row
//   and a shared-memory sum combines them (SUBGROUP: subgroup sums first, one partial each).
// - TILED (GPUs, prompts of dense rows): a tiled GEMM, 64 rows by 32 tokens a workgroup, weights
//   and activations staged in workgroup memory, a 4 x 4 register tile per invocation.
// - ROW_LANE (CPU adapters such as lavapipe, where every load is a per-lane gather and barriers
//   are costly): each invocation owns ROWS whole rows, no shared memory, no barrier; with
//   SUBGROUP its 8 lanes share each 32 activations' loads (see x32).
//
// Dense: activation row t (of n_tokens) reads input row x_row0 + t / x_div and writes output row t,
// columns out_col0 .. out_col0 + n.
//
// SWIGLU (CPU adapters, with ROW_LANE): W is a gate|up matrix [experts, 2n, k] and the output
// is the SwiGLU of it, out[t, r] = silu(gate_r . x) * (up_r . x) for r < n: each invocation
// computes its rows of gate and the same rows of up, and no [T, 2n] buffer is written or read
// back by a second pass.
//
// NORM (dense rows): x holds the rows before their RMSNorm (spec §2.1), and the matmul applies it:
// each input is multiplied by the norm's weight as it is loaded, each workgroup sums the squares
// of its tokens' rows itself, and each dot product is scaled by 1 / rms at the end. The norm's
// own pass, a dispatch and a [T, k] write and read, disappears.
//
// EXPERT_ID (the MoE "mul_mat_id" variant): activation row t is a routed assignment. Its expert is
// ids[t] (read on the GPU, never by the host); workgroups whose expert is not in this chunk do no
// work, so only the routed experts' weights are ever read. With scale_input the input row is
// multiplied by scores[t] first: the router score scales the expert's *input* (spec §2.7).
// A tile of TT > 1 rows takes the expert of its first row and computes the rows of that expert
// only: prefill sorts the rows by expert into whole tiles first (moe/group.wgsl, which marks the
// padding rows), and each tile reads its expert's weights once.

override TT: u32 = 1u; // activation rows per workgroup, <= 8
const ROWS: u32 = 4u;   // output rows per workgroup (default) or per invocation (ROW_LANE)
const WG: u32 = 64u;
// ROW_LANE: one SIMD batch of a CPU adapter per workgroup, so a small matrix still spreads over
// every core (a 576-row matrix is 18 workgroups, not 3).
const LANE_WG: u32 = 8u;

struct Params {
    norm_eps: f32, // NORM: the RMSNorm's epsilon
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
    x_win: u32, // X_UNIFORM: the float offset in x where the bound 64 KiB window starts
    id_row0: u32, // EXPERT_ID: ids and scores of activation row t are at id_row0 + t
}

@group(0) @binding(0) var<uniform> p: Params;
#if X_UNIFORM
// ROW_LANE on CPU adapters: every invocation of a workgroup reads the same activations, and a
// uniform-buffer read at a workgroup-uniform offset is one scalar load where a storage read is a
// loop over the SIMD lanes. The host binds a 64 KiB window of x starting at float p.x_win
// (a prompt takes one dispatch per window of token rows).
@group(0) @binding(1) var<uniform> xu: array<vec4<f32>, 4096>;
#else
#if X_VEC4
// GPUs, rows of x 16-byte aligned: one 16-byte load per four activations.
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
#endif
#endif
#if W_TEX
@group(0) @binding(2) var wt: texture_2d<u32>;
#else
#if W_VEC4
@group(0) @binding(2) var<storage, read> w4: array<vec4<u32>>;
#else
@group(0) @binding(2) var<storage, read> w: array<u32>;
#endif
#endif
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
#if EXPERT_ID
@group(0) @binding(4) var<storage, read> ids: array<u32>;
@group(0) @binding(5) var<storage, read> scores: array<f32>;
#endif
#if NORM
// the RMSNorm weight of the input rows (k of them, k a multiple of 4); never with EXPERT_ID
// (Shader::exclusive)
@group(0) @binding(4) var<storage, read> norm_w: array<vec4<f32>>;
#endif

#include_weights

const UNITS: u32 = BLOCK_ELEMS / 32u;

// Four activations from offset o (a multiple of 4 with X_UNIFORM and X_VEC4).
fn xv4(o: u32) -> vec4<f32> {
#if X_UNIFORM
    return xu[(o - p.x_win) >> 2u];
#else
#if X_VEC4
    return x4[o >> 2u];
#else
    return vec4<f32>(x[o], x[o + 1u], x[o + 2u], x[o + 3u]);
#endif
#endif
}

// The 32 factors of the inputs from column e: with NORM the norm's weights (the 1 / rms scale
// comes at the end), else ones. Loaded once per unit for every token and row that uses them (a
// storage load in the inner loop costs CPU adapters a pass over the SIMD lanes each time).
fn g32_each(e: u32) -> W32 {
#if NORM
    let b = e >> 2u;
    return W32(norm_w[b], norm_w[b + 1u], norm_w[b + 2u], norm_w[b + 3u], norm_w[b + 4u], norm_w[b + 5u], norm_w[b + 6u],
        norm_w[b + 7u]);
#else
    let one = vec4<f32>(1.0);
    return W32(one, one, one, one, one, one, one, one);
#endif
}

// 32 inputs from offset o, times their factors g (in the W32 layout). Past k (float rows are
// zero-padded to 32) the values belong to the next row or are clamped reads: finite, and
// multiplied by zero weights.
fn x32_each(o: u32, g: W32) -> W32 {
    return W32(xv4(o) * g.a0, xv4(o + 4u) * g.a1, xv4(o + 8u) * g.a2, xv4(o + 12u) * g.a3, xv4(o + 16u) * g.a4,
        xv4(o + 20u) * g.a5, xv4(o + 24u) * g.a6, xv4(o + 28u) * g.a7);
}

// NORM: the sum of squares of part `part` of `parts` of activation row t's input row (its vec4s
// part, part + parts, ...), for the caller to add up.
fn sumsq_part(t: u32, part: u32, parts: u32) -> f32 {
    let o = x_base(t);
    var s = 0.0;
    for (var i = part; i < p.x_stride / 4u; i += parts) {
        let v = xv4(o + 4u * i);
        s += dot(v, v);
    }
    return s;
}

// NORM: 1 / rms of an input row from its sum of squares (as norm/rmsnorm.wgsl computes it).
fn inv_rms(sumsq: f32) -> f32 {
    return inverseSqrt(sumsq / f32(p.x_stride) + p.norm_eps);
}

#if ROW_LANE
#if SUBGROUP
// CPU adapters with subgroups: the workgroup's 8 lanes are one subgroup, and every lane wants the
// same 32 activations. Lane j loads o + 4 j .. o + 4 j + 3 and the eight are broadcast: one pass
// over the lanes instead of eight (each load being a pass over the lanes, uniform or not).
var<private> lane_id: u32;

// The factors of the lane's own four inputs (see g32_each), in .a0.
fn g32(e: u32) -> W32 {
#if NORM
    let v = norm_w[(e >> 2u) + lane_id];
    return W32(v, v, v, v, v, v, v, v);
#else
    return g32_each(e);
#endif
}

fn x32(o: u32, g: W32) -> W32 {
    let v = xv4(o + 4u * lane_id) * g.a0;
    return W32(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u),
        subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u), subgroupBroadcast(v, 6u), subgroupBroadcast(v, 7u));
}
#else
fn g32(e: u32) -> W32 {
    return g32_each(e);
}

fn x32(o: u32, g: W32) -> W32 {
    return x32_each(o, g);
}
#endif
#else
fn g32(e: u32) -> W32 {
    return g32_each(e);
}

fn x32(o: u32, g: W32) -> W32 {
    return x32_each(o, g);
}
#endif

fn dot32(wv: W32, xv: W32) -> f32 {
    return dot4(wv.a0, xv.a0) + dot4(wv.a1, xv.a1) + dot4(wv.a2, xv.a2) + dot4(wv.a3, xv.a3)
        + dot4(wv.a4, xv.a4) + dot4(wv.a5, xv.a5) + dot4(wv.a6, xv.a6) + dot4(wv.a7, xv.a7);
}

// One unit's weights dotted with the 32 inputs from offset o (factors g), times `scale`.
fn dot_x32(wv: W32, o: u32, g: W32, scale: f32) -> f32 {
    return dot32(wv, x32(o, g)) * scale;
}

// Four weights times four activations, summed. F16 (`--dtype f16` with shader-f16): f16 products
// and sum of the four; every larger sum stays f32.
fn dot4(a: vec4<f32>, b: vec4<f32>) -> f32 {
#if F16
    return f32(dot(vec4<f16>(a), vec4<f16>(b)));
#else
    return dot(a, b);
#endif
}

// Activation row t's input offset.
fn x_base(t: u32) -> u32 {
    return (p.x_row0 + t / p.x_div) * p.x_stride;
}

// Writes (or adds) `v[r]` to output row r0 + r of activation row t, for the rows that exist.
fn store4(t: u32, r0: u32, v: vec4<f32>) {
    for (var r = 0u; r < ROWS; r++) {
        let row = r0 + r;
        if (row < p.n && t < p.n_tokens) {
            let o = t * p.out_stride + p.out_col0 + row;
            if (p.accumulate != 0u) {
                out[o] += v[r];
            } else {
                out[o] = v[r];
            }
        }
    }
}

// Weight rows per expert: n, or with SWIGLU the n gate rows and the n up rows.
fn expert_rows() -> u32 {
#if SWIGLU
    return 2u * p.n;
#else
    return p.n;
#endif
}

// silu(g) * u, as ffn/swiglu.wgsl computes it.
fn swiglu4(g: vec4<f32>, u: vec4<f32>) -> vec4<f32> {
    return g / (vec4<f32>(1.0) + exp(-g)) * u;
}

// The routed expert's byte offset in this chunk and its input scale; live = false when the
// expert is not in this chunk. `rows`: the tile's rows to compute (a prompt's last tile stops at
// n_tokens; a grouped tile at its expert's last row, padding rows having another id).
struct Route {
    live: bool,
    base: u32,
    scale: f32,
    rows: u32,
}

fn route(t0: u32, row_bytes: u32) -> Route {
    var r = Route(true, 0u, 1.0, min(TT, p.n_tokens - min(t0, p.n_tokens)));
#if EXPERT_ID
    let e = ids[p.id_row0 + t0];
    r.live = e >= p.e0 && e < p.e1;
    if (r.live) {
        r.base = (e - p.e0) * expert_rows() * row_bytes;
        if (p.scale_input != 0u) {
            r.scale = scores[p.id_row0 + t0];
        }
        var rows = 1u;
        for (var tt = 1u; tt < r.rows; tt++) {
            rows += select(0u, 1u, ids[p.id_row0 + t0 + tt] == e);
        }
        r.rows = rows;
    }
#endif
    return r;
}

// The input column where unit `unit` (counted along the row) starts.
fn unit_col(unit: u32) -> u32 {
    return (unit / UNITS) * BLOCK_ELEMS + 32u * (unit % UNITS);
}

// Byte offsets of the ROWS rows from r0; rows past n read row n - 1 (no branch in the loop) and
// are not stored.
fn row_bases(base: u32, r0: u32, row_bytes: u32) -> vec4<u32> {
    let last = vec4<u32>(max(p.n, 1u) - 1u);
    return vec4<u32>(base) + min(vec4<u32>(r0) + vec4<u32>(0u, 1u, 2u, 3u), last) * row_bytes;
}

// acc[tt] += the ROWS rows' unit `unit` (counted along the row) dotted with token t0 + tt's
// inputs (factors g, from g32), for the tile's first `rows` tokens: each unit is decoded once
// for all of them.
fn add_unit(acc: ptr<function, array<vec4<f32>, 8>>, rb: vec4<u32>, unit: u32, t0: u32, scale: f32, rows: u32, g: W32) {
    let blk = unit / UNITS;
    let u = unit % UNITS;
    let bo = blk * BLOCK_BYTES;
    let e = unit_col(unit);
    if (TT == 1u) {
        let o = x_base(t0) + e;
#if ROW_LANE
        // one row decoded and used at a time: 32 live weights, not 128 (CPU adapters spill);
        // x comes from scalar uniform loads, cheap to repeat
        (*acc)[0].x += dot_x32(unit_w(rb.x + bo, u), o, g, scale);
        (*acc)[0].y += dot_x32(unit_w(rb.y + bo, u), o, g, scale);
        (*acc)[0].z += dot_x32(unit_w(rb.z + bo, u), o, g, scale);
        (*acc)[0].w += dot_x32(unit_w(rb.w + bo, u), o, g, scale);
#else
        // GPUs: the 32 activations loaded once for the four rows
        let xv = x32(o, g);
        (*acc)[0] += scale * vec4<f32>(dot32(unit_w(rb.x + bo, u), xv), dot32(unit_w(rb.y + bo, u), xv),
            dot32(unit_w(rb.z + bo, u), xv), dot32(unit_w(rb.w + bo, u), xv));
#endif
        return;
    }
    let w0 = unit_w(rb.x + bo, u);
    let w1 = unit_w(rb.y + bo, u);
    let w2 = unit_w(rb.z + bo, u);
    let w3 = unit_w(rb.w + bo, u);
    for (var tt = 0u; tt < TT; tt++) {
        if (tt < rows) { // uniform: the workgroup's tile
            let xv = x32(x_base(t0 + tt) + e, g);
            (*acc)[tt] += scale * vec4<f32>(dot32(w0, xv), dot32(w1, xv), dot32(w2, xv), dot32(w3, xv));
        }
    }
}

// The entry point of each layout.
#if ROW_LANE
#include "matmul/row_lane.wgsl"
#else
#if TILED
#include "matmul/tiled.wgsl"
#else
#include "matmul/split_k.wgsl"
#endif
#endif
