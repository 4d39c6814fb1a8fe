// Register multiply-adds, the arithmetic microkernel of `bench`: eight independent vec4 chains of
// `iters` fused multiply-adds per invocation (64 f32 FLOPs an iteration), seeded from memory and
// written back so nothing folds away. The f32 FLOP rate a prefill is measured against.

struct Params {
    n: u32,      // vec4 elements of src and dst (at least the invocations)
    iters: u32,
    stride: u32, // (unused here: the copy kernel's grid size)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x % p.n;
    let s = src[i];
    let m = vec4<f32>(0.9999);
    var a0 = s;
    var a1 = s + 1.0;
    var a2 = s + 2.0;
    var a3 = s + 3.0;
    var a4 = s + 4.0;
    var a5 = s + 5.0;
    var a6 = s + 6.0;
    var a7 = s + 7.0;
    for (var k = 0u; k < p.iters; k++) {
        a0 = fma(a0, m, s);
        a1 = fma(a1, m, s);
        a2 = fma(a2, m, s);
        a3 = fma(a3, m, s);
        a4 = fma(a4, m, s);
        a5 = fma(a5, m, s);
        a6 = fma(a6, m, s);
        a7 = fma(a7, m, s);
    }
    dst[i] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}
