// Causal attention for one layer, one workgroup per (query token, query head), GQA by head groups.
// Query t sits at absolute position pos = past + t and sees keys s in [lo, pos] where
//   chunked (RoPE) layers: lo = floor(pos / chunk) * chunk   (its own chunk only, spec §2.5)
//   global (NoPE) layers:  lo = 0                             (chunk = 0)
// Keys s < past come from the KV cache (slot s % cap), keys s >= past from this step's qkv rows.
// Softmax runs online over tiles of WG keys (running max and sum), all in float32. Lane j scores
// key j of a tile (Q_PRIVATE, on CPU adapters: with q copied into the lane's registers, since a
// workgroup-memory read in that loop is a loop over the SIMD lanes; D4 is a pipeline constant,
// so the loops over it unroll) and turns its score into a probability once; every lane then reads the tile's
// probabilities from workgroup memory for the dims it owns (on CPU adapters the exp is the cost).
//
// SPLIT (flash-decoding, for GPUs where one step's few (query, head) pairs would leave most of
// the chip idle): workgroup z of p.splits takes the z-th WG-aligned slice of [lo, pos] and writes
// its unnormalized output with its running max and sum, d + 2 floats, to `out`;
// attention_combine.wgsl merges the slices. An empty slice writes max NEG, sum 0.
//
// KV_HALF: the cache holds f16 (packed two per word, read with unpack2x16float). F16 (adapters
// with shader-f16): the cache is read as vec4<f16>, and q.k and p.v products are f16 math on
// 4-element groups, summed in f32.

#include "common/attention_shape.wgsl"

#include "common/step.wgsl"

#include "common/lane.wgsl"

@group(0) @binding(0) var<uniform> p: Params;
// Read as vec4 (head_dim is a multiple of 4): a key is d/4 loads per lane, not d.
@group(0) @binding(1) var<storage, read> qkv: array<vec4<f32>>;
#include "common/kv_cache.wgsl"

@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> step: Step;

const WG: u32 = 64u;
const MAX_D: u32 = 256u;
override D4: u32 = 1u; // head_dim / 4, fixed per pipeline: loops over it unroll
const NEG: f32 = -3.0e38;

var<workgroup> q: array<kv4, MAX_D / 4u>;
var<workgroup> sc: array<f32, WG>; // this tile's scores
var<workgroup> pr: array<f32, WG>; // and probabilities against the running max
#if SUBGROUP
var<workgroup> sg_max: array<f32, WG>; // the tile's max score of each subgroup
#endif

#if Q_PRIVATE
// this lane's copy of q: registers once the loops over D4 unroll
var<private> qr: array<kv4, MAX_D / 4u>;
#endif

// Elements 4 i .. 4 i + 4 of the query.
fn q_at(i: u32) -> kv4 {
#if Q_PRIVATE
    return qr[i];
#else
    return q[i];
#endif
}

// Elements 4 i4 .. 4 i4 + 4 of value s.
fn value4(s: u32, kvh: u32, i4: u32) -> kv4 {
    if (s < step.past) {
        return kv_load(v_cache[(((s % p.cap) * p.nkv + kvh) * p.d) / 4u + i4]);
    }
    return kv4(qkv[((s - step.past) * p.width + (p.nh + p.nkv + kvh) * p.d) / 4u + i4]);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, lane: Lane) {
    let lid = lane.index;
    let t = wid.x;
    let h = wid.y;
    let pos = step.past + t;
    let kvh = h / (p.nh / p.nkv);
    var lo = 0u;
    if (p.chunk != 0u) {
        lo = (pos / p.chunk) * p.chunk;
    }
    // this workgroup's keys: [first, last] (all of [lo, pos] without SPLIT, where splits is 1)
    let slice = ((pos - lo + p.splits) / p.splits + WG - 1u) / WG * WG;
    let first = lo + wid.z * slice;
    let last = min(pos, first + slice - 1u);
    for (var i = lid; i < p.d / 4u; i += WG) {
        q[i] = kv4(qkv[(t * p.width + h * p.d) / 4u + i]);
    }
    workgroupBarrier();
#if Q_PRIVATE
    for (var i = 0u; i < D4; i++) {
        qr[i] = q[i];
    }
#endif

    var m = NEG;
    var l = 0.0;
    // Lane lid < d / 4 owns output dims 4 lid .. 4 lid + 4 (one vec4: no private array, whose
    // dynamic indexing CPU adapters turn into memory traffic).
    let owns = lid < p.d / 4u;
    var acc = vec4<f32>(0.0);
    for (var s0 = first; s0 <= last; s0 += WG) {
        let s = s0 + lid;
        var score = NEG;
        if (s <= last) {
            // cached or this step's key: one branch per key, not per 4 dims
            var qk = 0.0;
            if (s < step.past) {
                let kb = (((s % p.cap) * p.nkv + kvh) * p.d) / 4u;
                for (var i = 0u; i < D4; i++) {
                    qk += f32(dot(q_at(i), kv_load(k_cache[kb + i])));
                }
            } else {
                let kb = ((s - step.past) * p.width + (p.nh + kvh) * p.d) / 4u;
                for (var i = 0u; i < D4; i++) {
                    qk += f32(dot(q_at(i), kv4(qkv[kb + i])));
                }
            }
            score = qk * p.scale;
        }
        let n = min(WG, last - s0 + 1u);
        var tile_max = NEG;
#if SUBGROUP
        // one partial max per subgroup: a lane reads n_sg values, not the tile's n scores (on CPU
        // adapters every workgroup read is a loop over the SIMD lanes)
        let sg_tile = subgroupMax(score);
        if (lane.sg_lane == 0u) {
            sg_max[lane.sg] = sg_tile;
        }
        workgroupBarrier();
        for (var j = 0u; j < lane.n_sg; j++) {
            tile_max = max(tile_max, sg_max[j]);
        }
#else
        sc[lid] = score;
        workgroupBarrier();
        for (var j = 0u; j < n; j++) {
            tile_max = max(tile_max, sc[j]);
        }
#endif
        let m_new = max(m, tile_max);
        let corr = exp(m - m_new);
        pr[lid] = select(0.0, exp(score - m_new), s <= last);
        // The next tile writes sc (sg_max) only after every lane passed this barrier, so its max
        // reads are done; it writes pr only after its own first barrier, so these reads are done.
        workgroupBarrier();
        l *= corr;
        acc *= corr;
        if (owns) {
            for (var j = 0u; j < n; j++) {
                let pj = pr[j];
                l += pj;
                acc += vec4<f32>(kv(pj) * value4(s0 + j, kvh, lid));
            }
        }
        m = m_new;
    }
#if SPLIT
    let o = ((t * p.nh + h) * p.splits + wid.z) * (p.d + 2u);
    if (owns) {
        out[o + 4u * lid] = acc.x;
        out[o + 4u * lid + 1u] = acc.y;
        out[o + 4u * lid + 2u] = acc.z;
        out[o + 4u * lid + 3u] = acc.w;
    }
    if (lid == 0u) {
        out[o + p.d] = m;
        out[o + p.d + 1u] = l;
    }
#else
    if (owns) {
        let o = (t * p.nh + h) * p.d + 4u * lid;
        let r = acc / l;
        out[o] = r.x;
        out[o + 1u] = r.y;
        out[o + 2u] = r.z;
        out[o + 3u] = r.w;
    }
#endif
}
