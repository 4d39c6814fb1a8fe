//! Plain f32 implementations of every op, written for clarity. Shapes are row-major.

/// RMSNorm of each row of `x` [rows, n]: `x * rsqrt(mean(x^2) + eps) * w` (weight optional).
pub fn rmsnorm(x: &[f32], w: Option<&[f32]>, n: usize, eps: f32) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks_exact(n) {
        let ms = row.iter().map(|v| v * v).sum::<f32>() / n as f32;
        let s = 1.0 / (ms + eps).sqrt();
        out.extend(row.iter().enumerate().map(|(i, v)| v * s * w.map(|w| w[i]).unwrap_or(1.0)));
    }
    out
}

/// `y[t, n] = sum_k w[n, k] x[t, k]`; w is [rows, cols].
pub fn matmul(w: &[f32], rows: usize, cols: usize, x: &[f32]) -> Vec<f32> {
    let t = x.len() / cols;
    let mut y = vec![0.0; t * rows];
    for ti in 0..t {
        let xr = &x[ti * cols..(ti + 1) * cols];
        for r in 0..rows {
            y[ti * rows + r] = w[r * cols..(r + 1) * cols].iter().zip(xr).map(|(a, b)| a * b).sum();
        }
    }
    y
}

/// Interleaved-pair RoPE of one head vector at angle table `cos_sin` (d/2 pairs of (cos, sin)).
pub fn rope_interleaved(x: &mut [f32], cos_sin: &[f32]) {
    for j in 0..x.len() / 2 {
        let (c, s) = (cos_sin[2 * j], cos_sin[2 * j + 1]);
        let (a, b) = (x[2 * j], x[2 * j + 1]);
        x[2 * j] = a * c - b * s;
        x[2 * j + 1] = a * s + b * c;
    }
}

/// cos/sin per pair for one absolute position (float32 angle, as torch computes it).
pub fn rope_table(inv_freq: &[f32], pos: usize) -> Vec<f32> {
    inv_freq
        .iter()
        .flat_map(|&f| {
            let a = pos as f32 * f;
            [(a as f64).cos() as f32, (a as f64).sin() as f32]
        })
        .collect()
}

pub fn silu(x: f32) -> f32 {
    x / (1.0 + (-x).exp())
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// `silu(gu[:, :w]) * gu[:, w:]` for rows of width 2w.
pub fn swiglu(gu: &[f32], w: usize) -> Vec<f32> {
    gu.chunks_exact(2 * w).flat_map(|r| (0..w).map(move |i| silu(r[i]) * r[w + i])).collect()
}

/// Top-k of each row of `logits` [T, E]: (ids, sigmoid scores), ties to the lowest id.
pub fn router_topk(logits: &[f32], e: usize, k: usize) -> (Vec<u32>, Vec<f32>) {
    let (mut ids, mut scores) = (vec![], vec![]);
    for row in logits.chunks_exact(e) {
        let mut order: Vec<usize> = (0..e).collect();
        order.sort_by(|&a, &b| row[b].partial_cmp(&row[a]).unwrap().then(a.cmp(&b)));
        for &i in &order[..k] {
            ids.push(i as u32);
            scores.push(sigmoid(row[i]));
        }
    }
    (ids, scores)
}

/// The expert id bit that marks a padding row in [`moe_group`]'s rows.
pub const PAD_ROW: u32 = 1 << 31;

/// The routed assignments sorted by expert, stably, each expert's run padded to whole tiles of
/// `tile` rows, in `n_rows` rows: (expert of each row, [`PAD_ROW`] set on padding rows, or
/// `u32::MAX` past the last tile;
/// assignment of each row, or `u32::MAX` for padding; row of each assignment).
pub fn moe_group(ids: &[u32], n_experts: usize, tile: usize, n_rows: usize) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let (mut expert, mut src, mut slot) = (vec![u32::MAX; n_rows], vec![u32::MAX; n_rows], vec![0; ids.len()]);
    let mut r = 0;
    for e in 0..n_experts as u32 {
        let run = r;
        for (a, _) in ids.iter().enumerate().filter(|&(_, &id)| id == e) {
            (expert[r], src[r], slot[a]) = (e, a as u32, r as u32);
            r += 1;
        }
        while r > run && r % tile != 0 {
            expert[r] = e | PAD_ROW;
            r += 1;
        }
    }
    (expert, src, slot)
}

/// Causal attention for T queries at positions `pos0..pos0+T` over keys/values at positions
/// `0..pos0+T` (`k`, `v`: [S, nkv, d]). `chunk = 0` is global. Returns [T, nh, d].
#[allow(clippy::too_many_arguments)]
pub fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    nh: usize,
    nkv: usize,
    d: usize,
    pos0: usize,
    chunk: usize,
) -> Vec<f32> {
    let t = q.len() / (nh * d);
    let mut out = vec![0.0; t * nh * d];
    for ti in 0..t {
        let p = pos0 + ti;
        let lo = p.checked_div(chunk).map_or(0, |c| c * chunk);
        for h in 0..nh {
            attend(q, k, v, (ti, h), (nh, nkv, d), lo..p + 1, &mut out);
        }
    }
    out
}

/// Bidirectional multi-head attention over all T tokens (the vision encoder): [T, nh, d] in and out.
pub fn attention_full(q: &[f32], k: &[f32], v: &[f32], nh: usize, d: usize) -> Vec<f32> {
    let t = q.len() / (nh * d);
    let mut out = vec![0.0; t * nh * d];
    for ti in 0..t {
        for h in 0..nh {
            attend(q, k, v, (ti, h), (nh, nh, d), 0..t, &mut out);
        }
    }
    out
}

/// Softmax attention of query `(token, head)` over the keys in `keys`, scale `d^-0.5`.
fn attend(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    (ti, h): (usize, usize),
    (nh, nkv, d): (usize, usize, usize),
    keys: std::ops::Range<usize>,
    out: &mut [f32],
) {
    let kvh = h / (nh / nkv);
    let scale = (d as f32).powf(-0.5);
    let qv = &q[(ti * nh + h) * d..(ti * nh + h + 1) * d];
    let scores: Vec<f32> = keys
        .clone()
        .map(|s| {
            qv.iter().zip(&k[(s * nkv + kvh) * d..(s * nkv + kvh + 1) * d]).map(|(a, b)| a * b).sum::<f32>() * scale
        })
        .collect();
    let m = scores.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = scores.iter().map(|s| (s - m).exp()).collect();
    let z: f32 = e.iter().sum();
    for (j, s) in keys.enumerate() {
        let vv = &v[(s * nkv + kvh) * d..(s * nkv + kvh + 1) * d];
        for i in 0..d {
            out[(ti * nh + h) * d + i] += e[j] / z * vv[i];
        }
    }
}

/// LayerNorm of each row of `x` [rows, n] with weight and bias (torch's biased variance).
pub fn layernorm(x: &[f32], w: &[f32], b: &[f32], n: usize, eps: f32) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks_exact(n) {
        let mean = row.iter().sum::<f32>() / n as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n as f32;
        let s = 1.0 / (var + eps).sqrt();
        out.extend(row.iter().enumerate().map(|(i, v)| (v - mean) * s * w[i] + b[i]));
    }
    out
}

/// Exact GELU, `x * (1 + erf(x / sqrt 2)) / 2` (torch's `nn.GELU()`).
pub fn gelu(x: f32) -> f32 {
    let x = f64::from(x);
    (0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))) as f32
}

/// Adds a bias row to every row of `x`.
pub fn add_bias(x: &mut [f32], b: &[f32]) {
    for row in x.chunks_exact_mut(b.len()) {
        row.iter_mut().zip(b).for_each(|(x, b)| *x += b);
    }
}

/// One image tile's patches as rows `[g*g, 3*p*p]`, features ordered (channel, ky, kx) as
/// `nn.Unfold` gives them; `tile` is `[3, g*p, g*p]`.
pub fn unfold_patches(tile: &[f32], side: usize, p: usize) -> Vec<f32> {
    let g = side / p;
    let mut out = Vec::with_capacity(tile.len());
    for gy in 0..g {
        for gx in 0..g {
            for c in 0..3 {
                for ky in 0..p {
                    let row = &tile[(c * side + gy * p + ky) * side + gx * p..][..p];
                    out.extend_from_slice(row);
                }
            }
        }
    }
    out
}

/// transformers' `pixel_shuffle` with ratio `1/s` on one tile `[g*g, c]`: out `[(g/s)^2, c*s*s]`,
/// `out[h2, w2, c4] = in[h2*s + c4 / (c*s), w2*s + (c4 % (c*s)) / c, c4 % c]`.
pub fn pixel_shuffle(x: &[f32], g: usize, c: usize, s: usize) -> Vec<f32> {
    let g2 = g / s;
    let c4n = c * s * s;
    let mut out = vec![0.0; g2 * g2 * c4n];
    for h2 in 0..g2 {
        for w2 in 0..g2 {
            for c4 in 0..c4n {
                let h = h2 * s + c4 / (c * s);
                let c2 = c4 % (c * s);
                let w = w2 * s + c2 / c;
                out[(h2 * g2 + w2) * c4n + c4] = x[(h * g + w) * c + c2 % c];
            }
        }
    }
    out
}

/// The order-preserving key the sampler thresholds on.
pub fn sample_key(v: f32) -> u32 {
    let b = v.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

pub fn pcg(v: u32) -> u32 {
    let state = v.wrapping_mul(747796405).wrapping_add(2891336453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277803737);
    (word >> 22) ^ word
}

/// The GPU sampler's algorithm on the CPU: argmax when greedy; else temperature, top-k, top-p
/// and an inverse-CDF draw with the uniform `pcg(seed ^ pcg(counter))`. Returns the kept set too.
pub fn sample(logits: &[f32], temperature: f32, top_k: usize, top_p: f32, seed: u32, counter: u32) -> (u32, Vec<u32>) {
    let v = logits.len();
    let arg = (0..v).fold(0, |b, i| if logits[i] > logits[b] { i } else { b });
    if temperature <= 0.0 {
        return (arg as u32, vec![arg as u32]);
    }
    let m = logits[arg];
    let inv_t = 1.0 / temperature;
    let mut thr = 0u32;
    if top_k > 0 && top_k < v {
        let mut keys: Vec<u32> = logits.iter().map(|&l| sample_key(l)).collect();
        keys.sort_unstable_by(|a, b| b.cmp(a));
        thr = keys[top_k - 1];
    }
    let mass = |t: u32| logits.iter().filter(|&&l| sample_key(l) >= t).map(|&l| ((l - m) * inv_t).exp()).sum::<f32>();
    if top_p < 1.0 {
        let goal = top_p * mass(thr);
        let mut order: Vec<usize> = (0..v).filter(|&i| sample_key(logits[i]) >= thr).collect();
        order.sort_by(|&a, &b| logits[b].partial_cmp(&logits[a]).unwrap());
        let mut acc = 0.0;
        for &i in &order {
            acc += ((logits[i] - m) * inv_t).exp();
            if acc >= goal {
                thr = thr.max(sample_key(logits[i]));
                break;
            }
        }
    }
    let kept: Vec<u32> = (0..v as u32).filter(|&i| sample_key(logits[i as usize]) >= thr).collect();
    let u = (pcg(seed ^ pcg(counter)) >> 8) as f32 / 16777216.0;
    let mut rest = u * mass(thr);
    let mut chosen = *kept.last().unwrap();
    for &i in &kept {
        rest -= ((logits[i as usize] - m) * inv_t).exp();
        if rest < 0.0 {
            chosen = i;
            break;
        }
    }
    (chosen, kept)
}
