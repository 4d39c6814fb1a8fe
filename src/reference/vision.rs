//! The vision tower in plain f32 (spec §4): patches -> ViT encoder with 2D RoPE -> pixel shuffle
//! -> adapter MLP -> projector, one tile at a time. The oracle for the GPU kernels and the
//! fixtures' stage dumps.

use super::ops;
use crate::config::VisionConfig;
use crate::error::Result;
use crate::loader::TensorSource;

struct EncoderLayer {
    ln1: (Vec<f32>, Vec<f32>),
    ln2: (Vec<f32>, Vec<f32>),
    /// (weight [Hv, Hv], bias [Hv]) for q, k, v, o.
    q: (Vec<f32>, Vec<f32>),
    k: (Vec<f32>, Vec<f32>),
    v: (Vec<f32>, Vec<f32>),
    o: (Vec<f32>, Vec<f32>),
    fc1: (Vec<f32>, Vec<f32>),
    fc2: (Vec<f32>, Vec<f32>),
}

/// What each stage of the tower gives for a batch of tiles.
pub struct VisionStages {
    /// After the positional embedding and `layernorm_pre`: `[tiles, P+1, Hv]` (class token last).
    pub pre: Vec<f32>,
    /// After `layernorm_post`, class token dropped: `[tiles, P, Hv]`.
    pub post: Vec<f32>,
    /// The adapter's output: `[tiles, P*r^2, projector_output_dim]`.
    pub adapter: Vec<f32>,
    /// Projected into the text model's width: `[tiles * P*r^2, H_text]`.
    pub projected: Vec<f32>,
}

pub struct CpuVision {
    pub cfg: VisionConfig,
    text_hidden: usize,
    patch: Vec<f32>,
    class: Vec<f32>,
    pos: Vec<f32>,
    ln_pre: (Vec<f32>, Vec<f32>),
    ln_post: (Vec<f32>, Vec<f32>),
    layers: Vec<EncoderLayer>,
    adapter_fc1: Vec<f32>,
    adapter_fc2: Vec<f32>,
    projector: Vec<f32>,
}

const EPS: f32 = 1e-5;

impl CpuVision {
    /// Reads the `vision_model.` and `multi_modal_projector.` tensors (spec §3.2).
    pub fn load(cfg: &VisionConfig, text_hidden: usize, ck: &dyn TensorSource) -> Result<Self> {
        let (h, i, p) = (cfg.hidden_size, cfg.intermediate_size, cfg.patch_size);
        let get = |name: &str, shape: &[usize]| -> Result<Vec<f32>> { Ok(ck.get(name, shape)?.to_f32()) };
        let v = |rest: &str, shape: &[usize]| get(&format!("vision_model.{rest}"), shape);
        let norm = |prefix: &str| -> Result<(Vec<f32>, Vec<f32>)> {
            Ok((v(&format!("{prefix}.weight"), &[h])?, v(&format!("{prefix}.bias"), &[h])?))
        };
        let linear = |prefix: &str, out: usize, inp: usize| -> Result<(Vec<f32>, Vec<f32>)> {
            Ok((v(&format!("{prefix}.weight"), &[out, inp])?, v(&format!("{prefix}.bias"), &[out])?))
        };
        let layers = (0..cfg.num_hidden_layers)
            .map(|j| {
                let n = |r: &str| format!("model.layers.{j}.{r}");
                Ok(EncoderLayer {
                    ln1: norm(&n("input_layernorm"))?,
                    ln2: norm(&n("post_attention_layernorm"))?,
                    q: linear(&n("self_attn.q_proj"), h, h)?,
                    k: linear(&n("self_attn.k_proj"), h, h)?,
                    v: linear(&n("self_attn.v_proj"), h, h)?,
                    o: linear(&n("self_attn.o_proj"), h, h)?,
                    fc1: linear(&n("mlp.fc1"), i, h)?,
                    fc2: linear(&n("mlp.fc2"), h, i)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CpuVision {
            cfg: cfg.clone(),
            text_hidden,
            patch: v("patch_embedding.linear.weight", &[h, 3 * p * p])?,
            class: v("class_embedding", &[h])?,
            pos: v("positional_embedding_vlm", &[cfg.patches() + 1, h])?,
            ln_pre: norm("layernorm_pre")?,
            ln_post: norm("layernorm_post")?,
            layers,
            adapter_fc1: v("vision_adapter.mlp.fc1.weight", &[cfg.projector_input_dim, i])?,
            adapter_fc2: v("vision_adapter.mlp.fc2.weight", &[cfg.projector_output_dim, cfg.projector_output_dim])?,
            projector: get("multi_modal_projector.linear_1.weight", &[text_hidden, cfg.vision_output_dim])?,
        })
    }

    /// cos/sin per complex pair for every token of a tile (patches, then the unrotated class
    /// token): pair j < hd/4 turns by (x+1)·f[j], the rest by (y+1)·f[j - hd/4] (spec §4.5).
    pub fn rope_tables(cfg: &VisionConfig) -> Vec<f32> {
        let (g, hd) = (cfg.grid(), cfg.head_dim());
        let fd = hd / 2;
        let freqs: Vec<f32> =
            (0..fd / 2).map(|k| 1.0 / (cfg.rope_theta as f32).powf((2 * k) as f32 / fd as f32)).collect();
        let mut t = Vec::with_capacity((g * g + 1) * fd * 2);
        for n in 0..=g * g {
            for j in 0..fd {
                let angle = if n == g * g {
                    0.0
                } else if j < fd / 2 {
                    (n % g + 1) as f32 * freqs[j]
                } else {
                    (n / g + 1) as f32 * freqs[j - fd / 2]
                };
                t.extend([angle.cos(), angle.sin()]);
            }
        }
        t
    }

    /// Runs the tower on `tiles` tiles of `[3, S, S]` pixel values.
    pub fn forward(&self, pixels: &[f32], tiles: usize) -> VisionStages {
        let c = &self.cfg;
        let (h, s, p, nh, hd) = (c.hidden_size, c.image_size, c.patch_size, c.num_attention_heads, c.head_dim());
        let np = c.patches();
        let rope = Self::rope_tables(c);
        let (mut pre, mut post, mut adapter) = (vec![], vec![], vec![]);
        for tile in pixels.chunks_exact(3 * s * s).take(tiles) {
            let mut x = ops::matmul(&self.patch, h, 3 * p * p, &ops::unfold_patches(tile, s, p));
            x.extend_from_slice(&self.class);
            x.iter_mut().zip(&self.pos).for_each(|(x, e)| *x += e);
            x = ops::layernorm(&x, &self.ln_pre.0, &self.ln_pre.1, h, EPS);
            pre.extend_from_slice(&x);
            for l in &self.layers {
                let xn = ops::layernorm(&x, &l.ln1.0, &l.ln1.1, h, EPS);
                let proj = |w: &(Vec<f32>, Vec<f32>), x: &[f32]| {
                    let mut y = ops::matmul(&w.0, w.1.len(), w.0.len() / w.1.len(), x);
                    ops::add_bias(&mut y, &w.1);
                    y
                };
                let (mut q, mut k, v) = (proj(&l.q, &xn), proj(&l.k, &xn), proj(&l.v, &xn));
                for (n, (qt, kt)) in q.chunks_exact_mut(h).zip(k.chunks_exact_mut(h)).enumerate() {
                    let table = &rope[n * hd..(n + 1) * hd];
                    for (qh, kh) in qt.chunks_exact_mut(hd).zip(kt.chunks_exact_mut(hd)) {
                        ops::rope_interleaved(qh, table);
                        ops::rope_interleaved(kh, table);
                    }
                }
                let a = ops::attention_full(&q, &k, &v, nh, hd);
                x.iter_mut().zip(&proj(&l.o, &a)).for_each(|(x, o)| *x += o);
                let xn = ops::layernorm(&x, &l.ln2.0, &l.ln2.1, h, EPS);
                let mut m = proj(&l.fc1, &xn);
                m.iter_mut().for_each(|v| *v = ops::gelu(*v));
                x.iter_mut().zip(&proj(&l.fc2, &m)).for_each(|(x, o)| *x += o);
            }
            let mut y = ops::layernorm(&x, &self.ln_post.0, &self.ln_post.1, h, EPS);
            y.truncate(np * h);
            post.extend_from_slice(&y);
            let shuffle = (1.0 / c.pixel_shuffle_ratio).round() as usize;
            let shuffled = ops::pixel_shuffle(&y, c.grid(), h, shuffle);
            let mut a = ops::matmul(&self.adapter_fc1, c.projector_input_dim, c.intermediate_size, &shuffled);
            a.iter_mut().for_each(|v| *v = ops::gelu(*v));
            let mut a = ops::matmul(&self.adapter_fc2, c.projector_output_dim, c.projector_output_dim, &a);
            a.iter_mut().for_each(|v| *v = ops::gelu(*v));
            adapter.extend_from_slice(&a);
        }
        let projected = ops::matmul(&self.projector, self.text_hidden, c.vision_output_dim, &adapter);
        VisionStages { pre, post, adapter, projected }
    }
}
