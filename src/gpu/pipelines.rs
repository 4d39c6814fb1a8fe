//! The shader registry (real `.wgsl` files embedded with `include_str!`), a tiny preprocessor for
//! structural variants (`#include`, `#if FLAG` / `#else` / `#endif`) and the one pipeline cache.
//! Numbers (workgroup sizes, tiles) are WGSL `override` constants, set through [`PipelineKey`].

use crate::error::{Error, Result};
use crate::quant::WeightFormat;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Every shader file of the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Shader {
    Embed,
    RmsNorm,
    Matmul,
    QkPrep,
    Attention,
    /// Prefill attention on CPU adapters: a lane per query, keys in uniform windows.
    AttentionWindow,
    AttentionCombine,
    KvStore,
    Router,
    /// MoE prefill: the assignments sorted by expert into whole matmul tiles.
    MoeGroup,
    /// MoE prefill: the sorted rows' inputs, scaled by their router scores.
    MoeGather,
    Swiglu,
    MoeCombine,
    Sample,
    /// The sampler's argmax over many workgroups, a slice of the vocabulary each.
    SampleArgmax,
    /// The sampler's candidate lists for top-k and top-p, a slice of the vocabulary each.
    SampleCandidates,
    /// `bench`'s microkernels: stream copy and register multiply-adds.
    PeakCopy,
    PeakFma,
    /// Image features into the `<|patch|>` rows of the embeddings.
    ImageMerge,
    /// LayerNorm with weight and bias (the vision tower).
    LayerNorm,
    /// The vision tower's patch unfold.
    VisionPatches,
    /// The vision tower's class token and positional embedding.
    VisionEmbed,
    /// The vision tower's 2D RoPE.
    VisionRope,
    /// The vision tower's bidirectional attention.
    VisionAttention,
    /// Bias and exact GELU in place.
    BiasAct,
    /// The vision adapter's pixel shuffle.
    PixelShuffle,
}

impl Shader {
    pub const ALL: [Shader; 26] = [
        Shader::Embed,
        Shader::RmsNorm,
        Shader::Matmul,
        Shader::QkPrep,
        Shader::Attention,
        Shader::AttentionWindow,
        Shader::AttentionCombine,
        Shader::KvStore,
        Shader::Router,
        Shader::MoeGroup,
        Shader::MoeGather,
        Shader::Swiglu,
        Shader::MoeCombine,
        Shader::Sample,
        Shader::SampleArgmax,
        Shader::SampleCandidates,
        Shader::PeakCopy,
        Shader::PeakFma,
        Shader::ImageMerge,
        Shader::LayerNorm,
        Shader::VisionPatches,
        Shader::VisionEmbed,
        Shader::VisionRope,
        Shader::VisionAttention,
        Shader::BiasAct,
        Shader::PixelShuffle,
    ];

    pub fn file(self) -> &'static str {
        match self {
            Shader::Embed => "embed/embed.wgsl",
            Shader::RmsNorm => "norm/rmsnorm.wgsl",
            Shader::Matmul => "matmul/matmul.wgsl",
            Shader::QkPrep => "attention/qk_prep.wgsl",
            Shader::Attention => "attention/attention.wgsl",
            Shader::AttentionWindow => "attention/attention_window.wgsl",
            Shader::AttentionCombine => "attention/attention_combine.wgsl",
            Shader::KvStore => "attention/kv_store.wgsl",
            Shader::Router => "moe/router.wgsl",
            Shader::MoeGroup => "moe/group.wgsl",
            Shader::MoeGather => "moe/gather.wgsl",
            Shader::Swiglu => "ffn/swiglu.wgsl",
            Shader::MoeCombine => "moe/combine.wgsl",
            Shader::Sample => "sample/sample.wgsl",
            Shader::SampleArgmax => "sample/argmax.wgsl",
            Shader::SampleCandidates => "sample/candidates.wgsl",
            Shader::PeakCopy => "bench/copy.wgsl",
            Shader::PeakFma => "bench/fma.wgsl",
            Shader::ImageMerge => "embed/merge.wgsl",
            Shader::LayerNorm => "norm/layernorm.wgsl",
            Shader::VisionPatches => "vision/patches.wgsl",
            Shader::VisionEmbed => "vision/embed.wgsl",
            Shader::VisionRope => "vision/rope2d.wgsl",
            Shader::VisionAttention => "vision/attention.wgsl",
            Shader::BiasAct => "vision/bias_act.wgsl",
            Shader::PixelShuffle => "vision/shuffle.wgsl",
        }
    }

    fn source(self) -> &'static str {
        match self {
            Shader::Embed => include_str!("../../shaders/embed/embed.wgsl"),
            Shader::RmsNorm => include_str!("../../shaders/norm/rmsnorm.wgsl"),
            Shader::Matmul => include_str!("../../shaders/matmul/matmul.wgsl"),
            Shader::QkPrep => include_str!("../../shaders/attention/qk_prep.wgsl"),
            Shader::Attention => include_str!("../../shaders/attention/attention.wgsl"),
            Shader::AttentionWindow => include_str!("../../shaders/attention/attention_window.wgsl"),
            Shader::AttentionCombine => include_str!("../../shaders/attention/attention_combine.wgsl"),
            Shader::KvStore => include_str!("../../shaders/attention/kv_store.wgsl"),
            Shader::Router => include_str!("../../shaders/moe/router.wgsl"),
            Shader::MoeGroup => include_str!("../../shaders/moe/group.wgsl"),
            Shader::MoeGather => include_str!("../../shaders/moe/gather.wgsl"),
            Shader::Swiglu => include_str!("../../shaders/ffn/swiglu.wgsl"),
            Shader::MoeCombine => include_str!("../../shaders/moe/combine.wgsl"),
            Shader::Sample => include_str!("../../shaders/sample/sample.wgsl"),
            Shader::SampleArgmax => include_str!("../../shaders/sample/argmax.wgsl"),
            Shader::SampleCandidates => include_str!("../../shaders/sample/candidates.wgsl"),
            Shader::PeakCopy => include_str!("../../shaders/bench/copy.wgsl"),
            Shader::PeakFma => include_str!("../../shaders/bench/fma.wgsl"),
            Shader::ImageMerge => include_str!("../../shaders/embed/merge.wgsl"),
            Shader::LayerNorm => include_str!("../../shaders/norm/layernorm.wgsl"),
            Shader::VisionPatches => include_str!("../../shaders/vision/patches.wgsl"),
            Shader::VisionEmbed => include_str!("../../shaders/vision/embed.wgsl"),
            Shader::VisionRope => include_str!("../../shaders/vision/rope2d.wgsl"),
            Shader::VisionAttention => include_str!("../../shaders/vision/attention.wgsl"),
            Shader::BiasAct => include_str!("../../shaders/vision/bias_act.wgsl"),
            Shader::PixelShuffle => include_str!("../../shaders/vision/shuffle.wgsl"),
        }
    }

    /// Whether the shader reads a weight tensor (and so has one variant per [`WeightFormat`]).
    pub fn reads_weights(self) -> bool {
        matches!(self, Shader::Embed | Shader::Matmul)
    }

    /// Pairs of flags the host never sets together (the matmul refuses a norm on routed rows: a
    /// MoE feed-forward's norm has three readers and keeps its pass); no variant holds both.
    pub fn exclusive(self) -> &'static [(Flag, Flag)] {
        match self {
            Shader::Matmul => &[(Flag::ExpertId, Flag::Norm)],
            _ => &[],
        }
    }

    /// The structural flags the shader understands; every subset is a valid variant, but those
    /// holding both flags of an [`Shader::exclusive`] pair.
    pub fn flags(self) -> &'static [Flag] {
        match self {
            Shader::Matmul => &[
                Flag::ExpertId,
                Flag::RowLane,
                Flag::Subgroup,
                Flag::HalfPack,
                Flag::F16,
                Flag::XUniform,
                Flag::XVec4,
                Flag::WVec4,
                Flag::WTex,
                Flag::Swiglu,
                Flag::Tiled,
                Flag::Norm,
            ],
            Shader::Embed => &[Flag::HalfPack, Flag::WTex],
            Shader::RmsNorm => &[Flag::Subgroup, Flag::XVec4, Flag::RowLane],
            Shader::QkPrep => &[Flag::Subgroup, Flag::RowLane],
            Shader::AttentionCombine | Shader::SampleArgmax => &[Flag::RowLane],
            Shader::Sample => &[Flag::Subgroup],
            Shader::Attention => &[Flag::KvHalf, Flag::F16, Flag::Subgroup, Flag::Split, Flag::QPrivate],
            Shader::AttentionWindow => &[Flag::KvHalf, Flag::Subgroup],
            Shader::KvStore => &[Flag::KvHalf, Flag::Pack],
            Shader::MoeCombine => &[Flag::Grouped],
            _ => &[],
        }
    }
}

/// A structural variant switch, seen by the WGSL as `#if NAME`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// The matmul reads expert ids and scores (routed experts).
    ExpertId,
    /// The CPU-adapter layout: the matmul runs one invocation per row group; rmsnorm, qk_prep,
    /// attention_combine and the sampler's argmax take one SIMD batch (8 lanes) per row, head or
    /// slice instead of a wide workgroup.
    RowLane,
    /// Reductions sum within subgroups first (adapters with the subgroups feature).
    Subgroup,
    /// The KV cache holds f16 (`--dtype f16`), packed two per word.
    KvHalf,
    /// Native f16 types and f16 math (adapters with shader-f16).
    F16,
    /// Halves in weights decoded with `unpack2x16float` (where the adapter has it).
    HalfPack,
    /// The matmul reads its activations from a uniform buffer (one decode row, ROW_LANE): on CPU
    /// adapters a uniform read at a workgroup-uniform offset is one scalar load, a storage read
    /// a loop over the SIMD lanes.
    XUniform,
    /// The matmul (GPU layout) and rmsnorm read their activations as vec4 from storage (rows
    /// 16-byte aligned): one 16-byte load per four activations instead of four 4-byte loads.
    XVec4,
    /// The matmul reads its weights as 16-byte vectors (GPU layout; formats whose GPU blocks are
    /// whole vectors: f32, f16, bf16, q4_K, q5_K).
    WVec4,
    /// The matmul and embed read their weights from a texture, 16 bytes a texel (CPU adapters:
    /// a texel fetch is a gather where a storage load is a loop over the SIMD lanes).
    WTex,
    /// Attention copies q into each lane's registers (CPU adapters, where a workgroup-memory
    /// read in the score loop is a loop over the SIMD lanes; a GPU keeps q in workgroup memory,
    /// its registers being the scarcer resource).
    QPrivate,
    /// Attention splits each (query, head)'s keys over several workgroups (flash-decoding),
    /// writing partial results that `attention_combine` merges.
    Split,
    /// kv_store writes this step's k and v rows head-major into packed copies (for
    /// `attention_window`) instead of the cache.
    Pack,
    /// The MoE combine finds each assignment's expert output through `slot` (prefill, rows
    /// sorted by expert by `moe/group.wgsl`).
    Grouped,
    /// The matmul of a gate|up matrix writes silu(gate) * up (CPU adapters, with ROW_LANE).
    Swiglu,
    /// The matmul of a prompt runs as a tiled GEMM (GPU layout, dense rows): 64 rows by 32
    /// tokens a workgroup through workgroup memory, a 4 x 4 register tile per invocation.
    Tiled,
    /// The matmul applies the RMSNorm of its input rows itself (the norm's weight as inputs
    /// load, 1 / rms per token at the end), and the norm's own pass disappears.
    Norm,
}

impl Flag {
    pub const ALL: [Flag; 17] = [
        Flag::ExpertId,
        Flag::RowLane,
        Flag::Subgroup,
        Flag::KvHalf,
        Flag::F16,
        Flag::HalfPack,
        Flag::XUniform,
        Flag::XVec4,
        Flag::WVec4,
        Flag::WTex,
        Flag::Split,
        Flag::QPrivate,
        Flag::Pack,
        Flag::Grouped,
        Flag::Swiglu,
        Flag::Tiled,
        Flag::Norm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Flag::ExpertId => "EXPERT_ID",
            Flag::RowLane => "ROW_LANE",
            Flag::Subgroup => "SUBGROUP",
            Flag::KvHalf => "KV_HALF",
            Flag::F16 => "F16",
            Flag::HalfPack => "HALF_PACK",
            Flag::XUniform => "X_UNIFORM",
            Flag::XVec4 => "X_VEC4",
            Flag::WVec4 => "W_VEC4",
            Flag::WTex => "W_TEX",
            Flag::QPrivate => "Q_PRIVATE",
            Flag::Split => "SPLIT",
            Flag::Pack => "PACK",
            Flag::Grouped => "GROUPED",
            Flag::Swiglu => "SWIGLU",
            Flag::Tiled => "TILED",
            Flag::Norm => "NORM",
        }
    }

    /// The device feature a variant with this flag needs.
    pub fn feature(self) -> Option<wgpu::Features> {
        match self {
            Flag::Subgroup => Some(wgpu::Features::SUBGROUP),
            Flag::F16 => Some(wgpu::Features::SHADER_F16),
            _ => None,
        }
    }

    /// The WGSL `enable` directive the flag needs: `f16` everywhere; `subgroups` only in browsers,
    /// which require it, while naga (wgpu's native shader translator, version 30) rejects it and
    /// takes subgroup builtins without it.
    pub fn enable(self) -> Option<&'static str> {
        match self {
            Flag::Subgroup if cfg!(target_arch = "wasm32") => Some("subgroups"),
            Flag::F16 => Some("f16"),
            _ => None,
        }
    }
}

fn include(name: &str) -> Option<&'static str> {
    Some(match name {
        "common/weight_bytes.wgsl" => include_str!("../../shaders/common/weight_bytes.wgsl"),
        "common/kquant_scales.wgsl" => include_str!("../../shaders/common/kquant_scales.wgsl"),
        "common/weights_f32.wgsl" => include_str!("../../shaders/common/weights_f32.wgsl"),
        "common/weights_f16.wgsl" => include_str!("../../shaders/common/weights_f16.wgsl"),
        "common/weights_bf16.wgsl" => include_str!("../../shaders/common/weights_bf16.wgsl"),
        "common/weights_q8_0.wgsl" => include_str!("../../shaders/common/weights_q8_0.wgsl"),
        "common/weights_q4_0.wgsl" => include_str!("../../shaders/common/weights_q4_0.wgsl"),
        "common/weights_q4_1.wgsl" => include_str!("../../shaders/common/weights_q4_1.wgsl"),
        "common/weights_q5_0.wgsl" => include_str!("../../shaders/common/weights_q5_0.wgsl"),
        "common/weights_q5_1.wgsl" => include_str!("../../shaders/common/weights_q5_1.wgsl"),
        "common/weights_q4_k.wgsl" => include_str!("../../shaders/common/weights_q4_k.wgsl"),
        "common/weights_q5_k.wgsl" => include_str!("../../shaders/common/weights_q5_k.wgsl"),
        "common/weights_q6_k.wgsl" => include_str!("../../shaders/common/weights_q6_k.wgsl"),
        "common/step.wgsl" => include_str!("../../shaders/common/step.wgsl"),
        "common/reduce.wgsl" => include_str!("../../shaders/common/reduce.wgsl"),
        "common/argmax.wgsl" => include_str!("../../shaders/common/argmax.wgsl"),
        "common/lane.wgsl" => include_str!("../../shaders/common/lane.wgsl"),
        "common/attention_shape.wgsl" => include_str!("../../shaders/common/attention_shape.wgsl"),
        "common/kv_cache.wgsl" => include_str!("../../shaders/common/kv_cache.wgsl"),
        "matmul/row_lane.wgsl" => include_str!("../../shaders/matmul/row_lane.wgsl"),
        "matmul/tiled.wgsl" => include_str!("../../shaders/matmul/tiled.wgsl"),
        "matmul/split_k.wgsl" => include_str!("../../shaders/matmul/split_k.wgsl"),
        _ => return None,
    })
}

/// A shader variant: the file, its weight format and its structural flags.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Variant {
    pub shader: Shader,
    pub weights: Option<WeightFormat>,
    pub flags: Vec<Flag>,
}

impl Variant {
    pub fn new(shader: Shader) -> Self {
        Variant { shader, weights: None, flags: vec![] }
    }
    pub fn weights(mut self, w: WeightFormat) -> Self {
        self.weights = Some(w);
        self
    }
    pub fn flag(mut self, f: Flag, on: bool) -> Self {
        if on {
            self.flags.push(f);
            self.flags.sort();
        }
        self
    }

    /// Every variant of every shader (what the naga test validates).
    pub fn all() -> Vec<Variant> {
        let mut out = vec![];
        for s in Shader::ALL {
            let formats: Vec<Option<WeightFormat>> =
                if s.reads_weights() { WeightFormat::ALL.iter().map(|&w| Some(w)).collect() } else { vec![None] };
            let flags = s.flags();
            for w in &formats {
                for mask in 0..(1u32 << flags.len()) {
                    let mut v = Variant::new(s);
                    v.weights = *w;
                    for (i, f) in flags.iter().enumerate() {
                        v = v.flag(*f, mask & (1 << i) != 0);
                    }
                    if !s.exclusive().iter().any(|(a, b)| v.flags.contains(a) && v.flags.contains(b)) {
                        out.push(v);
                    }
                }
            }
        }
        out
    }

    /// The WGSL text of this variant after preprocessing.
    pub fn wgsl(&self) -> Result<String> {
        if let Some(f) = self.flags.iter().find(|f| !self.shader.flags().contains(f)) {
            return Err(Error::Gpu(format!("{} has no {} variant", self.shader.file(), f.name())));
        }
        let mut defines: Vec<&str> = self.flags.iter().map(|f| f.name()).collect();
        let weights_file = self.weights.map(|w| w.include_file());
        if self.shader.reads_weights() && weights_file.is_none() {
            return Err(Error::Gpu(format!("{} needs a weight format", self.shader.file())));
        }
        if let Some(w) = self.weights {
            defines.push(w.define());
        }
        // WGSL `enable` directives come before anything else in a module.
        let mut text: String = self.flags.iter().filter_map(|f| f.enable()).map(|e| format!("enable {e};\n")).collect();
        text += &preprocess(self.shader.source(), self.shader.file(), &defines, weights_file)?;
        Ok(text)
    }

    /// A short name for reports: the shader's, its weight format and flags (`matmul q4_1 ROW_LANE`).
    pub fn label(&self) -> String {
        let file = self.shader.file();
        let mut out = file.rsplit('/').next().unwrap_or(file).trim_end_matches(".wgsl").to_string();
        if let Some(w) = self.weights {
            out = out + " " + w.name();
        }
        for f in &self.flags {
            out = out + " " + f.name();
        }
        out
    }

    /// The device features this variant needs.
    pub fn features(&self) -> wgpu::Features {
        self.flags.iter().filter_map(|f| f.feature()).fold(wgpu::Features::empty(), |a, f| a | f)
    }
}

/// `#include "file"` (nestable; or `#include_weights`: the byte helpers plus the variant's
/// weight format), and `#if NAME` / `#else` / `#endif`, nestable.
fn preprocess(src: &str, file: &str, defines: &[&str], weights: Option<&str>) -> Result<String> {
    let mut out = String::with_capacity(src.len() + 4096);
    preprocess_into(&mut out, src, file, defines, weights, 0)?;
    Ok(out)
}

fn preprocess_into(
    out: &mut String,
    src: &str,
    file: &str,
    defines: &[&str],
    weights: Option<&str>,
    depth: usize,
) -> Result<()> {
    let mut stack: Vec<(bool, bool)> = vec![]; // (this branch active, parent active)
    let active = |s: &Vec<(bool, bool)>| s.last().map(|&(a, p)| a && p).unwrap_or(true);
    for (ln, line) in src.lines().enumerate() {
        let t = line.trim();
        let err = |m: &str| Error::Gpu(format!("shaders/{file}:{}: {m}", ln + 1));
        let mut include_file = |name: &str| -> Result<()> {
            if depth > 4 {
                return Err(err("includes nested too deeply"));
            }
            let text = include(name).ok_or_else(|| err(&format!("unknown include {name}")))?;
            preprocess_into(out, text, name, defines, weights, depth + 1)
        };
        if let Some(rest) = t.strip_prefix("#if ") {
            // Only names the host can set: a typo would otherwise select a branch silently.
            let name = rest.trim();
            if !Flag::ALL.iter().any(|f| f.name() == name) && !WeightFormat::ALL.iter().any(|w| w.define() == name) {
                return Err(err(&format!("#if {name}: not a variant flag or weight format")));
            }
            let parent = active(&stack);
            stack.push((defines.contains(&name), parent));
        } else if t == "#else" {
            let top = stack.last_mut().ok_or_else(|| err("#else without #if"))?;
            top.0 = !top.0;
        } else if t == "#endif" {
            stack.pop().ok_or_else(|| err("#endif without #if"))?;
        } else if !active(&stack) {
            continue;
        } else if t == "#include_weights" {
            let w = weights.ok_or_else(|| err("#include_weights in a shader without a weight format"))?;
            include_file("common/weight_bytes.wgsl")?;
            include_file(w)?;
        } else if let Some(rest) = t.strip_prefix("#include ") {
            include_file(rest.trim().trim_matches('"'))?;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !stack.is_empty() {
        return Err(Error::Gpu(format!("shaders/{file}: unterminated #if")));
    }
    Ok(())
}

/// A compiled pipeline's identity: the variant plus its `override` constants.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PipelineKey {
    pub variant: Variant,
    pub overrides: Vec<(&'static str, u32)>,
}

#[derive(Default)]
pub struct PipelineCache {
    map: Mutex<HashMap<PipelineKey, Arc<wgpu::ComputePipeline>>>,
}

impl PipelineCache {
    pub fn get(&self, device: &wgpu::Device, key: &PipelineKey) -> Result<Arc<wgpu::ComputePipeline>> {
        if let Some(p) = self.map.lock().unwrap().get(key) {
            return Ok(p.clone());
        }
        let missing = key.variant.features() - device.features();
        if !missing.is_empty() {
            return Err(Error::Gpu(format!(
                "{} variant {:?} needs device features {missing:?}",
                key.variant.shader.file(),
                key.variant.flags
            )));
        }
        let text = key.variant.wgsl()?;
        let label = format!("{}{:?}{:?}", key.variant.shader.file(), key.variant.weights, key.variant.flags);
        // Natively an error scope's future is ready at once. In a browser it resolves later, so
        // no scope is pushed there: a rejected pipeline reaches the handler of the library's own
        // device, which the next `ErrorScope::check` turns into an `Err` (see `gpu::scope`).
        #[cfg(not(target_arch = "wasm32"))]
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(&label),
            source: wgpu::ShaderSource::Wgsl(text.into()),
        });
        let constants: Vec<(&str, f64)> = key.overrides.iter().map(|&(k, v)| (k, v as f64)).collect();
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&label),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &constants,
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(e) = crate::gpu::now_or_never(scope.pop()).flatten() {
            return Err(Error::Gpu(format!("pipeline {label}: {e}")));
        }
        let p = Arc::new(pipeline);
        self.map.lock().unwrap().insert(key.clone(), p.clone());
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_unknown_if_name_is_an_error() {
        let err = super::preprocess("#if EXPERTID\n#endif\n", "t.wgsl", &[], None).unwrap_err();
        assert!(err.to_string().contains("#if EXPERTID: not a variant flag"), "{err}");
        assert!(super::preprocess("#if ROW_LANE\n#endif\n", "t.wgsl", &[], None).is_ok());
    }
}
