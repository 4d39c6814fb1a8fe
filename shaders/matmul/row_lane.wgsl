// matmul.wgsl's ROW_LANE entry point (CPU adapters): see the layouts there.

@compute @workgroup_size(LANE_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
#if SUBGROUP
    lane_id = lid;
#endif
    let r0 = ((wid.x + wid.z * p.wg_x) * LANE_WG + lid) * ROWS;
    let t0 = wid.y * TT;
    let row_bytes = p.row_blocks * BLOCK_BYTES;
    let rt = route(t0, row_bytes);
    if (!rt.live) {
        return; // the whole workgroup: its activation rows' expert is in another chunk
    }
    // Rows past n read row n - 1 (no branch in the loop) and are not stored; their lanes keep
    // going, in step with the others (SIMD lanes of one batch cost the same, live or not).
    let rb = row_bases(rt.base, r0, row_bytes);
    // each output's scale: 1 / rms of its token's input row with NORM (the 8 lanes share the
    // sum with SUBGROUP; tokens past the tile repeat its last, not stored), else 1
    var inv: array<f32, 8>;
    for (var tt = 0u; tt < TT; tt++) {
        inv[tt] = 1.0;
#if NORM
        let t = min(t0 + tt, p.n_tokens - 1u);
#if SUBGROUP
        inv[tt] = inv_rms(subgroupAdd(sumsq_part(t, lid, LANE_WG)));
#else
        inv[tt] = inv_rms(sumsq_part(t, 0u, 1u));
#endif
#endif
    }
    var acc: array<vec4<f32>, 8>;
#if SWIGLU
    // the same rows of up, n rows further
    let rb_up = row_bases(rt.base + p.n * row_bytes, r0, row_bytes);
    var acc_up: array<vec4<f32>, 8>;
#endif
    for (var unit = 0u; unit < p.row_blocks * UNITS; unit++) {
        let g = g32(unit_col(unit));
        add_unit(&acc, rb, unit, t0, rt.scale, rt.rows, g);
#if SWIGLU
        add_unit(&acc_up, rb_up, unit, t0, rt.scale, rt.rows, g);
#endif
    }
    for (var tt = 0u; tt < TT; tt++) {
#if SWIGLU
        store4(t0 + tt, r0, swiglu4(acc[tt] * inv[tt], acc_up[tt] * inv[tt]));
#else
        store4(t0 + tt, r0, acc[tt] * inv[tt]);
#endif
    }
}
