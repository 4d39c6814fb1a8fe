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
    let group = nh / nkv;
    let scale = (d as f32).powf(-0.5);
    let mut out = vec![0.0; t * nh * d];
    for ti in 0..t {
        let p = pos0 + ti;
        let lo = p.checked_div(chunk).map_or(0, |c| c * chunk);
        for h in 0..nh {
            let kvh = h / group;
            let qv = &q[(ti * nh + h) * d..(ti * nh + h + 1) * d];
            let scores: Vec<f32> = (lo..=p)
                .map(|s| {
                    qv.iter().zip(&k[(s * nkv + kvh) * d..(s * nkv + kvh + 1) * d]).map(|(a, b)| a * b).sum::<f32>()
                        * scale
                })
                .collect();
            let m = scores.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f32> = scores.iter().map(|s| (s - m).exp()).collect();
            let z: f32 = e.iter().sum();
            for (j, s) in (lo..=p).enumerate() {
                let vv = &v[(s * nkv + kvh) * d..(s * nkv + kvh + 1) * d];
                for i in 0..d {
                    out[(ti * nh + h) * d + i] += e[j] / z * vv[i];
                }
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
