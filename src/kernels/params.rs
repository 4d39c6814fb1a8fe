//! Each kernel's uniform parameters as one typed `#[repr(C)]` struct, the twin of `struct Params`
//! in its WGSL file. `FIELDS` (names, byte offsets, scalar kinds) is what a test compares with
//! the WGSL struct as naga reflects it, so the two cannot drift apart silently.

use crate::error::{Error, Result};
use crate::gpu::Shader;

/// A field of a parameter struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub offset: usize,
    /// `f32` (else `u32`).
    pub float: bool,
}

/// A kernel's `struct Params`: plain old data of at most 64 bytes (one uniform slot).
pub trait KernelParams: bytemuck::Pod {
    /// The shaders whose `struct Params` this is.
    const SHADERS: &'static [Shader];
    const FIELDS: &'static [Field];
}

/// `u32` or `f32`, the scalar types a parameter struct holds.
pub trait Scalar {
    const FLOAT: bool;
}
impl Scalar for u32 {
    const FLOAT: bool = false;
}
impl Scalar for f32 {
    const FLOAT: bool = true;
}

macro_rules! kernel_params {
    ($(#[$doc:meta])* $name:ident for [$($shader:ident),+] { $($field:ident: $ty:ty),+ $(,)? }) => {
        $(#[$doc])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
        pub struct $name {
            $(pub $field: $ty),+
        }
        impl KernelParams for $name {
            const SHADERS: &'static [Shader] = &[$(Shader::$shader),+];
            const FIELDS: &'static [Field] = &[$(Field {
                name: stringify!($field),
                offset: std::mem::offset_of!($name, $field),
                float: <$ty as Scalar>::FLOAT,
            }),+];
        }
        const _: () = assert!(std::mem::size_of::<$name>() <= 64, "one uniform slot is 64 bytes");
    };
}

kernel_params!(
    /// shaders/matmul/matmul.wgsl
    MatmulParams for [Matmul] {
        norm_eps: f32, n: u32, n_tokens: u32, out_stride: u32, out_col0: u32, accumulate: u32, x_stride: u32,
        x_row0: u32, wg_x: u32, e0: u32, e1: u32, x_div: u32, scale_input: u32, row_blocks: u32, x_win: u32,
        id_row0: u32,
    }
);
kernel_params!(
    /// shaders/embed/embed.wgsl
    EmbedParams for [Embed] { hidden: u32, n_tokens: u32, row0: u32, rows: u32, row_blocks: u32 }
);
kernel_params!(
    /// shaders/norm/rmsnorm.wgsl
    RmsNormParams for [RmsNorm] { n: u32, eps: f32, in_row0: u32 }
);
kernel_params!(
    /// shaders/ffn/swiglu.wgsl
    SwigluParams for [Swiglu] { width: u32, rows: u32 }
);
kernel_params!(
    /// shaders/moe/router.wgsl
    RouterParams for [Router] { n_experts: u32, k: u32, n_tokens: u32 }
);
kernel_params!(
    /// shaders/moe/group.wgsl
    GroupParams for [MoeGroup] { n: u32, n_experts: u32, tile: u32, n_rows: u32 }
);
kernel_params!(
    /// shaders/moe/gather.wgsl
    GatherParams for [MoeGather] { hidden: u32, k: u32, n_rows: u32 }
);
kernel_params!(
    /// shaders/moe/combine.wgsl
    CombineParams for [MoeCombine] { hidden: u32, k: u32, n_tokens: u32 }
);
kernel_params!(
    /// shaders/attention/qk_prep.wgsl
    QkPrepParams for [QkPrep] {
        nh: u32, nkv: u32, d: u32, width: u32, rope: u32, qk_norm: u32, temperature: u32, eps: f32,
    }
);
kernel_params!(
    /// shaders/common/attention_shape.wgsl (attention, its combine and the KV store)
    AttentionParams for [Attention, AttentionWindow, AttentionCombine, KvStore] {
        nh: u32, nkv: u32, d: u32, width: u32, cap: u32, chunk: u32, scale: f32, splits: u32,
        kv_head: u32, window: u32, window_keys: u32, pack_stride: u32,
    }
);
kernel_params!(
    /// shaders/sample/sample.wgsl
    SampleParams for [Sample] {
        vocab: u32, row0: u32, greedy: u32, top_k: u32, top_p: f32, inv_temp: f32, seed: u32, slices: u32,
        cap: u32,
    }
);
kernel_params!(
    /// shaders/sample/candidates.wgsl
    CandidatesParams for [SampleCandidates] { vocab: u32, row0: u32, slice: u32, slices: u32, inv_temp: f32, cap: u32 }
);
kernel_params!(
    /// shaders/sample/argmax.wgsl
    ArgmaxParams for [SampleArgmax] { vocab: u32, row0: u32, slice: u32 }
);

kernel_params!(
    /// shaders/bench/copy.wgsl and fma.wgsl
    PeakParams for [PeakCopy, PeakFma] { n: u32, iters: u32, stride: u32 }
);

kernel_params!(
    /// shaders/embed/merge.wgsl
    MergeParams for [ImageMerge] { hidden: u32, pos0: u32, n_pos: u32 }
);

kernel_params!(
    /// shaders/norm/layernorm.wgsl
    LayerNormParams for [LayerNorm] { n: u32, eps: f32 }
);

kernel_params!(
    /// shaders/vision/patches.wgsl
    PatchesParams for [VisionPatches] { side: u32, patch_size: u32 }
);

kernel_params!(
    /// shaders/vision/embed.wgsl
    VisionEmbedParams for [VisionEmbed] { hidden: u32, patches: u32 }
);

kernel_params!(
    /// shaders/vision/rope2d.wgsl
    Rope2dParams for [VisionRope] { hidden: u32, head_dim: u32, tokens: u32 }
);

kernel_params!(
    /// shaders/vision/attention.wgsl
    VisionAttentionParams for [VisionAttention] { hidden: u32, head_dim: u32, tokens: u32, scale: f32 }
);

kernel_params!(
    /// shaders/vision/bias_act.wgsl
    BiasActParams for [BiasAct] { n: u32, rows: u32, gelu: u32 }
);

kernel_params!(
    /// shaders/vision/shuffle.wgsl
    ShuffleParams for [PixelShuffle] { grid: u32, channels: u32, s: u32 }
);

/// Every parameter struct's shaders and fields (what the reflection test walks).
pub fn all() -> Vec<(&'static [Shader], &'static [Field])> {
    fn e<P: KernelParams>() -> (&'static [Shader], &'static [Field]) {
        (P::SHADERS, P::FIELDS)
    }
    vec![
        e::<MatmulParams>(),
        e::<EmbedParams>(),
        e::<RmsNormParams>(),
        e::<SwigluParams>(),
        e::<RouterParams>(),
        e::<GroupParams>(),
        e::<GatherParams>(),
        e::<CombineParams>(),
        e::<QkPrepParams>(),
        e::<AttentionParams>(),
        e::<SampleParams>(),
        e::<ArgmaxParams>(),
        e::<CandidatesParams>(),
        e::<PeakParams>(),
        e::<MergeParams>(),
        e::<LayerNormParams>(),
        e::<PatchesParams>(),
        e::<VisionEmbedParams>(),
        e::<Rope2dParams>(),
        e::<VisionAttentionParams>(),
        e::<BiasActParams>(),
        e::<ShuffleParams>(),
    ]
}

/// A size, count or position as a 32-bit kernel parameter: values that do not fit are an error,
/// never truncated or saturated.
pub fn fit(v: impl TryInto<u32> + Copy + std::fmt::Display) -> Result<u32> {
    v.try_into().map_err(|_| {
        Error::Input(format!("{v} does not fit in 32 bits (a size or position too large for the GPU kernels)"))
    })
}
