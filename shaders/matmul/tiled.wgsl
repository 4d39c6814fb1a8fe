// matmul.wgsl's TILED entry point (GPUs, prompts of dense rows): see the layouts there.

// GPUs, prompts (dense rows only: a tile's tokens share its weights): a tiled GEMM. A workgroup
// computes TILE_N output rows for TILE_T tokens. For each 32-weight unit along k, half its
// invocations decode one row's unit into workgroup memory while the other half load the tokens'
// 32 activations; then each invocation accumulates a 4 x 4 register tile (rows tr + 16 i, tokens
// tc + 8 j) from workgroup memory. Every weight is decoded once per TILE_T tokens, every
// activation loaded once per TILE_N rows, and no split-k reduction remains.
const TILE_N: u32 = 64u;
const TILE_T: u32 = 32u;
const TILED_WG: u32 = 128u;
// vec4s per tile row: 8 + 1, so that neighbouring rows start 4 banks apart
const KS: u32 = 9u;
var<workgroup> w_tile: array<vec4<f32>, 576>; // TILE_N * KS
var<workgroup> x_tile: array<vec4<f32>, 288>; // TILE_T * KS

@compute @workgroup_size(TILED_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r0 = (wid.x + wid.z * p.wg_x) * TILE_N;
    let t0 = wid.y * TILE_T;
    let row_bytes = p.row_blocks * BLOCK_BYTES;
    let rt = route(t0, row_bytes);
    // the decoding half: row r0 + lid (rows past n read row n - 1 and are not stored)
    let my_row = rt.base + min(r0 + lid % TILE_N, max(p.n, 1u) - 1u) * row_bytes;
    let tr = lid % 16u;
    let tc = lid / 16u;
    var acc: array<vec4<f32>, 4>; // acc[j][i]: row r0 + tr + 16 i, token t0 + tc + 8 j
    // inv[j]: the scale of token t0 + tc + 8 j's outputs, 1 / rms of its input row with NORM (four
    // invocations sum each token's squares, their parts passing through x_tile), else 1
    var inv = vec4<f32>(1.0);
#if NORM
    x_tile[lid].x = sumsq_part(min(t0 + lid / 4u, p.n_tokens - 1u), lid % 4u, 4u);
    workgroupBarrier();
    for (var j = 0u; j < 4u; j++) {
        let b = (tc + 8u * j) * 4u;
        inv[j] = inv_rms(x_tile[b].x + x_tile[b + 1u].x + x_tile[b + 2u].x + x_tile[b + 3u].x);
    }
    workgroupBarrier();
#endif
    for (var unit = 0u; unit < p.row_blocks * UNITS; unit++) {
        let blk = unit / UNITS;
        let u = unit % UNITS;
        let e = blk * BLOCK_ELEMS + 32u * u;
        if (lid < TILE_N) {
            let wv = unit_w(my_row + blk * BLOCK_BYTES, u);
            let o = lid * KS;
            w_tile[o] = wv.a0;
            w_tile[o + 1u] = wv.a1;
            w_tile[o + 2u] = wv.a2;
            w_tile[o + 3u] = wv.a3;
            w_tile[o + 4u] = wv.a4;
            w_tile[o + 5u] = wv.a5;
            w_tile[o + 6u] = wv.a6;
            w_tile[o + 7u] = wv.a7;
        } else {
            // 4 of the tile's TILE_T * 8 activation vec4s; tokens past the prompt repeat its
            // last one (finite, not stored)
            for (var q = 0u; q < 4u; q++) {
                let idx = lid - TILE_N + 64u * q;
                let tt = idx / 8u;
                let t = min(t0 + tt, p.n_tokens - 1u);
                let c = e + 4u * (idx % 8u);
#if NORM
                let g = norm_w[c >> 2u];
#else
                let g = rt.scale;
#endif
                x_tile[tt * KS + idx % 8u] = xv4(x_base(t) + c) * g;
            }
        }
        workgroupBarrier();
        for (var kk = 0u; kk < 8u; kk++) {
            let w0 = w_tile[tr * KS + kk];
            let w1 = w_tile[(tr + 16u) * KS + kk];
            let w2 = w_tile[(tr + 32u) * KS + kk];
            let w3 = w_tile[(tr + 48u) * KS + kk];
            for (var j = 0u; j < 4u; j++) {
                let xv = x_tile[(tc + 8u * j) * KS + kk];
                acc[j] += vec4<f32>(dot4(w0, xv), dot4(w1, xv), dot4(w2, xv), dot4(w3, xv));
            }
        }
        workgroupBarrier();
    }
    for (var j = 0u; j < 4u; j++) {
        let t = t0 + tc + 8u * j;
        for (var i = 0u; i < 4u; i++) {
            let row = r0 + tr + 16u * i;
            if (row < p.n && t < p.n_tokens && rt.live) {
                let o = t * p.out_stride + p.out_col0 + row;
                let v = acc[j][i] * inv[j];
                if (p.accumulate != 0u) {
                    out[o] += v;
                } else {
                    out[o] = v;
                }
            }
        }
    }
}
