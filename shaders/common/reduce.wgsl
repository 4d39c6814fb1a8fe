// Workgroup-wide f32 sum. The including shader declares `const WG: u32` (a power of two) and
// `var<workgroup> red: array<f32, WG>`. Call from uniform control flow: it holds barriers.
fn workgroup_sum(lid: u32, v: f32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red[lid] += red[lid + s];
        }
        workgroupBarrier();
    }
    let total = red[0];
    workgroupBarrier();
    return total;
}
