// The grouped experts' input: row r of the sorted rows (see group.wgsl) is the token row of its
// assignment a = src[r], scaled by the router score (the score scales the expert's *input*,
// spec §2.7): out[r, :] = x[a / k, :] * scores[a]; padding rows are zero.

struct Params {
    hidden: u32,
    k: u32,
    n_rows: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<u32>;
@group(0) @binding(3) var<storage, read> scores: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const NONE: u32 = 0xffffffffu;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    let r = gid.y;
    if (c >= p.hidden || r >= p.n_rows) {
        return;
    }
    let a = src[r];
    var v = 0.0;
    if (a != NONE) {
        v = x[(a / p.k) * p.hidden + c] * scores[a];
    }
    out[r * p.hidden + c] = v;
}
