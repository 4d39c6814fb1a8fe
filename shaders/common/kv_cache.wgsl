// The layer's KV cache (bindings 2 and 3) and how an element group is read: f32, or f16
// packed two per word (KV_HALF) and unpacked to f32 math, or read as vec4<f16> for f16 math
// (KV_HALF with F16, adapters with shader-f16). Shared by the attention kernels.

#if F16
alias kv = f16;
#else
alias kv = f32;
#endif
alias kv4 = vec4<kv>;
#if KV_HALF
#if F16
@group(0) @binding(2) var<storage, read> k_cache: array<vec4<f16>>;
@group(0) @binding(3) var<storage, read> v_cache: array<vec4<f16>>;
fn kv_load(c: vec4<f16>) -> kv4 {
    return c;
}
#else
@group(0) @binding(2) var<storage, read> k_cache: array<vec2<u32>>; // four halves
@group(0) @binding(3) var<storage, read> v_cache: array<vec2<u32>>;
fn kv_load(c: vec2<u32>) -> kv4 {
    return kv4(unpack2x16float(c.x), unpack2x16float(c.y));
}
#endif
#else
@group(0) @binding(2) var<storage, read> k_cache: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v_cache: array<vec4<f32>>;
fn kv_load(c: vec4<f32>) -> kv4 {
    return kv4(c);
}
#endif
