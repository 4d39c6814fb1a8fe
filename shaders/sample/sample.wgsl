// Picks the next token from one logits row, on the GPU, in one workgroup after argmax.wgsl's
// per-slice maxima.
//   greedy: argmax (ties: lowest id), from the slices' partials.
//   else:   temperature, then top-k, then top-p (the order of transformers' logits processors),
//           then an inverse-CDF draw with a counter-based RNG (seed, step counter).
// top-k and top-p become thresholds on an order-preserving u32 key of the logits, found by a
// 32-step bisection of parallel counts / masses: no sort, no readback. The host reads back only
// `out[0]`, the chosen id.
// With top-k or top-p, candidates.wgsl has listed each slice's candidates (cap > 0): where they
// hold the top-k set (at least k of them), or the top-p set (at least top_p of the weight), every
// search and the draw run over them instead of the whole vocabulary, in the same id order.

struct Params {
    vocab: u32,
    row0: u32,
    greedy: u32,
    top_k: u32,
    top_p: f32,
    inv_temp: f32,
    seed: u32,
    slices: u32,
    cap: u32, // candidates a slice at most (candidates.wgsl), 0 where that pass did not run
}

#include "common/step.wgsl"

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<uniform> step: Step;
// argmax.wgsl's (max bits, id) per slice, then candidates.wgsl's (count, weight bits) per slice
@group(0) @binding(4) var<storage, read> part: array<u32>;
@group(0) @binding(5) var<storage, read> cand: array<u32>; // candidates.wgsl: cap ids a slice

const WG: u32 = 256u;
// The draw's segments, each a run of ids in order (at least the slices: MAX_SLICES)
const NSEG: u32 = 256u;
var<workgroup> seg_mass: array<f32, NSEG>;
const NEG: f32 = -3.4e38;
var<workgroup> red: array<f32, WG>;
var<workgroup> ru: array<u32, WG>;

#include "common/reduce.wgsl"
#include "common/argmax.wgsl"

// Monotone map f32 -> u32: a < b  <=>  key(a) < key(b).
fn key(v: f32) -> u32 {
    let b = bitcast<u32>(v);
    return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn pcg(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

fn sum_u(lid: u32, v: u32) -> u32 {
    ru[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            ru[lid] += ru[lid + s];
        }
        workgroupBarrier();
    }
    let r = ru[0];
    workgroupBarrier();
    return r;
}

// Whether the searches and the draw run over the candidates (the same in every lane).
var<private> use_cand: bool;

// The set searched, as NSEG segments in id order: with candidates, segment j is slice j's list
// (slices <= NSEG), else the vocabulary in NSEG contiguous runs.
fn seg_len(j: u32) -> u32 {
    if (use_cand) {
        return select(0u, min(part[2u * p.slices + 2u * j], p.cap), j < p.slices);
    }
    let run = (p.vocab + NSEG - 1u) / NSEG;
    return min(p.vocab, (j + 1u) * run) - min(p.vocab, j * run);
}

fn seg_id(j: u32, i: u32) -> u32 {
    if (use_cand) {
        return cand[j * p.cap + i];
    }
    return j * ((p.vocab + NSEG - 1u) / NSEG) + i;
}

// The lane's share of the set (elements lid, lid + WG, ... of the vocabulary, or of each slice's
// candidates): the count of keys >= thr and their weight (unnormalised probability mass).
struct Share {
    count: u32,
    mass: f32,
}

fn tally(r: ptr<function, Share>, l: f32, thr: u32, m: f32, mass: bool) {
    if (key(l) >= thr) {
        (*r).count++;
        if (mass) {
            (*r).mass += exp((l - m) * p.inv_temp);
        }
    }
}

fn lane_share(lid: u32, thr: u32, m: f32, mass: bool) -> Share {
    var r = Share(0u, 0.0);
    if (use_cand) {
        for (var j = 0u; j < p.slices; j++) {
            let n = seg_len(j);
            for (var i = lid; i < n; i += WG) {
                tally(&r, logits[p.row0 + cand[j * p.cap + i]], thr, m, mass);
            }
        }
    } else {
        for (var i = lid; i < p.vocab; i += WG) {
            tally(&r, logits[p.row0 + i], thr, m, mass);
        }
    }
    return r;
}

fn lane_mass(lid: u32, thr: u32, m: f32) -> f32 {
    return lane_share(lid, thr, m, true).mass;
}

@compute @workgroup_size(WG)
fn main(lane: Lane) {
    let lid = lane.index;
    // 1. argmax, over the slices' maxima (in id order within a lane: ties keep the lowest id).
    var best = NEG;
    var best_i = NO_ID;
    for (var j = lid; j < p.slices; j += WG) {
        let i = part[2u * j + 1u];
        let v = bitcast<f32>(part[2u * j]);
        if (beats(v, i, best, best_i)) {
            best = v;
            best_i = i;
        }
    }
    let top = workgroup_argmax(lid, best, best_i);
    let m = top.v;
    let arg = top.i;
    if (p.greedy != 0u) {
        if (lid == 0u) {
            out[0] = arg;
        }
        return;
    }

    // 2. the set to search: the candidates where they hold at least k (top-k) or where top-p
    //    alone is checked below, else the vocabulary
    let top_k_on = p.top_k > 0u && p.top_k < p.vocab;
    var listed = 0u;
    var fits = p.cap > 0u;
    var total = 0.0; // every token's weight, slice by slice
    if (fits) {
        for (var j = 0u; j < p.slices; j++) {
            let c = part[2u * p.slices + 2u * j];
            fits = fits && c <= p.cap;
            listed += min(c, p.cap);
            total += bitcast<f32>(part[2u * p.slices + 2u * j + 1u]);
        }
    }
    use_cand = fits && (top_k_on || p.top_p < 1.0) && (!top_k_on || listed >= p.top_k);

    // 3. top-k: the largest key thr with count(key >= thr) >= k is the k-th largest logit.
    var thr = 0u;
    if (top_k_on) {
        for (var bit = 31i; bit >= 0i; bit--) {
            let c = thr | (1u << u32(bit));
            if (sum_u(lid, lane_share(lid, c, m, false).count) >= p.top_k) {
                thr = c;
            }
        }
    }

    // 4. top-p: the largest key with mass(key >= it, among the top-k) >= top_p * total.
    if (p.top_p < 1.0) {
        var base = workgroup_sum(lane, lane_mass(lid, thr, m));
        // without top-k the candidates stand for the vocabulary only with top_p of its weight;
        // else the vocabulary's weight, summed where every lane reaches the barriers (a private
        // flag is not uniform control flow to WGSL's analysis)
        let light = use_cand && !top_k_on && base < p.top_p * total;
        if (use_cand && !top_k_on) {
            base = total;
        }
        if (light) {
            use_cand = false;
        }
        var share = 0.0;
        if (light) {
            share = lane_mass(lid, thr, m);
        }
        let whole = workgroup_sum(lane, share);
        if (light) {
            base = whole;
        }
        let goal = p.top_p * base;
        var tp = 0u;
        for (var bit = 31i; bit >= 0i; bit--) {
            let c = tp | (1u << u32(bit));
            if (workgroup_sum(lane, lane_mass(lid, max(c, thr), m)) >= goal) {
                tp = c;
            }
        }
        thr = max(thr, tp);
    }

    // 5. inverse CDF over the segments (in id order): their masses, then lane 0 walks.
    for (var j = lid; j < NSEG; j += WG) {
        var s = 0.0;
        for (var i = 0u; i < seg_len(j); i++) {
            let l = logits[p.row0 + seg_id(j, i)];
            if (key(l) >= thr) {
                s += exp((l - m) * p.inv_temp);
            }
        }
        seg_mass[j] = s;
    }
    workgroupBarrier();
    if (lid == 0u) {
        var total = 0.0;
        for (var j = 0u; j < NSEG; j++) {
            total += seg_mass[j];
        }
        let u = f32(pcg(p.seed ^ pcg(step.counter)) >> 8u) / 16777216.0;
        let goal = u * total;
        // The segment whose cumulative range holds the goal (else, after rounding, the last
        // non-empty one).
        var seg = 0u;
        var before = 0.0;
        var acc = 0.0;
        for (var j = 0u; j < NSEG; j++) {
            if (seg_mass[j] > 0.0) {
                seg = j;
                before = acc;
                if (goal < acc + seg_mass[j]) {
                    break;
                }
                acc += seg_mass[j];
            }
        }
        var rest = goal - before;
        var chosen = arg;
        for (var j = 0u; j < seg_len(seg); j++) {
            let i = seg_id(seg, j);
            let l = logits[p.row0 + i];
            if (key(l) >= thr) {
                chosen = i;
                rest -= exp((l - m) * p.inv_temp);
                if (rest < 0.0) {
                    break;
                }
            }
        }
        out[0] = chosen;
    }
}
