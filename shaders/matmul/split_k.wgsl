// matmul.wgsl's default entry point (GPUs): see the layouts there.

#include "common/lane.wgsl"

var<workgroup> red: array<vec4<f32>, 512>; // WG * max TT partial sums of the ROWS rows
#if NORM
var<workgroup> red_sq: array<f32, 512>; // WG * max TT partial sums of squares of the input rows
#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, lane: Lane) {
    let lid = lane.index;
    let r0 = (wid.x + wid.z * p.wg_x) * ROWS;
    let t0 = wid.y * TT;
    let row_bytes = p.row_blocks * BLOCK_BYTES;
    let rt = route(t0, row_bytes);
    let live = r0 < p.n && rt.live;
    let rb = row_bases(rt.base, r0, row_bytes);
    var acc: array<vec4<f32>, 8>;
    let units = select(0u, p.row_blocks * UNITS, live);
    for (var unit = lid; unit < units; unit += WG) {
        add_unit(&acc, rb, unit, t0, rt.scale, rt.rows, g32(unit_col(unit)));
    }
#if NORM
    // the sums of squares of the tokens' input rows, reduced beside the dot products
    var sq: array<f32, 8>;
    for (var tt = 0u; tt < TT; tt++) {
        sq[tt] = sumsq_part(min(t0 + tt, p.n_tokens - 1u), lid, WG);
    }
#endif
#if SUBGROUP
    // one partial per subgroup and token
    for (var tt = 0u; tt < TT; tt++) {
        let s = subgroupAdd(acc[tt]);
#if NORM
        let q = subgroupAdd(sq[tt]);
#endif
        if (lane.sg_lane == 0u) {
            red[tt * WG + lane.sg] = s;
#if NORM
            red_sq[tt * WG + lane.sg] = q;
#endif
        }
    }
    let parts = lane.n_sg;
#else
    for (var tt = 0u; tt < TT; tt++) {
        red[tt * WG + lid] = acc[tt];
#if NORM
        red_sq[tt * WG + lid] = sq[tt];
#endif
    }
    let parts = WG;
#endif
    workgroupBarrier();
    if (live && lid < TT) {
        var sum = vec4<f32>(0.0);
        for (var j = 0u; j < parts; j++) {
            sum += red[lid * WG + j];
        }
#if NORM
        var sumsq = 0.0;
        for (var j = 0u; j < parts; j++) {
            sumsq += red_sq[lid * WG + j];
        }
        sum *= inv_rms(sumsq);
#endif
        store4(t0 + lid, r0, sum);
    }
}
