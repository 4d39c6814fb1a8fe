// Workgroup-wide f32 sum. The including shader declares `const WG: u32` (a power of two) and
// `var<workgroup> red: array<f32, WG>`, and its entry point takes a `Lane` (the invocation's
// place in the workgroup). Call from uniform control flow: it holds barriers.
//
// SUBGROUP (adapters with subgroups): each subgroup sums in registers, one partial per subgroup
// goes through workgroup memory. Otherwise a tree over workgroup memory, log2(WG) barriers.

#include "common/lane.wgsl"

fn workgroup_sum(lane: Lane, v: f32) -> f32 {
#if SUBGROUP
    let s = subgroupAdd(v);
    if (lane.sg_lane == 0u) {
        red[lane.sg] = s;
    }
    workgroupBarrier();
    var total = 0.0;
    for (var i = 0u; i < lane.n_sg; i++) {
        total += red[i];
    }
#else
    let lid = lane.index;
    red[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red[lid] += red[lid + s];
        }
        workgroupBarrier();
    }
    let total = red[0];
#endif
    workgroupBarrier();
    return total;
}
