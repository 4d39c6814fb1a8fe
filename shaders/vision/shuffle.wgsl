// transformers' pixel_shuffle (spec §4.7) of one tile, class token dropped: x is [P + 1, c] with
// P = g * g, out is [(g/s)^2, c * s * s] with
// out[h2, w2, c4] = x[h2*s + c4 / (c*s), w2*s + (c4 % (c*s)) / c, c4 % c].

struct Params {
    grid: u32,   // g
    channels: u32, // c
    s: u32,      // 1 / pixel_shuffle_ratio
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c4 = gid.x;
    let n2 = gid.y;
    let g2 = p.grid / p.s;
    let cs = p.channels * p.s;
    if (c4 >= cs * p.s || n2 >= g2 * g2) {
        return;
    }
    let h = (n2 / g2) * p.s + c4 / cs;
    let c2 = c4 % cs;
    let w = (n2 % g2) * p.s + c2 / p.channels;
    out[n2 * cs * p.s + c4] = x[(h * p.grid + w) * p.channels + c2 % p.channels];
}
