//! The test oracle: a plain f32 CPU implementation of every op ([`ops`]) and of the whole forward
//! pass ([`CpuModel`]), written to read like spec §2 with no caching or fusion.

pub mod ops;
pub mod vision;

use crate::config::{AttentionKind, FfnKind, TextConfig};
use crate::error::Result;
use crate::loader::{TensorSource, WeightNames};

struct CpuLayer {
    input_norm: Vec<f32>,
    post_norm: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    o: Vec<f32>,
    /// Dense: (gate, up, down); MoE: the shared expert.
    gate: Vec<f32>,
    up: Vec<f32>,
    down: Vec<f32>,
    /// MoE only: router [E, H], experts gate_up [E, H, 2I] and down [E, I, H] (HF's fused layout).
    router: Vec<f32>,
    experts_gate_up: Vec<f32>,
    experts_down: Vec<f32>,
}

pub struct CpuModel {
    pub cfg: TextConfig,
    embed: Vec<f32>,
    lm_head: Vec<f32>,
    norm: Vec<f32>,
    layers: Vec<CpuLayer>,
}

impl CpuModel {
    pub fn load(cfg: &TextConfig, ck: &dyn TensorSource) -> Result<Self> {
        let names = WeightNames::new(cfg.architecture);
        let (h, d, nh, nkv, v) =
            (cfg.hidden_size, cfg.head_dim, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.vocab_size);
        let get = |name: &str, shape: &[usize]| -> Result<Vec<f32>> { Ok(ck.get(name, shape)?.to_f32()) };
        let embed = get(&names.embed(), &[v, h])?;
        let lm_head = if cfg.tie_word_embeddings { embed.clone() } else { get(&names.lm_head(), &[v, h])? };
        let mut layers = vec![];
        for (i, plan) in cfg.layers.iter().enumerate() {
            let n = |r: &str| names.layer(i, r);
            let (width, ff) = match plan.ffn {
                FfnKind::Dense => (cfg.intermediate_size_mlp, "feed_forward."),
                FfnKind::Moe => (cfg.intermediate_size, "feed_forward.shared_expert."),
            };
            let (e, w) = (cfg.num_local_experts, cfg.intermediate_size);
            let moe = plan.ffn == FfnKind::Moe;
            layers.push(CpuLayer {
                input_norm: get(&n("input_layernorm.weight"), &[h])?,
                post_norm: get(&n("post_attention_layernorm.weight"), &[h])?,
                q: get(&n("self_attn.q_proj.weight"), &[nh * d, h])?,
                k: get(&n("self_attn.k_proj.weight"), &[nkv * d, h])?,
                v: get(&n("self_attn.v_proj.weight"), &[nkv * d, h])?,
                o: get(&n("self_attn.o_proj.weight"), &[h, nh * d])?,
                gate: get(&n(&format!("{ff}gate_proj.weight")), &[width, h])?,
                up: get(&n(&format!("{ff}up_proj.weight")), &[width, h])?,
                down: get(&n(&format!("{ff}down_proj.weight")), &[h, width])?,
                router: if moe { get(&n("feed_forward.router.weight"), &[e, h])? } else { vec![] },
                experts_gate_up: if moe {
                    get(&n("feed_forward.experts.gate_up_proj"), &[e, h, 2 * w])?
                } else {
                    vec![]
                },
                experts_down: if moe { get(&n("feed_forward.experts.down_proj"), &[e, w, h])? } else { vec![] },
            });
        }
        Ok(CpuModel { cfg: cfg.clone(), embed, lm_head, norm: get(&names.norm(), &[h])?, layers })
    }

    /// Logits `[T, vocab]` for `ids` at positions `0..T`, recomputed from scratch.
    pub fn forward(&self, ids: &[u32]) -> Vec<f32> {
        self.forward_merged(ids, &[], u32::MAX)
    }

    /// [`CpuModel::forward`] with image features: the embedding rows of the `patch_id` tokens
    /// are replaced, in order, by the rows of `features` (`[n_patch, hidden]`), spec §4.10.
    pub fn forward_merged(&self, ids: &[u32], features: &[f32], patch_id: u32) -> Vec<f32> {
        let cfg = &self.cfg;
        let (h, d, nh, nkv) = (cfg.hidden_size, cfg.head_dim, cfg.num_attention_heads, cfg.num_key_value_heads);
        let t = ids.len();
        let inv_freq = cfg.rope_inv_freq();
        let mut rows = features.chunks_exact(h);
        let mut x: Vec<f32> = ids
            .iter()
            .flat_map(|&i| match (i == patch_id).then(|| rows.next()).flatten() {
                Some(row) => row.to_vec(),
                None => self.embed[i as usize * h..(i as usize + 1) * h].to_vec(),
            })
            .collect();
        for (l, plan) in self.layers.iter().zip(&cfg.layers) {
            // attention block
            let xn = ops::rmsnorm(&x, Some(&l.input_norm), h, cfg.rms_norm_eps);
            let mut q = ops::matmul(&l.q, nh * d, h, &xn);
            let mut k = ops::matmul(&l.k, nkv * d, h, &xn);
            let v = ops::matmul(&l.v, nkv * d, h, &xn);
            let chunk = match plan.attention {
                AttentionKind::ChunkedRope => {
                    for p in 0..t {
                        let table = ops::rope_table(&inv_freq, p);
                        for head in q[p * nh * d..(p + 1) * nh * d]
                            .chunks_exact_mut(d)
                            .chain(k[p * nkv * d..(p + 1) * nkv * d].chunks_exact_mut(d))
                        {
                            ops::rope_interleaved(head, &table);
                        }
                    }
                    if cfg.use_qk_norm {
                        q = ops::rmsnorm(&q, None, d, cfg.rms_norm_eps);
                        k = ops::rmsnorm(&k, None, d, cfg.rms_norm_eps);
                    }
                    cfg.attention_chunk_size
                }
                AttentionKind::GlobalNope => {
                    for p in 0..t {
                        let s = cfg.attn_temperature(p);
                        q[p * nh * d..(p + 1) * nh * d].iter_mut().for_each(|v| *v *= s);
                    }
                    0
                }
            };
            let a = ops::attention(&q, &k, &v, nh, nkv, d, 0, chunk);
            let o = ops::matmul(&l.o, h, nh * d, &a);
            x.iter_mut().zip(&o).for_each(|(x, o)| *x += o);
            // feed-forward block
            let xn = ops::rmsnorm(&x, Some(&l.post_norm), h, cfg.rms_norm_eps);
            let swiglu_mlp = |xn: &[f32]| {
                let w = l.gate.len() / h;
                let g = ops::matmul(&l.gate, w, h, xn);
                let u = ops::matmul(&l.up, w, h, xn);
                let act: Vec<f32> = g.iter().zip(&u).map(|(g, u)| ops::silu(*g) * u).collect();
                ops::matmul(&l.down, h, w, &act)
            };
            let mut out = swiglu_mlp(&xn);
            if plan.ffn == FfnKind::Moe {
                let (e, w, topk) = (cfg.num_local_experts, cfg.intermediate_size, cfg.num_experts_per_tok);
                let logits = ops::matmul(&l.router, e, h, &xn);
                let (ids, scores) = ops::router_topk(&logits, e, topk);
                for ti in 0..t {
                    for j in 0..topk {
                        let (ex, s) = (ids[ti * topk + j] as usize, scores[ti * topk + j]);
                        // the score scales the expert's input; weights are used as x @ W
                        let xin: Vec<f32> = xn[ti * h..(ti + 1) * h].iter().map(|v| v * s).collect();
                        let gu = &l.experts_gate_up[ex * h * 2 * w..(ex + 1) * h * 2 * w];
                        let mut g = vec![0.0; 2 * w];
                        for (kk, xv) in xin.iter().enumerate() {
                            for c in 0..2 * w {
                                g[c] += xv * gu[kk * 2 * w + c];
                            }
                        }
                        let act = ops::swiglu(&g, w);
                        let dn = &l.experts_down[ex * w * h..(ex + 1) * w * h];
                        for (kk, av) in act.iter().enumerate() {
                            for c in 0..h {
                                out[ti * h + c] += av * dn[kk * h + c];
                            }
                        }
                    }
                }
            }
            x.iter_mut().zip(&out).for_each(|(x, o)| *x += o);
        }
        let xn = ops::rmsnorm(&x, Some(&self.norm), h, cfg.rms_norm_eps);
        ops::matmul(&self.lm_head, cfg.vocab_size, h, &xn)
    }
}
