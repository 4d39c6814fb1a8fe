//! Where each of a layer's matrices comes from in a checkpoint (HF names and layouts or GGUF's),
//! with shapes checked: the plan `Layer::load` uploads and `info` sizes without a GPU.

use crate::config::{FfnKind, TextConfig};
use crate::error::Result;
use crate::gpu::{MatrixSpec, RowPart};
use crate::loader::{TensorSource, WeightNames};
use crate::model::Ffn;

/// Where one layer's matrices come from; needs no GPU (`info` sizes a load with it).
pub struct LayerSpec<'a> {
    pub qkv: MatrixSpec<'a>,
    pub o: MatrixSpec<'a>,
    pub ffn: Ffn<MatrixSpec<'a>>,
}

fn linear<'a>(ck: &'a dyn TensorSource, name: &str, rows: usize, cols: usize) -> Result<RowPart<'a>> {
    Ok(RowPart::Linear(ck.get(name, &[rows, cols])?))
}

impl<'a> LayerSpec<'a> {
    /// Finds layer `i`'s weights in `ck` and checks their shapes.
    pub fn gather(cfg: &TextConfig, ck: &'a dyn TensorSource, names: &WeightNames, i: usize) -> Result<Self> {
        let (h, d, nh, nkv) = (cfg.hidden_size, cfg.head_dim, cfg.num_attention_heads, cfg.num_key_value_heads);
        let n = |rest: &str| names.layer(i, rest);
        let qkv = MatrixSpec::new(
            n("self_attn.qkv"),
            1,
            h,
            vec![
                linear(ck, &n("self_attn.q_proj.weight"), nh * d, h)?,
                linear(ck, &n("self_attn.k_proj.weight"), nkv * d, h)?,
                linear(ck, &n("self_attn.v_proj.weight"), nkv * d, h)?,
            ],
        );
        let o = MatrixSpec::new(
            n("self_attn.o_proj.weight"),
            1,
            nh * d,
            vec![linear(ck, &n("self_attn.o_proj.weight"), h, nh * d)?],
        );
        let swiglu = |prefix: &str, width: usize| -> Result<(MatrixSpec<'a>, MatrixSpec<'a>)> {
            let gu = MatrixSpec::new(
                n(&format!("{prefix}gate|up")),
                1,
                h,
                vec![
                    linear(ck, &n(&format!("{prefix}gate_proj.weight")), width, h)?,
                    linear(ck, &n(&format!("{prefix}up_proj.weight")), width, h)?,
                ],
            );
            let down = MatrixSpec::new(
                n(&format!("{prefix}down_proj.weight")),
                1,
                width,
                vec![linear(ck, &n(&format!("{prefix}down_proj.weight")), h, width)?],
            );
            Ok((gu, down))
        };
        let ffn = match cfg.layers[i].ffn {
            FfnKind::Dense => {
                let (gate_up, down) = swiglu("feed_forward.", cfg.intermediate_size_mlp)?;
                Ffn::Dense { gate_up, down }
            }
            FfnKind::Moe => {
                let (e, w) = (cfg.num_local_experts, cfg.intermediate_size);
                let router = MatrixSpec::new(
                    n("feed_forward.router.weight"),
                    1,
                    h,
                    vec![linear(ck, &n("feed_forward.router.weight"), e, h)?],
                )
                .kept();
                let (experts_gate_up, experts_down) = if ck.contains(&n("feed_forward.experts.gate_up_proj")) {
                    // HF fused layout: gate_up_proj [E, H, 2I] and down_proj [E, I, H], used as x @ W.
                    let gu = ck.get(&n("feed_forward.experts.gate_up_proj"), &[e, h, 2 * w])?;
                    let dn = ck.get(&n("feed_forward.experts.down_proj"), &[e, w, h])?;
                    let gate_up = MatrixSpec::new(
                        n("feed_forward.experts.gate_up_proj"),
                        e,
                        h,
                        vec![
                            RowPart::Transposed { view: gu.clone(), col0: 0, rows: w },
                            RowPart::Transposed { view: gu, col0: w, rows: w },
                        ],
                    );
                    let down = MatrixSpec::new(
                        n("feed_forward.experts.down_proj"),
                        e,
                        w,
                        vec![RowPart::Transposed { view: dn, col0: 0, rows: h }],
                    );
                    (gate_up, down)
                } else {
                    // Linear-layout experts: GGUF's expert-stacked `[E, rows, cols]`, or HF's split
                    // experts.{e}.{gate,up,down}_proj.weight.
                    let stacked = ck.contains(&n("feed_forward.experts.gate_proj.weight"));
                    let part = |proj: &str, rows: usize, cols: usize| -> Result<RowPart<'a>> {
                        Ok(if stacked {
                            RowPart::Stacked(
                                ck.get(&n(&format!("feed_forward.experts.{proj}.weight")), &[e, rows, cols])?,
                            )
                        } else {
                            RowPart::PerExpert(
                                (0..e)
                                    .map(|x| {
                                        ck.get(&n(&format!("feed_forward.experts.{x}.{proj}.weight")), &[rows, cols])
                                    })
                                    .collect::<Result<Vec<_>>>()?,
                            )
                        })
                    };
                    let gate_up = MatrixSpec::new(
                        n("feed_forward.experts.gate|up"),
                        e,
                        h,
                        vec![part("gate_proj", w, h)?, part("up_proj", w, h)?],
                    );
                    let down =
                        MatrixSpec::new(n("feed_forward.experts.down_proj"), e, w, vec![part("down_proj", h, w)?]);
                    (gate_up, down)
                };
                let (shared_gate_up, shared_down) = swiglu("feed_forward.shared_expert.", w)?;
                Ffn::Moe { router, experts_gate_up, experts_down, shared_gate_up, shared_down }
            }
        };
        Ok(LayerSpec { qkv, o, ffn })
    }

    pub fn matrices(&self) -> Vec<&MatrixSpec<'a>> {
        let mut m = vec![&self.qkv, &self.o];
        m.extend(self.ffn.matrices());
        m
    }
}
