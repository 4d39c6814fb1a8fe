// A tile's token rows (spec §4.2-3): the patch embeddings, then the class token last, each plus
// its positional embedding. `patches` rows of x come in from the patch matmul; the class row is
// written here.

struct Params {
    hidden: u32,
    patches: u32, // P; rows P + 1
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> class_emb: array<f32>;
@group(0) @binding(2) var<storage, read> pos: array<f32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = gid.x;
    let n = gid.y;
    if (e >= p.hidden || n > p.patches) {
        return;
    }
    let i = n * p.hidden + e;
    var v = 0.0;
    if (n == p.patches) {
        v = class_emb[e];
    } else {
        v = x[i];
    }
    x[i] = v + pos[i];
}
