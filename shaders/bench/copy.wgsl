// Stream copy, the bandwidth microkernel of `bench`: dst = src, 16-byte loads and stores over a
// buffer far larger than any cache. Bytes read plus bytes written per second is the ceiling a
// weight-reading decode step is measured against.

struct Params {
    n: u32,      // vec4 elements
    iters: u32,  // (unused here: the multiply-add kernel's chain length)
    stride: u32, // invocations in the grid
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    for (var i = gid.x; i < p.n; i += p.stride) {
        dst[i] = src[i];
    }
}
