// Appends this step's k and v rows to the layer's cache after attention has read them.
// Global layers keep every position (slot = pos). Chunked layers are a ring of `cap` slots and
// keep only the positions of the last chunk this step touched: no later query can see the rest.

#include "common/attention_shape.wgsl"

#include "common/step.wgsl"

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(3) var<storage, read_write> v_cache: array<f32>;
@group(0) @binding(4) var<uniform> step: Step;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = gid.x;
    let t = gid.y;
    let row = p.nkv * p.d;
    if (e >= row || t >= step.n_tokens) {
        return;
    }
    let pos = step.past + t;
    if (p.chunk != 0u) {
        let last = step.past + step.n_tokens - 1u;
        if (pos < (last / p.chunk) * p.chunk) {
            return;
        }
    }
    let slot = pos % p.cap;
    k_cache[slot * row + e] = qkv[t * p.width + p.nh * p.d + e];
    v_cache[slot * row + e] = qkv[t * p.width + (p.nh + p.nkv) * p.d + e];
}
