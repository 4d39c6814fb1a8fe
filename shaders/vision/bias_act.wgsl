// In place on rows of width n: x = act(x + bias), the activation exact GELU or none (gelu): the
// vision tower's biases and activations (layers without a bias pass zeros).

struct Params {
    n: u32,
    rows: u32,
    gelu: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;

// erf to float32 precision (Abramowitz & Stegun 7.1.26 has 1.5e-7 absolute error; this uses
// the W. J. Cody-style rational form of Numerical Recipes' erfc, 1.2e-7 relative).
fn erf_(v: f32) -> f32 {
    let z = abs(v);
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
        + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
        + t * (-0.82215223 + t * 0.17087277)))))))));
    return select(r - 1.0, 1.0 - r, v >= 0.0);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    let r = gid.y + gid.z * 65535u;
    if (c >= p.n || r >= p.rows) {
        return;
    }
    var v = x[r * p.n + c] + bias[c];
    if (p.gelu != 0u) {
        v = 0.5 * v * (1.0 + erf_(v * 0.70710678118654752));
    }
    x[r * p.n + c] = v;
}
