// 2D RoPE of the vision tower (spec §4.5) on the q and k parts of fused qkv rows [T, 3 * hidden]:
// complex pair j of every head turns by the angle `table` holds for its token (cos, sin per
// pair, the class token's angle 0); the same table serves every head.

struct Params {
    hidden: u32,
    head_dim: u32,
    tokens: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read_write> qkv: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let pair = gid.x; // over q and k of all heads: 2 * hidden / 2 pairs
    let t = gid.y;
    if (pair >= p.hidden || t >= p.tokens) {
        return;
    }
    let j = pair % (p.head_dim / 2u);
    let c = table[(t * p.head_dim / 2u + j) * 2u];
    let s = table[(t * p.head_dim / 2u + j) * 2u + 1u];
    let i = t * 3u * p.hidden + 2u * pair; // q pairs, then k pairs (k starts at hidden)
    let a = qkv[i];
    let b = qkv[i + 1u];
    qkv[i] = a * c - b * s;
    qkv[i + 1u] = a * s + b * c;
}
