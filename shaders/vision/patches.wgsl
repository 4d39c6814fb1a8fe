// Patch unfold (nn.Unfold, spec §4.1) of one tile [3, S, S]: row n = gy * g + gx holds the
// patch's pixels ordered (channel, ky, kx), 3 * patch * patch wide.

struct Params {
    side: u32,  // S
    patch_size: u32, // p
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pixels: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let f = gid.x; // feature within the patch
    let n = gid.y; // patch
    let pp = p.patch_size * p.patch_size;
    let g = p.side / p.patch_size;
    if (f >= 3u * pp || n >= g * g) {
        return;
    }
    let c = f / pp;
    let ky = (f % pp) / p.patch_size;
    let kx = f % p.patch_size;
    let y = (n / g) * p.patch_size + ky;
    let x = (n % g) * p.patch_size + kx;
    out[n * 3u * pp + f] = pixels[(c * p.side + y) * p.side + x];
}
