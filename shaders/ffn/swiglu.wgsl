// SwiGLU activation on fused gate|up rows: out[r, i] = silu(gu[r, i]) * gu[r, width + i].

struct Params {
    width: u32,
    rows: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gu: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let r = gid.y;
    if (i >= p.width || r >= p.rows) {
        return;
    }
    let g = gu[r * 2u * p.width + i];
    let u = gu[r * 2u * p.width + p.width + i];
    out[r * p.width + i] = g / (1.0 + exp(-g)) * u;
}
