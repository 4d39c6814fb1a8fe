// Image features into the prompt (spec §4.10): after the embedding gather, the row of each
// `<|patch|>` token is replaced by its feature row. `rows[i]` is the feature row of prompt
// position pos0 + i (0xffffffff for text tokens); the host builds it from the ids, in order.

#include "common/step.wgsl"

struct Params {
    hidden: u32,
    pos0: u32,  // the prompt's first position
    n_pos: u32, // entries in `rows`
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> rows: array<u32>;
@group(0) @binding(2) var<storage, read> features: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> step: Step;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = gid.x;
    let t = gid.y;
    if (e >= p.hidden || t >= step.n_tokens) {
        return;
    }
    let i = step.past + t - p.pos0;
    if (i >= p.n_pos) {
        return;
    }
    let r = rows[i];
    if (r != 0xffffffffu) {
        out[t * p.hidden + e] = features[r * p.hidden + e];
    }
}
