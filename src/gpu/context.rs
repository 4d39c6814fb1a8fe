//! Adapter discovery and device creation. The device gets the adapter's own limits (the WebGPU
//! defaults are far too small for LLM weights) and shader-f16 where the adapter has it.

use crate::error::{Error, Result};
use crate::gpu::pipelines::PipelineCache;

/// How the user picks an adapter: a backend filter and an index into the filtered list.
#[derive(Clone, Debug, Default)]
pub struct AdapterChoice {
    pub backend: Option<wgpu::Backends>,
    pub index: Option<usize>,
    /// Split weights and logits as if the storage-binding limit were this low (tests force splitting).
    pub max_binding_override: Option<u64>,
    /// Force the matmul layout: one invocation per row group (`true`, the CPU-adapter layout) or
    /// split-k workgroups (`false`). Default: by device type.
    pub row_lane_matmul: Option<bool>,
    /// `Some(false)`: prompts' dense matmuls on the GPU layout run the GEMV with 8 token rows a
    /// workgroup instead of the tiled GEMM (`bench --gemm rows`, for A/B). Default: tiled.
    pub tiled_gemm: Option<bool>,
    /// RMSNorms fused into the matmul reading them (`Some(true)`, `--norm fused`) or each run as
    /// its own pass (`Some(false)`, `--norm pass`). Default: fused on GPUs, passes on CPU
    /// adapters (measured faster on lavapipe: see BENCHMARKS.md).
    pub fused_norm: Option<bool>,
    /// `Some(false)`: workgroup-memory reductions even where the adapter has subgroups (tests and
    /// `doctor` check both variants on one adapter). Default: subgroups where available.
    pub subgroups: Option<bool>,
    /// `Some(false)`: no native f16 even where the adapter has shader-f16 (f16 data is then
    /// unpacked to f32 math). Default: shader-f16 where available.
    pub shader_f16: Option<bool>,
    /// `Some(false)`: decode f16 with integer ops even where `unpack2x16float` works (and refuse
    /// an f16 KV cache). Default: the builtins where they work.
    pub f16_builtins: Option<bool>,
    /// The limits and optional features the device is created with.
    pub limits: LimitsPreset,
}

/// Which limits and optional features a device asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LimitsPreset {
    /// Everything the adapter offers.
    #[default]
    Adapter,
    /// The WebGPU spec's default limits (128 MiB storage bindings, 256 MiB buffers, 16 KiB of
    /// workgroup memory, 256 invocations) with shader-f16 and subgroups masked off: what a
    /// browser gives a page, on any machine.
    WebGpuDefault,
}

impl LimitsPreset {
    /// The name `--limits` takes.
    pub fn name(self) -> &'static str {
        match self {
            LimitsPreset::Adapter => "adapter",
            LimitsPreset::WebGpuDefault => "webgpu-default",
        }
    }
}

pub fn parse_limits(name: &str) -> Result<LimitsPreset> {
    match name.to_ascii_lowercase().as_str() {
        "adapter" => Ok(LimitsPreset::Adapter),
        "webgpu-default" | "webgpu" => Ok(LimitsPreset::WebGpuDefault),
        other => Err(Error::Input(format!("unknown --limits `{other}` (adapter, webgpu-default)"))),
    }
}

pub fn parse_backend(name: &str) -> Result<wgpu::Backends> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "vulkan" | "vk" => wgpu::Backends::VULKAN,
        "metal" => wgpu::Backends::METAL,
        "dx12" | "d3d12" => wgpu::Backends::DX12,
        "gl" | "gles" | "opengl" => wgpu::Backends::GL,
        "webgpu" | "browser" => wgpu::Backends::BROWSER_WEBGPU,
        "all" => wgpu::Backends::all(),
        other => return Err(Error::Input(format!("unknown backend `{other}` (vulkan, metal, dx12, gl)"))),
    })
}

/// What the kernels need of a device, whatever variants it gets: the largest workgroup, the most
/// workgroup memory one variant declares, the most storage and uniform buffers one binds. All are
/// within WebGPU's default limits, so every conformant adapter qualifies; the naga test checks
/// every variant against these numbers (and that they are tight).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requirements {
    pub invocations_per_workgroup: u32,
    pub workgroup_size_x: u32,
    pub workgroup_storage_bytes: u32,
    pub storage_buffers_per_stage: u32,
    pub uniform_buffers_per_stage: u32,
    /// Weight textures (CPU adapters' weight store).
    pub sampled_textures_per_stage: u32,
}

pub const REQUIRED: Requirements = Requirements {
    invocations_per_workgroup: 256,
    workgroup_size_x: 256,
    workgroup_storage_bytes: 13824, // the tiled GEMM's weight and activation tiles
    storage_buffers_per_stage: 5,
    uniform_buffers_per_stage: 4,
    sampled_textures_per_stage: 1,
};

impl Requirements {
    /// Each limit of `l` below what the kernels need, named as wgpu names it.
    pub fn shortfalls(&self, l: &wgpu::Limits) -> Vec<String> {
        [
            (
                "max_compute_invocations_per_workgroup",
                l.max_compute_invocations_per_workgroup,
                self.invocations_per_workgroup,
            ),
            ("max_compute_workgroup_size_x", l.max_compute_workgroup_size_x, self.workgroup_size_x),
            ("max_compute_workgroup_storage_size", l.max_compute_workgroup_storage_size, self.workgroup_storage_bytes),
            (
                "max_storage_buffers_per_shader_stage",
                l.max_storage_buffers_per_shader_stage,
                self.storage_buffers_per_stage,
            ),
            (
                "max_uniform_buffers_per_shader_stage",
                l.max_uniform_buffers_per_shader_stage,
                self.uniform_buffers_per_stage,
            ),
            (
                "max_sampled_textures_per_shader_stage",
                l.max_sampled_textures_per_shader_stage,
                self.sampled_textures_per_stage,
            ),
        ]
        .into_iter()
        .filter(|(_, have, need)| have < need)
        .map(|(name, have, need)| format!("{name} {have} (the kernels need {need})"))
        .collect()
    }
}

/// The optional features the kernels use, by the names the CLI and reports print.
pub fn feature_names(f: wgpu::Features) -> Vec<&'static str> {
    [
        (wgpu::Features::SHADER_F16, "shader-f16"),
        (wgpu::Features::SUBGROUP, "subgroups"),
        (wgpu::Features::TIMESTAMP_QUERY, "timestamp-query"),
    ]
    .into_iter()
    .filter(|(x, _)| f.contains(*x))
    .map(|(_, n)| n)
    .collect()
}

/// [`feature_names`] as one line for people.
pub fn feature_line(names: &[impl AsRef<str>]) -> String {
    if names.is_empty() {
        "(none of shader-f16, subgroups, timestamp-query)".into()
    } else {
        names.iter().map(|n| n.as_ref()).collect::<Vec<_>>().join(", ")
    }
}

/// One line of `llama4-wgpu adapters`.
#[derive(Clone, Debug)]
pub struct AdapterReport {
    pub index: usize,
    pub info: wgpu::AdapterInfo,
    pub features: wgpu::Features,
    pub limits: wgpu::Limits,
}

impl std::fmt::Display for AdapterReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.info;
        let l = &self.limits;
        writeln!(
            f,
            "[{}] {} ({:?}, {:?}) driver: {} {}",
            self.index, i.name, i.backend, i.device_type, i.driver, i.driver_info
        )?;
        writeln!(f, "    features: {}", feature_line(&feature_names(self.features)))?;
        write!(
            f,
            "    limits: max_storage_buffer_binding_size {} MiB, max_buffer_size {} MiB, max_storage_buffers_per_shader_stage {}, \
             max_compute_workgroup_storage_size {} B, max_compute_invocations_per_workgroup {}, max_compute_workgroups_per_dimension {}",
            l.max_storage_buffer_binding_size >> 20,
            l.max_buffer_size >> 20,
            l.max_storage_buffers_per_shader_stage,
            l.max_compute_workgroup_storage_size,
            l.max_compute_invocations_per_workgroup,
            l.max_compute_workgroups_per_dimension
        )
    }
}

/// On a headless Linux machine (no Wayland or X display, no valid `XDG_RUNTIME_DIR`: containers,
/// CI), Mesa's implicit `VK_LAYER_MESA_device_select` layer still tries to connect to a Wayland
/// display while the Vulkan loader enumerates devices, and libwayland prints "error:
/// XDG_RUNTIME_DIR is invalid or not set in the environment." to stderr (twice). The layer only
/// picks the GPU that drives the display, which we never use; there it is switched off with its
/// documented off switch (`NODEVICE_SELECT=1`). Nothing else is silenced: real errors still print.
///
/// Changes the process environment, so the binary, examples and tests call it first thing, before
/// any thread starts; the library itself never does.
pub fn quiet_headless_vulkan() {
    #[cfg(target_os = "linux")]
    {
        let unset = |k: &str| std::env::var_os(k).is_none_or(|v| v.is_empty());
        let runtime_dir_ok = std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).is_dir());
        if unset("WAYLAND_DISPLAY") && unset("DISPLAY") && !runtime_dir_ok && unset("NODEVICE_SELECT") {
            std::env::set_var("NODEVICE_SELECT", "1");
        }
    }
}

fn instance(backends: wgpu::Backends) -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends;
    wgpu::Instance::new(desc)
}

/// Every adapter of the chosen backends, in a stable order.
pub async fn list_adapters(backends: Option<wgpu::Backends>) -> Vec<(wgpu::Adapter, AdapterReport)> {
    let backends = backends.unwrap_or(wgpu::Backends::all());
    let inst = instance(backends);
    let adapters = inst.enumerate_adapters(backends).await;
    adapters
        .into_iter()
        .enumerate()
        .map(|(index, a)| {
            let r = AdapterReport { index, info: a.get_info(), features: a.features(), limits: a.limits() };
            (a, r)
        })
        .collect()
}

/// The optional features kernel variants use where a device has them.
const OPTIONAL_FEATURES: wgpu::Features =
    wgpu::Features::SHADER_F16.union(wgpu::Features::SUBGROUP).union(wgpu::Features::TIMESTAMP_QUERY);

/// Errors naming each of `limits` below what the kernels need, or compute shaders missing.
fn check_requirements(adapter: &wgpu::Adapter, info: &wgpu::AdapterInfo, limits: &wgpu::Limits) -> Result<()> {
    let short = REQUIRED.shortfalls(limits);
    if !short.is_empty() {
        return Err(Error::Unsupported { adapter: info.name.clone(), what: short.join(", ") });
    }
    if !adapter.get_downlevel_capabilities().flags.contains(wgpu::DownlevelFlags::COMPUTE_SHADERS) {
        return Err(Error::Unsupported { adapter: info.name.clone(), what: "compute shaders".into() });
    }
    Ok(())
}

/// The device, its queue, what it can do and the pipeline cache. A clone is another handle to the
/// same device, queue and cache.
#[derive(Clone)]
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    pub features: wgpu::Features,
    /// Largest storage binding the adapter allows.
    pub max_binding: u64,
    /// Largest binding planned for splittable tensors (weight chunks, logits blocks): `max_binding`,
    /// or lower when overridden.
    pub split_limit: u64,
    /// Whether `split_limit` was lowered on purpose (`AdapterChoice::max_binding_override`), so
    /// that weights split where the adapter alone would not split them.
    pub split_overridden: bool,
    pub pipelines: std::sync::Arc<PipelineCache>,
    /// Matmul layout: whole rows per invocation (CPU adapters) instead of split-k workgroups.
    pub row_lane_matmul: bool,
    /// Weights live in textures of 16-byte texels (with the row-lane layout: on CPU adapters a
    /// texel fetch is a gather, a storage load a loop over the SIMD lanes; 6x on lavapipe).
    pub texture_weights: bool,
    /// Prompts' dense matmuls run as a tiled GEMM (GPU layout only; see `Flag::Tiled`).
    pub tiled_gemm: bool,
    /// Matmuls apply the RMSNorm of their input rows themselves (see `Flag::Norm`).
    pub fused_norm: bool,
    /// Reductions use subgroup operations (the device has the feature and it was not turned off).
    pub subgroups: bool,
    /// f16 data is read and computed as native f16 (the device has shader-f16, not turned off).
    pub shader_f16: bool,
    /// `pack2x16float` / `unpack2x16float` work (wgpu's downlevel SHADER_F16_IN_F32: everywhere
    /// but Mesa's lavapipe without shader-f16): what an f16 KV cache needs.
    pub f16_in_f32: bool,
    /// On a device the library created: the first GPU error no error scope caught (wgpu's
    /// default handler would panic). `None` on a host's device, whose handler stays the host's.
    uncaptured: Option<std::sync::Arc<std::sync::Mutex<Option<String>>>>,
}

impl GpuContext {
    /// Picks an adapter (by index, else the first discrete/integrated GPU, else whatever exists).
    pub async fn new(choice: &AdapterChoice) -> Result<Self> {
        // An --adapter index refers to the list `llama4-wgpu adapters` prints (all backends, or the
        // one chosen). Otherwise the primary APIs (Vulkan, Metal, DX12, WebGPU) first; GL only if none.
        let mut all = match (choice.backend, choice.index) {
            (Some(b), _) => list_adapters(Some(b)).await,
            (None, Some(_)) => list_adapters(None).await,
            (None, None) => {
                let primary = list_adapters(Some(wgpu::Backends::PRIMARY)).await;
                if primary.is_empty() {
                    list_adapters(Some(wgpu::Backends::SECONDARY)).await
                } else {
                    primary
                }
            }
        };
        if all.is_empty() {
            return Err(Error::NoAdapter(format!(
                "wgpu found no adapter for backends {:?}; install a Vulkan driver (e.g. mesa-vulkan-drivers for lavapipe) or pick another --backend",
                choice.backend.unwrap_or(wgpu::Backends::all())
            )));
        }
        let pos = match choice.index {
            Some(i) => {
                if i >= all.len() {
                    return Err(Error::NoAdapter(format!(
                        "--adapter {i} does not exist: {} adapter(s) found (see `llama4-wgpu adapters`)",
                        all.len()
                    )));
                }
                i
            }
            None => {
                let rank = |t: wgpu::DeviceType| match t {
                    wgpu::DeviceType::DiscreteGpu => 0,
                    wgpu::DeviceType::IntegratedGpu => 1,
                    wgpu::DeviceType::VirtualGpu => 2,
                    wgpu::DeviceType::Cpu => 3,
                    wgpu::DeviceType::Other => 4,
                };
                // Prefer Vulkan over GL for the same device: GL lacks f16 and subgroups.
                let be = |b: wgpu::Backend| if b == wgpu::Backend::Gl { 1 } else { 0 };
                (0..all.len()).min_by_key(|&i| (rank(all[i].1.info.device_type), be(all[i].1.info.backend), i)).unwrap()
            }
        };
        let (adapter, report) = all.swap_remove(pos);
        Self::from_adapter(adapter, report, choice).await
    }

    /// Creates the device on `adapter` (its own limits, or WebGPU's defaults, and every optional
    /// feature the kernels can use) and installs an uncaptured-error handler on it: the device is
    /// the library's own.
    async fn from_adapter(adapter: wgpu::Adapter, report: AdapterReport, choice: &AdapterChoice) -> Result<Self> {
        let info = report.info.clone();
        let (limits, wanted) = match choice.limits {
            // Every optional feature a kernel variant can use, where the adapter has it.
            LimitsPreset::Adapter => (adapter.limits(), OPTIONAL_FEATURES),
            LimitsPreset::WebGpuDefault => {
                let webgpu = wgpu::Limits::default();
                let mut short = vec![];
                webgpu.check_limits_with_fail_fn(&adapter.limits(), false, |name, want, have| {
                    short.push(format!("{name} {have} (WebGPU's default is {want})"))
                });
                if !short.is_empty() {
                    return Err(Error::Unsupported {
                        adapter: info.name.clone(),
                        what: format!("the WebGPU default limits: {}", short.join(", ")),
                    });
                }
                (webgpu, wgpu::Features::empty())
            }
        };
        check_requirements(&adapter, &info, &limits)?;
        let features = adapter.features() & wanted;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("llama4-wgpu"),
                required_features: features,
                required_limits: limits.clone(),
                experimental_features: wgpu::ExperimentalFeatures::disabled(),
                memory_hints: wgpu::MemoryHints::Performance,
                trace: wgpu::Trace::Off,
            })
            .await
            .map_err(|e| Error::Gpu(format!("request_device on `{}`: {e}", info.name)))?;
        let uncaptured = std::sync::Arc::new(std::sync::Mutex::new(None));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(std::sync::Arc::new(move |e: wgpu::Error| {
            let mut slot = sink.lock().unwrap();
            if slot.is_none() {
                *slot = Some(e.to_string());
            }
        }));
        let mut ctx = Self::build(&adapter, device, queue, choice)?;
        ctx.uncaptured = Some(uncaptured);
        Ok(ctx)
    }

    /// The runtime on a device the host app already has (its UI's, say), created from `adapter`.
    /// The kernels use the device's limits and whichever of shader-f16 and subgroups it was
    /// created with (`choice`'s adapter fields are ignored; its variant switches apply). Nothing
    /// global is changed on the device: GPU errors of the library's work are caught with error
    /// scopes and returned as `Err`s, and the host's uncaptured-error handler stays as it is.
    ///
    /// Create the device with [`GpuContext::wanted_limits`] and [`GpuContext::wanted_features`]
    /// for the most room (the WebGPU defaults work, with weights split into 128 MiB bindings).
    /// Errors name each limit below what the kernels need.
    pub fn from_device(
        adapter: &wgpu::Adapter,
        device: wgpu::Device,
        queue: wgpu::Queue,
        choice: &AdapterChoice,
    ) -> Result<Self> {
        check_requirements(adapter, &adapter.get_info(), &device.limits())?;
        Self::build(adapter, device, queue, choice)
    }

    /// The limits to create a shared device with: everything `adapter` offers.
    pub fn wanted_limits(adapter: &wgpu::Adapter) -> wgpu::Limits {
        adapter.limits()
    }

    /// The optional features to create a shared device with: those of shader-f16, subgroups and
    /// timestamp queries `adapter` has.
    pub fn wanted_features(adapter: &wgpu::Adapter) -> wgpu::Features {
        adapter.features() & OPTIONAL_FEATURES
    }

    fn build(
        adapter: &wgpu::Adapter,
        device: wgpu::Device,
        queue: wgpu::Queue,
        choice: &AdapterChoice,
    ) -> Result<Self> {
        let info = adapter.get_info();
        let limits = device.limits();
        let features = device.features() & OPTIONAL_FEATURES;
        let downlevel = adapter.get_downlevel_capabilities();
        let max_binding = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size) & !3;
        // Weight shaders address their chunk in bytes with u32: keep chunks under 4 GiB.
        let natural = max_binding.min(u32::MAX as u64) & !255;
        let split_limit = choice.max_binding_override.map_or(natural, |o| o.min(natural)) & !255;
        let split_overridden = split_limit < natural;
        let row_lane_matmul = choice.row_lane_matmul.unwrap_or(info.device_type == wgpu::DeviceType::Cpu);
        let subgroups = features.contains(wgpu::Features::SUBGROUP) && choice.subgroups != Some(false);
        let shader_f16 = features.contains(wgpu::Features::SHADER_F16) && choice.shader_f16 != Some(false);
        let f16_in_f32 =
            downlevel.flags.contains(wgpu::DownlevelFlags::SHADER_F16_IN_F32) && choice.f16_builtins != Some(false);
        Ok(GpuContext {
            row_lane_matmul,
            texture_weights: row_lane_matmul,
            tiled_gemm: !row_lane_matmul && choice.tiled_gemm != Some(false),
            fused_norm: choice.fused_norm.unwrap_or(!row_lane_matmul),
            subgroups,
            shader_f16,
            f16_in_f32,
            uncaptured: None,
            pipelines: Default::default(),
            device,
            queue,
            info,
            limits,
            features,
            max_binding,
            split_limit,
            split_overridden,
        })
    }

    /// The first error the library's own handler caught since the last check (none on a host's
    /// device).
    pub(crate) fn take_uncaptured(&self) -> Option<String> {
        self.uncaptured.as_ref().and_then(|u| u.lock().unwrap().take())
    }

    /// Hands the weight bytes written so far to the GPU and (natively) waits, so wgpu's staging
    /// memory stays bounded while a large model streams up.
    pub fn flush_uploads(&self) {
        self.queue.submit([]);
        #[cfg(not(target_arch = "wasm32"))]
        let _ = self.device.poll(wgpu::PollType::Wait { submission_index: None, timeout: None });
    }

    pub fn adapter_name(&self) -> &str {
        &self.info.name
    }

    /// Largest weight chunk: the storage binding limit, or with textures also what a texture of
    /// `gpu::weight_store::TEX_WIDTH`-texel rows holds.
    pub fn weight_chunk_limit(&self) -> u64 {
        if self.texture_weights {
            let rows = self.limits.max_texture_dimension_2d as u64;
            self.split_limit.min(rows * super::weight_store::TEX_WIDTH as u64 * 16)
        } else {
            self.split_limit
        }
    }

    /// A CPU adapter (lavapipe, llvmpipe, SwiftShader): SIMD lanes over a few cores, where kernels
    /// take the variants that suit it (see the matmul's ROW_LANE and attention's plans).
    pub fn is_cpu(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// Whether subgroup operations are on and one subgroup holds a whole workgroup of `lanes`
    /// invocations (kernels that broadcast between a workgroup's lanes).
    pub fn subgroup_holds(&self, lanes: usize) -> bool {
        self.subgroups && self.info.subgroup_min_size as usize >= lanes
    }

    /// Errors (instead of a validation abort) when a buffer of `bytes` cannot be bound.
    pub fn check_binding(&self, what: &str, bytes: u64) -> Result<()> {
        if bytes > self.max_binding {
            return Err(Error::Unsupported {
                adapter: self.info.name.clone(),
                what: format!(
                    "a storage binding of {bytes} bytes for {what} (max_storage_buffer_binding_size is {})",
                    self.max_binding
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_below_what_the_kernels_need_is_named() {
        assert!(REQUIRED.shortfalls(&wgpu::Limits::default()).is_empty(), "WebGPU's defaults suffice");
        let gles = wgpu::Limits {
            max_compute_invocations_per_workgroup: 128,
            max_compute_workgroup_size_x: 128,
            ..Default::default()
        };
        assert_eq!(
            REQUIRED.shortfalls(&gles),
            [
                "max_compute_invocations_per_workgroup 128 (the kernels need 256)",
                "max_compute_workgroup_size_x 128 (the kernels need 256)"
            ]
        );
        let tiny = wgpu::Limits {
            max_compute_workgroup_storage_size: 4096,
            max_storage_buffers_per_shader_stage: 4,
            ..Default::default()
        };
        let s = REQUIRED.shortfalls(&tiny).join(", ");
        assert!(s.contains("max_compute_workgroup_storage_size 4096 (the kernels need 13824)"), "{s}");
        assert!(s.contains("max_storage_buffers_per_shader_stage 4 (the kernels need 5)"), "{s}");
    }
}
