// Adds the routed experts' outputs to the residual stream: h[t, c] += sum_j y[row(t k + j), c],
// where row(a) = a, or with GROUPED (rows sorted by expert, see group.wgsl) slot[a].

struct Params {
    hidden: u32,
    k: u32,
    n_tokens: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;
#if GROUPED
@group(0) @binding(3) var<storage, read> slot: array<u32>;
#endif

fn row(a: u32) -> u32 {
#if GROUPED
    return slot[a];
#else
    return a;
#endif
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    let t = gid.y;
    if (c >= p.hidden || t >= p.n_tokens) {
        return;
    }
    var sum = 0.0;
    for (var j = 0u; j < p.k; j++) {
        sum += y[row(t * p.k + j) * p.hidden + c];
    }
    h[t * p.hidden + c] += sum;
}
