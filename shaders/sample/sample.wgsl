// Picks the next token from one logits row, on the GPU, in one workgroup after argmax.wgsl's
// per-slice maxima.
//   greedy: argmax (ties: lowest id), from the slices' partials.
//   else:   temperature, then top-k, then top-p (the order of transformers' logits processors),
//           then an inverse-CDF draw with a counter-based RNG (seed, step counter).
// top-k and top-p become thresholds on an order-preserving u32 key of the logits, found by a
// 32-step bisection of parallel counts / masses: no sort, no readback. The host reads back only
// `out[0]`, the chosen id.

struct Params {
    vocab: u32,
    row0: u32,
    greedy: u32,
    top_k: u32,
    top_p: f32,
    inv_temp: f32,
    seed: u32,
    slices: u32,
}

#include "common/step.wgsl"

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<uniform> step: Step;
@group(0) @binding(4) var<storage, read> part: array<u32>; // argmax.wgsl: (max bits, id) per slice

const WG: u32 = 256u;
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

// Probability mass (unnormalised) of the tokens whose key is >= thr, as partial sums per lane.
fn lane_mass(lid: u32, thr: u32, m: f32) -> f32 {
    var s = 0.0;
    for (var i = lid; i < p.vocab; i += WG) {
        let l = logits[p.row0 + i];
        if (key(l) >= thr) {
            s += exp((l - m) * p.inv_temp);
        }
    }
    return s;
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

    // 2. top-k: the largest key thr with count(key >= thr) >= k is the k-th largest logit.
    var thr = 0u;
    if (p.top_k > 0u && p.top_k < p.vocab) {
        for (var bit = 31i; bit >= 0i; bit--) {
            let cand = thr | (1u << u32(bit));
            var c = 0u;
            for (var i = lid; i < p.vocab; i += WG) {
                c += select(0u, 1u, key(logits[p.row0 + i]) >= cand);
            }
            if (sum_u(lid, c) >= p.top_k) {
                thr = cand;
            }
        }
    }

    // 3. top-p: the largest key with mass(key >= it, among the top-k) >= top_p * total.
    if (p.top_p < 1.0) {
        let goal = p.top_p * workgroup_sum(lane, lane_mass(lid, thr, m));
        var tp = 0u;
        for (var bit = 31i; bit >= 0i; bit--) {
            let cand = tp | (1u << u32(bit));
            if (workgroup_sum(lane, lane_mass(lid, max(cand, thr), m)) >= goal) {
                tp = cand;
            }
        }
        thr = max(thr, tp);
    }

    // 4. inverse CDF over contiguous segments: lane masses, then lane 0 walks.
    let seg = (p.vocab + WG - 1u) / WG;
    var s = 0.0;
    for (var i = lid * seg; i < min(p.vocab, (lid + 1u) * seg); i++) {
        let l = logits[p.row0 + i];
        if (key(l) >= thr) {
            s += exp((l - m) * p.inv_temp);
        }
    }
    red[lid] = s;
    workgroupBarrier();
    if (lid == 0u) {
        var total = 0.0;
        for (var j = 0u; j < WG; j++) {
            total += red[j];
        }
        let u = f32(pcg(p.seed ^ pcg(step.counter)) >> 8u) / 16777216.0;
        let goal = u * total;
        // The lane whose cumulative range holds the goal (else, after rounding, the last non-empty one).
        var lane = 0u;
        var before = 0.0;
        var acc = 0.0;
        for (var j = 0u; j < WG; j++) {
            if (red[j] > 0.0) {
                lane = j;
                before = acc;
                if (goal < acc + red[j]) {
                    break;
                }
                acc += red[j];
            }
        }
        var rest = goal - before;
        var chosen = arg;
        for (var i = lane * seg; i < min(p.vocab, (lane + 1u) * seg); i++) {
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
