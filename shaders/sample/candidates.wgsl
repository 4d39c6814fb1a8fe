// The sampler's second pass when it keeps a top-k or top-p set, over the argmax pass's slices
// (after it, before sample.wgsl): workgroup s lists slice s's *candidates*, the ids whose weight
// exp((l - m) inv_temp) is at least e^-CUT (m the largest logit), in id order from cand[s cap],
// and writes their count (which may pass cap) and the whole slice's weight after the argmax
// pass's partials, to part[2 slices + 2 s] and part[2 slices + 2 s + 1]. The candidates are the
// logits from some value up: an upper set in the sampler's key order, so where they hold the
// top-k set, or enough weight for the top-p set, the sampler searches them instead of the
// vocabulary (see sample.wgsl), and finds the same thresholds.

struct Params {
    vocab: u32,
    row0: u32,
    slice: u32,
    slices: u32,
    inv_temp: f32,
    cap: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
// argmax.wgsl's (max bits, id) per slice, then this pass's (count, weight bits) per slice
@group(0) @binding(2) var<storage, read_write> part: array<u32>;
@group(0) @binding(3) var<storage, read_write> cand: array<u32>;

const WG: u32 = 64u;
// e^-17 = 4e-8: below one rounding step of the largest token's weight (1)
const CUT: f32 = 17.0;
var<workgroup> counts: array<u32, WG>;
var<workgroup> weights: array<f32, WG>;
var<workgroup> top: f32;

// Token i's weight exponent (l - m) inv_temp, as sample.wgsl computes it.
fn z(i: u32, m: f32) -> f32 {
    return (logits[p.row0 + i] - m) * p.inv_temp;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    // the largest logit, from the argmax pass's partials
    if (lid == 0u) {
        var m = bitcast<f32>(part[0]);
        for (var j = 1u; j < p.slices; j++) {
            m = max(m, bitcast<f32>(part[2u * j]));
        }
        top = m;
    }
    workgroupBarrier();
    let m = top;
    // each lane a contiguous run of the slice, so that the lanes' lists follow in id order
    let lo = wid.x * p.slice;
    let hi = min(p.vocab, lo + p.slice);
    let run = (p.slice + WG - 1u) / WG;
    let a = min(hi, lo + lid * run);
    let b = min(hi, a + run);
    var n = 0u;
    var w = 0.0;
    for (var i = a; i < b; i++) {
        let zi = z(i, m);
        w += exp(zi);
        n += select(0u, 1u, zi >= -CUT);
    }
    counts[lid] = n;
    weights[lid] = w;
    workgroupBarrier();
    var at = 0u;
    for (var j = 0u; j < lid; j++) {
        at += counts[j];
    }
    for (var i = a; i < b; i++) {
        if (z(i, m) >= -CUT) {
            if (at < p.cap) {
                cand[wid.x * p.cap + at] = i;
            }
            at++;
        }
    }
    let info = 2u * p.slices + 2u * wid.x;
    if (lid == WG - 1u) {
        part[info] = at; // the lanes before it and its own: the slice's count
    }
    if (lid == 0u) {
        var total = 0.0;
        for (var j = 0u; j < WG; j++) {
            total += weights[j];
        }
        part[info + 1u] = bitcast<u32>(total);
    }
}
