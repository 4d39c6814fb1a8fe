// Workgroup-wide argmax of (value, id) pairs, ties to the lowest id; id NO_ID is an empty slot.
// The including shader declares `const WG: u32` (a power of two). Call from uniform control flow:
// it holds barriers.

const NO_ID: u32 = 0xffffffffu;

var<workgroup> am_v: array<f32, WG>;
var<workgroup> am_i: array<u32, WG>;

struct ArgMax {
    v: f32,
    i: u32,
}

// Whether (v, i) beats the best so far (bv, bi).
fn beats(v: f32, i: u32, bv: f32, bi: u32) -> bool {
    return i != NO_ID && (bi == NO_ID || v > bv || (v == bv && i < bi));
}

fn workgroup_argmax(lid: u32, v: f32, i: u32) -> ArgMax {
    am_v[lid] = v;
    am_i[lid] = i;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s && beats(am_v[lid + s], am_i[lid + s], am_v[lid], am_i[lid])) {
            am_v[lid] = am_v[lid + s];
            am_i[lid] = am_i[lid + s];
        }
        workgroupBarrier();
    }
    let r = ArgMax(am_v[0], am_i[0]);
    workgroupBarrier();
    return r;
}
