// Prefill attention for CPU adapters (lavapipe, llvmpipe): one lane per query, keys read through
// 64 KiB uniform windows. attention.wgsl gives a key to each lane and reads it from storage; on a
// CPU adapter every storage or workgroup-memory read is a loop over the SIMD lanes with a branch
// per element, while a uniform read is a gather without branches. Here the 8 lanes of a
// workgroup (one SIMD batch) are 8 consecutive queries of one head, each with its q and its output
// in registers, and every key and value serves all 8. With SUBGROUP each lane loads a different
// 16 bytes of a key and broadcasts them (row8), 8x fewer loads. Keys go four at a time: one
// rescale of the output per four.
//
// The keys of a step come in two kinds, each dispatch taking one (p.window = w):
// - w < p.splits - 1: keys past + w W .. past + (w + 1) W - 1 of this step (W = p.window_keys,
//   at most 16384 / d), from the packed copy kv_store.wgsl (PACK) made of this step's k and v
//   rows: head-major, so one 64 KiB window of k_win / v_win holds W keys of kv head p.kv_head
//   (one dispatch per (kv head, window); workgroup y is the query head within the group).
// - w = p.splits - 1: the cached keys [lo, past), read from the cache (storage; none in a
//   prompt's first step, where the dispatch only writes empty slots); one dispatch for every head.
// Each writes its unnormalized output with its running max and sum, as SPLIT attention does, to
// partial slot w of (query, head), and attention_combine.wgsl merges the slots. Causality and
// the chunk bound are per lane (masked probabilities); all in float32.

#include "common/attention_shape.wgsl"

#include "common/step.wgsl"

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<vec4<f32>>;
#include "common/kv_cache.wgsl"

@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> step: Step;
@group(0) @binding(6) var<uniform> k_win: array<vec4<f32>, 4096>;
@group(0) @binding(7) var<uniform> v_win: array<vec4<f32>, 4096>;

const LANES: u32 = 8u;
const MAX_D4: u32 = 64u;
override D4: u32 = 1u; // head_dim / 4: the loops over it unroll
override D8: u32 = (D4 + 7u) / 8u; // groups of 8 vec4
const NEG: f32 = -3.0e38;

// this lane's query (zero past D4) and its unnormalized output; the loops over dims go in
// steps of 8 vec4, so up to D4 rounded up to 8
var<private> qr: array<vec4<f32>, MAX_D4>;
var<private> acc: array<vec4<f32>, MAX_D4>;

// The running max and sum of this lane's softmax.
struct Run {
    m: f32,
    l: f32,
}

// Folds four keys' scores (NEG where masked) into the run: rescales acc to the new max and
// returns the four probabilities (0 where masked).
fn fold(run: ptr<function, Run>, s4: vec4<f32>, valid: vec4<bool>) -> vec4<f32> {
    let m_new = max((*run).m, max(max(s4.x, s4.y), max(s4.z, s4.w)));
    let corr = exp((*run).m - m_new);
    let p4 = select(vec4<f32>(0.0), exp(s4 - vec4<f32>(m_new)), valid);
    (*run).l = (*run).l * corr + p4.x + p4.y + p4.z + p4.w;
    (*run).m = m_new;
    for (var i = 0u; i < D4; i++) {
        acc[i] *= corr;
    }
    return p4;
}

#if SUBGROUP
// The 8 lanes' values of v, each broadcast to every lane (the workgroup is one subgroup of at
// least 8 lanes).
fn lanes8(v: vec4<f32>) -> array<vec4<f32>, 8> {
    return array<vec4<f32>, 8>(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u),
        subgroupBroadcast(v, 3u), subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u), subgroupBroadcast(v, 6u),
        subgroupBroadcast(v, 7u));
}
#endif

// Where a key's (or value's) vec4s come from: the packed window or the cache. Every call site
// passes a constant, so the switch folds away.
const K_WIN: u32 = 0u;
const V_WIN: u32 = 1u;
const K_CACHE: u32 = 2u;
const V_CACHE: u32 = 3u;

fn fetch(src: u32, i: u32) -> vec4<f32> {
    switch src {
        case 0u: {
            return k_win[i];
        }
        case 1u: {
            return v_win[i];
        }
        case 2u: {
            return vec4<f32>(kv_load(k_cache[i]));
        }
        default: {
            return vec4<f32>(kv_load(v_cache[i]));
        }
    }
}

var<private> lane: u32; // local_invocation_index

// vec4s c .. c + 7 of the row starting at vec4 `base` of `src`: with SUBGROUP lane j loads vec4
// c + j and broadcasts it (8 different addresses in one pass over the lanes, where 8 lanes
// loading the same one is a pass too). Past the row they repeat its last vec4, met by zeros of q.
fn row8(src: u32, base: u32, c: u32) -> array<vec4<f32>, 8> {
#if SUBGROUP
    return lanes8(fetch(src, base + min(c + lane, D4 - 1u)));
#else
    var r: array<vec4<f32>, 8>;
    for (var j = 0u; j < 8u; j++) {
        r[j] = fetch(src, base + min(c + j, D4 - 1u));
    }
    return r;
#endif
}

// q . k for the key whose vec4s start at `base` of `src`.
fn score(src: u32, base: u32) -> f32 {
    var s = 0.0;
    for (var g = 0u; g < D8; g++) {
        let k = row8(src, base, 8u * g);
        for (var j = 0u; j < 8u; j++) {
            s += dot(qr[8u * g + j], k[j]);
        }
    }
    return s * p.scale;
}

// Attends to four keys (rows at `bases` of `src` and of its values, masked where !valid).
fn attend4(src: u32, bases: vec4<u32>, valid: vec4<bool>, run: ptr<function, Run>) {
    let sc = vec4<f32>(score(src, bases.x), score(src, bases.y), score(src, bases.z), score(src, bases.w));
    let pr = fold(run, select(vec4<f32>(NEG), sc, valid), valid);
    for (var g = 0u; g < D8; g++) {
        let c = 8u * g;
        let v0 = row8(src + 1u, bases.x, c);
        let v1 = row8(src + 1u, bases.y, c);
        let v2 = row8(src + 1u, bases.z, c);
        let v3 = row8(src + 1u, bases.w, c);
        for (var j = 0u; j < 8u; j++) {
            acc[c + j] += pr.x * v0[j] + pr.y * v1[j] + pr.z * v2[j] + pr.w * v3[j];
        }
    }
}

@compute @workgroup_size(LANES)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    lane = lid;
    let n = step.n_tokens;
    let group = p.nh / p.nkv;
    let cache_pass = p.window + 1u == p.splits;
    var h = p.kv_head * group + wid.y;
    if (cache_pass) {
        h = wid.y;
    }
    let kvh = h / group;
    let t0 = wid.x * LANES;
    let t = min(t0 + lid, n - 1u); // lanes past the last query repeat it and store nothing
    let pos = step.past + t;
    // lo: the first key this lane may see (its chunk's start on chunked layers)
    var lo = 0u;
    var lo0 = 0u; // ... and the tile's first query's, the smallest
    if (p.chunk != 0u) {
        lo = (pos / p.chunk) * p.chunk;
        lo0 = ((step.past + t0) / p.chunk) * p.chunk;
    }
    // the keys: cached [lo0, past), or this window's step rows [r, r_end) (up to the tile's last
    // query, from its chunk on)
    let r0 = p.window * p.window_keys;
    var r = lo0;
    var r_end = step.past;
    if (!cache_pass) {
        r = max(r0, max(lo0, step.past) - step.past);
        r_end = min(min(r0 + p.window_keys, n), t0 + LANES);
    }
    var run = Run(NEG, 0.0);
    if (r < r_end) {
        for (var i = 0u; i < D4; i++) {
            qr[i] = qkv[(t * p.width + h * p.d) / 4u + i];
        }
    }
    for (; r < r_end; r += 4u) {
        // four keys; past r_end they repeat the last one and are masked
        let rs = min(vec4<u32>(r) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(r_end - 1u));
        let ok = vec4<u32>(r) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(r_end);
        if (cache_pass) {
            let valid = ok & (rs >= vec4<u32>(lo));
            attend4(K_CACHE, ((rs % p.cap) * p.nkv + kvh) * p.d / 4u, valid, &run);
        } else {
            let ss = vec4<u32>(step.past) + rs; // absolute positions
            let valid = ok & (ss <= vec4<u32>(pos)) & (ss >= vec4<u32>(lo));
            attend4(K_WIN, (rs - vec4<u32>(r0)) * D4, valid, &run);
        }
    }
    if (t0 + lid < n) {
        let o = ((t * p.nh + h) * p.splits + p.window) * (p.d + 2u);
        for (var i = 0u; i < D4; i++) {
            out[o + 4u * i] = acc[i].x;
            out[o + 4u * i + 1u] = acc[i].y;
            out[o + 4u * i + 2u] = acc[i].z;
            out[o + 4u * i + 3u] = acc[i].w;
        }
        out[o + p.d] = run.m;
        out[o + p.d + 1u] = run.l;
    }
}
