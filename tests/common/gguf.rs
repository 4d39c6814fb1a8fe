//! A small GGUF writer for tests: a tiny `llama` model with every weight format, and the raw
//! pieces the bad-input tests corrupt.

use llama4_wgpu::quant::WeightFormat;

pub enum Meta {
    U32(u32),
    F32(f32),
    Str(String),
    Strs(Vec<String>),
}

pub struct Tensor {
    pub name: String,
    /// Row-major shape (written innermost first, as GGUF does).
    pub shape: Vec<usize>,
    pub ggml_type: u32,
    pub data: Vec<u8>,
}

#[derive(Default)]
pub struct GgufFile {
    pub version: u32,
    pub meta: Vec<(String, Meta)>,
    pub tensors: Vec<Tensor>,
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

pub fn ggml_id(f: WeightFormat) -> u32 {
    (0..64).find(|&i| WeightFormat::from_ggml(i) == Some(f)).unwrap()
}

impl GgufFile {
    /// The header bytes, and where each tensor's info record starts in them.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(self.version.to_le_bytes());
        out.extend((self.tensors.len() as u64).to_le_bytes());
        out.extend((self.meta.len() as u64).to_le_bytes());
        for (k, v) in &self.meta {
            put_str(&mut out, k);
            match v {
                Meta::U32(x) => {
                    out.extend(4u32.to_le_bytes());
                    out.extend(x.to_le_bytes());
                }
                Meta::F32(x) => {
                    out.extend(6u32.to_le_bytes());
                    out.extend(x.to_le_bytes());
                }
                Meta::Str(s) => {
                    out.extend(8u32.to_le_bytes());
                    put_str(&mut out, s);
                }
                Meta::Strs(v) => {
                    out.extend(9u32.to_le_bytes());
                    out.extend(8u32.to_le_bytes());
                    out.extend((v.len() as u64).to_le_bytes());
                    v.iter().for_each(|s| put_str(&mut out, s));
                }
            }
        }
        let mut offset = 0u64;
        for t in &self.tensors {
            put_str(&mut out, &t.name);
            out.extend((t.shape.len() as u32).to_le_bytes());
            t.shape.iter().rev().for_each(|&d| out.extend((d as u64).to_le_bytes()));
            out.extend(t.ggml_type.to_le_bytes());
            out.extend(offset.to_le_bytes());
            offset += (t.data.len() as u64).next_multiple_of(32);
        }
        while !out.len().is_multiple_of(32) {
            out.push(0);
        }
        for t in &self.tensors {
            out.extend(&t.data);
            while !out.len().is_multiple_of(32) {
                out.push(0);
            }
        }
        out
    }

    pub fn set_meta(&mut self, key: &str, v: Meta) {
        self.meta.retain(|(k, _)| k != key);
        self.meta.push((key.into(), v));
    }
}

/// A tiny 2-layer `llama` model (hidden 256 so every block format fits) whose weights use every
/// format, mixed inside q|k|v and gate|up; random but valid blocks with small scales.
pub fn tiny_llama() -> GgufFile {
    use WeightFormat as W;
    tiny_llama_in(
        [W::Q8_0, W::Q6K],
        [
            [W::Q4K, W::Q5K, W::Q6K, W::Q4_1, W::Q4_0, W::Bf16, W::Q8_0],
            [W::F16, W::F32, W::Q5_1, W::Q4K, W::Q6K, W::Q5_0, W::F16],
        ],
    )
}

/// The tiny `llama` with token_embd|output in `heads` and each layer's q, k, v, output, gate, up,
/// down in `layers[i]`.
pub fn tiny_llama_in(heads: [WeightFormat; 2], layers: [[WeightFormat; 7]; 2]) -> GgufFile {
    tiny_llama_vocab(64, heads, layers)
}

/// As [`tiny_llama_in`] with a vocabulary of `v` tokens (a large one makes big embedding and head
/// tensors).
pub fn tiny_llama_vocab(v: usize, heads: [WeightFormat; 2], layers: [[WeightFormat; 7]; 2]) -> GgufFile {
    use WeightFormat as W;
    let (h, nh, nkv, d, ff) = (256usize, 4usize, 2usize, 64usize, 128usize);
    let mut seed = 7u32;
    let mut t = |name: &str, shape: Vec<usize>, f: W| {
        seed += 1;
        let n: usize = shape.iter().product();
        let data = match f {
            W::F32 => super::rand_vec(n, seed).iter().flat_map(|x| (x * 0.1).to_le_bytes()).collect(),
            W::F16 => {
                super::rand_vec(n, seed).iter().flat_map(|x| half::f16::from_f32(x * 0.1).to_le_bytes()).collect()
            }
            W::Bf16 => {
                super::rand_vec(n, seed).iter().flat_map(|x| half::bf16::from_f32(x * 0.1).to_le_bytes()).collect()
            }
            q => super::random_blocks(q, n, seed),
        };
        Tensor { name: name.into(), shape, ggml_type: ggml_id(f), data }
    };
    let norm = |name: &str| Tensor {
        name: name.into(),
        shape: vec![h],
        ggml_type: 0,
        data: (0..h).flat_map(|i| (1.0 + 0.01 * (i % 7) as f32).to_le_bytes()).collect(),
    };
    let mut tensors = vec![
        t("token_embd.weight", vec![v, h], heads[0]),
        norm("output_norm.weight"),
        t("output.weight", vec![v, h], heads[1]),
    ];
    for (i, fmts) in layers.iter().enumerate() {
        tensors.push(norm(&format!("blk.{i}.attn_norm.weight")));
        tensors.push(t(&format!("blk.{i}.attn_q.weight"), vec![nh * d, h], fmts[0]));
        tensors.push(t(&format!("blk.{i}.attn_k.weight"), vec![nkv * d, h], fmts[1]));
        tensors.push(t(&format!("blk.{i}.attn_v.weight"), vec![nkv * d, h], fmts[2]));
        tensors.push(t(&format!("blk.{i}.attn_output.weight"), vec![h, nh * d], fmts[3]));
        tensors.push(norm(&format!("blk.{i}.ffn_norm.weight")));
        tensors.push(t(&format!("blk.{i}.ffn_gate.weight"), vec![ff, h], fmts[4]));
        tensors.push(t(&format!("blk.{i}.ffn_up.weight"), vec![ff, h], fmts[5]));
        tensors.push(t(&format!("blk.{i}.ffn_down.weight"), vec![h, ff], fmts[6]));
    }
    let meta = vec![
        ("general.architecture".into(), Meta::Str("llama".into())),
        ("llama.context_length".into(), Meta::U32(256)),
        ("llama.embedding_length".into(), Meta::U32(h as u32)),
        ("llama.block_count".into(), Meta::U32(2)),
        ("llama.feed_forward_length".into(), Meta::U32(ff as u32)),
        ("llama.attention.head_count".into(), Meta::U32(nh as u32)),
        ("llama.attention.head_count_kv".into(), Meta::U32(nkv as u32)),
        ("llama.rope.freq_base".into(), Meta::F32(10000.0)),
        ("llama.attention.layer_norm_rms_epsilon".into(), Meta::F32(1e-5)),
    ];
    GgufFile { version: 3, meta, tensors }
}
