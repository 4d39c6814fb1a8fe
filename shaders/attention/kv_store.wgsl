// Appends this step's k and v rows to the layer's cache after attention has read them, two
// elements per invocation (KV_HALF: as one word of two f16, pack2x16float).
// Global layers keep every position (slot = pos). Chunked layers are a ring of `cap` slots and
// keep only the positions of the last chunk this step touched: no later query can see the rest.
//
// PACK (before attention_window.wgsl): this step's rows instead, in float32, head-major into
// k_cache / v_cache standing for the packed copies: row t of kv head g at g * p.pack_stride + t d,
// so a 64 KiB uniform window holds one head's consecutive keys (never with KV_HALF).

#include "common/attention_shape.wgsl"

#include "common/step.wgsl"

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
#if KV_HALF
@group(0) @binding(2) var<storage, read_write> k_cache: array<u32>;
@group(0) @binding(3) var<storage, read_write> v_cache: array<u32>;
#else
@group(0) @binding(2) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(3) var<storage, read_write> v_cache: array<f32>;
#endif
@group(0) @binding(4) var<uniform> step: Step;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = 2u * gid.x; // the row width (nkv * head_dim) is even
    let t = gid.y;
    let row = p.nkv * p.d;
    if (e >= row || t >= step.n_tokens) {
        return;
    }
    let pos = step.past + t;
#if PACK
    let dst = (e / p.d) * p.pack_stride + t * p.d + e % p.d;
#else
    if (p.chunk != 0u) {
        let last = step.past + step.n_tokens - 1u;
        if (pos < (last / p.chunk) * p.chunk) {
            return;
        }
    }
    let dst = (pos % p.cap) * row + e;
#endif
    let k = t * p.width + p.nh * p.d + e;
    let v = t * p.width + (p.nh + p.nkv) * p.d + e;
#if KV_HALF
    k_cache[dst / 2u] = pack2x16float(vec2<f32>(qkv[k], qkv[k + 1u]));
    v_cache[dst / 2u] = pack2x16float(vec2<f32>(qkv[v], qkv[v + 1u]));
#else
    k_cache[dst] = qkv[k];
    k_cache[dst + 1u] = qkv[k + 1u];
    v_cache[dst] = qkv[v];
    v_cache[dst + 1u] = qkv[v + 1u];
#endif
}
