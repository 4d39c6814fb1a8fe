// Router top-k (spec §2.7): per token, the k largest raw router logits (ties: lowest expert id),
// their expert ids and sigmoid scores. Scores are not renormalised. The ids stay on the GPU and
// drive the EXPERT_ID matmuls.

struct Params {
    n_experts: u32,
    k: u32,
    n_tokens: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t = gid.x;
    if (t >= p.n_tokens) {
        return;
    }
    for (var j = 0u; j < p.k; j++) {
        var best = -3.4e38;
        var best_e = 0u;
        var found = false;
        for (var e = 0u; e < p.n_experts; e++) {
            var taken = false;
            for (var jj = 0u; jj < j; jj++) {
                taken = taken || ids[t * p.k + jj] == e;
            }
            let v = logits[t * p.n_experts + e];
            if (!taken && (!found || v > best)) {
                best = v;
                best_e = e;
                found = true;
            }
        }
        ids[t * p.k + j] = best_e;
        scores[t * p.k + j] = 1.0 / (1.0 + exp(-best));
    }
}
