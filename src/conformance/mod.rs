//! Conformance: every kernel variant the runtime can pick on an adapter, run against the plain f32
//! CPU reference ([`crate::reference::ops`]) at ragged shapes and shapes that span many
//! workgroups, then a tiny Llama 4 whose transformers logits are built into the library
//! ([`e2e`]). `llama4-wgpu doctor` prints and stores the result ([`report`]); the kernel tests
//! assert it. Everything here is async GPU work, so it runs wherever the library does.

pub mod data;
pub mod e2e;
mod matmul;
mod moe;
mod ops;
pub mod report;
mod vision;

use crate::error::Result;
use crate::gpu::{AdapterChoice, GpuContext, Plan, Recorder, WeightFormat};
use serde::{Deserialize, Serialize};

/// One conformance measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// The kernel (shader family), e.g. `matmul`.
    pub kernel: String,
    /// What was chosen: weight format, layout, flags, chunking.
    pub variant: String,
    /// The problem size, e.g. `67x1184 T=11`.
    pub shape: String,
    /// `max |gpu - cpu| / max |cpu|`, or the count of differing elements for exact checks;
    /// infinite (JSON `null`) when the output held NaN or the case did not run.
    #[serde(with = "inf_as_null")]
    pub max_err: f64,
    pub tol: f64,
    /// Wall time of the case: upload, pipeline creation (first use), dispatch and readback.
    pub ms: f64,
    pub pass: bool,
    /// Why the case could not run (a pipeline the driver rejected, a limit), when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Check {
    /// Identity across machines: what `doctor --compare` matches on.
    pub fn id(&self) -> (String, String, String) {
        (self.kernel.clone(), self.variant.clone(), self.shape.clone())
    }
}

/// JSON has no infinity: `null` stands for it.
mod inf_as_null {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_none()
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
    }
}

/// f16 math (`--dtype f16` on shader-f16 adapters) against the f32 CPU reference: matmuls
/// (weights and activations rounded to f16, four-term sums in f16) measured 3e-4 to 9e-4 on
/// lavapipe, attention (q, k, v rounded to f16, f16 products) 3e-4 to 4e-4.
pub const F16_MATH_TOL: f64 = 2e-3;

/// The weight-chunk size of the [`Role::Split`] device: small enough to split every matrix the checks use.
pub const ALT_SPLIT: u64 = 1536;

/// Collects checks, reporting each as it completes.
pub struct Checks<'a> {
    pub list: Vec<Check>,
    on_check: Box<dyn FnMut(&Check) + 'a>,
}

impl<'a> Checks<'a> {
    pub fn new(on_check: impl FnMut(&Check) + 'a) -> Self {
        Checks { list: vec![], on_check: Box::new(on_check) }
    }

    /// Runs one case: `err` is its error measure, judged against `tol`. A case that fails to run
    /// is a failed check carrying the error, never an abort of the whole run.
    pub async fn run(
        &mut self,
        kernel: &str,
        variant: impl Into<String>,
        shape: impl Into<String>,
        tol: f64,
        case: impl std::future::Future<Output = Result<f64>>,
    ) {
        let t0 = web_time::Instant::now();
        let result = case.await;
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        self.run_timed(kernel, variant, shape, tol, ms, result);
    }

    /// Records a case that was run (and timed) elsewhere.
    pub fn run_timed(
        &mut self,
        kernel: &str,
        variant: impl Into<String>,
        shape: impl Into<String>,
        tol: f64,
        ms: f64,
        result: Result<f64>,
    ) {
        let (max_err, error) = match result {
            Ok(e) => (e, None),
            Err(e) => (f64::INFINITY, Some(e.to_string())),
        };
        let check = Check {
            kernel: kernel.into(),
            variant: variant.into(),
            shape: shape.into(),
            max_err,
            tol,
            ms,
            pass: error.is_none() && max_err <= tol,
            error,
        };
        (self.on_check)(&check);
        self.list.push(check);
    }

    pub fn failed(&self) -> usize {
        self.list.iter().filter(|c| !c.pass).count()
    }
}

/// What a device of [`devices`] is there to cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The adapter as the runtime picks it: every kernel.
    Main,
    /// The other matmul layout with weights split at [`ALT_SPLIT`] bytes: the weight readers and
    /// the model, chunked.
    Split,
    /// shader-f16 turned off on an adapter that has it: the f16 KV cache unpacked to f32 math.
    Packed,
    /// No optional feature on an adapter that has some (subgroups, shader-f16, the f16 pack
    /// builtins): workgroup-memory reductions (split-k matmul), halves decoded with integer ops,
    /// the model.
    Plain,
}

/// The devices that together cover every variant the runtime can choose on the adapter of
/// `choice`: [`Role::Main`] and [`Role::Split`] always, [`Role::Packed`] where the adapter has
/// shader-f16, [`Role::Plain`] where it has any optional feature the kernels use.
pub async fn devices(choice: &AdapterChoice) -> Result<Vec<(Role, GpuContext)>> {
    let main = GpuContext::new(choice).await?;
    let split = AdapterChoice {
        row_lane_matmul: Some(!main.row_lane_matmul),
        max_binding_override: Some(ALT_SPLIT),
        ..choice.clone()
    };
    let mut out = vec![(Role::Split, GpuContext::new(&split).await?)];
    if main.shader_f16 {
        let packed = AdapterChoice { shader_f16: Some(false), ..choice.clone() };
        out.push((Role::Packed, GpuContext::new(&packed).await?));
    }
    if main.subgroups || main.shader_f16 || main.f16_in_f32 {
        let plain = AdapterChoice {
            row_lane_matmul: Some(false),
            subgroups: Some(false),
            shader_f16: Some(false),
            f16_builtins: Some(false),
            ..choice.clone()
        };
        out.push((Role::Plain, GpuContext::new(&plain).await?));
    }
    out.insert(0, (Role::Main, main));
    Ok(out)
}

/// Every kernel check on the devices of [`devices`].
pub async fn run_kernels(devices: &[(Role, GpuContext)], checks: &mut Checks<'_>) {
    let all = |_: WeightFormat| true;
    let halves = |f: WeightFormat| has_halves(f);
    let none = |_: WeightFormat| false;
    for (role, c) in devices {
        let (matmul_formats, embed_formats): (&dyn Fn(WeightFormat) -> bool, &dyn Fn(WeightFormat) -> bool) = match role
        {
            Role::Main | Role::Split => (&all, &all),
            Role::Packed => (&none, &none),
            Role::Plain => (&all, &halves),
        };
        matmul::dense(c, matmul_formats, checks).await;
        matmul::experts(c, matmul_formats, checks).await;
        matmul::embed(c, embed_formats, checks).await;
        // workgroup-memory reductions on Plain where Main has subgroups (else Main ran them)
        if *role == Role::Main || (*role == Role::Plain && devices[0].1.subgroups) {
            ops::reductions(c, checks).await;
        }
        match role {
            Role::Main => {
                ops::elementwise(c, checks).await;
                vision::checks(c, checks).await;
                moe::checks(c, checks).await;
                // an f16 cache where the adapter can pack f16 (else `--dtype f16` is refused)
                ops::attention(c, if c.f16_in_f32 { &[false, true] } else { &[false] }, checks).await;
            }
            Role::Packed => ops::attention(c, &[true], checks).await,
            _ => {}
        }
    }
}

/// The built-in tiny Llama 4 on every device of [`devices`] (but [`Role::Packed`]: the f32 model
/// runs there as on [`Role::Main`]).
pub async fn run_model(devices: &[(Role, GpuContext)], checks: &mut Checks<'_>) {
    for (_, c) in devices.iter().filter(|(r, _)| *r != Role::Packed) {
        let chunked = if c.split_overridden { " chunked" } else { "" };
        e2e::run(c, &format!("{}, {}{chunked}", layout(c), half_decode(c)), checks).await;
    }
}

/// Whether a format stores IEEE halves (f16 weights, or f16 scales of ggml blocks).
pub(crate) fn has_halves(f: WeightFormat) -> bool {
    !matches!(f, WeightFormat::F32 | WeightFormat::Bf16)
}

/// How the context decodes halves, for variant names.
pub(crate) fn half_decode(ctx: &GpuContext) -> &'static str {
    if ctx.f16_in_f32 {
        "f16 unpack"
    } else {
        "f16 int"
    }
}

/// Submits a recorded plan (the checks' one way to the GPU).
pub(crate) fn submit(ctx: &GpuContext, rec: Recorder) -> Result<()> {
    ctx.scoped("a conformance case", || {
        let plan: Plan = rec.finish();
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        plan.encode(&mut enc);
        ctx.queue.submit([enc.finish()]);
        Ok(())
    })
}

/// A whole activation buffer back on the CPU.
pub(crate) async fn read(ctx: &GpuContext, a: &crate::gpu::Activation) -> Result<Vec<f32>> {
    crate::gpu::buffers::read_f32(ctx, a, 0, a.len).await
}

/// How the context lays out the matmul, for variant names.
pub(crate) fn layout(ctx: &GpuContext) -> &'static str {
    match (ctx.row_lane_matmul, crate::kernels::matmul::subgroups(ctx)) {
        (true, true) => "row-lane subgroup",
        (true, false) => "row-lane",
        (false, true) => "split-k subgroup",
        (false, false) => "split-k",
    }
}

/// How the context reduces across a workgroup, for variant names.
pub(crate) fn reduction(ctx: &GpuContext) -> &'static str {
    if ctx.subgroups {
        "subgroup"
    } else {
        "workgroup"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_fails_on_error_above_tolerance_or_when_the_case_cannot_run() {
        let mut seen = 0;
        let mut checks = Checks::new(|_| seen += 1);
        pollster::block_on(async {
            checks.run("k", "v", "s", 1e-5, async { Ok(2e-6) }).await;
            checks.run("k", "v", "s", 1e-5, async { Ok(2e-5) }).await;
            checks.run("k", "v", "s", 0.0, async { Ok(f64::INFINITY) }).await;
            checks.run("k", "v", "s", 1.0, async { Err(crate::Error::Gpu("pipeline rejected".into())) }).await;
        });
        let pass: Vec<bool> = checks.list.iter().map(|c| c.pass).collect();
        assert_eq!(pass, [true, false, false, false]);
        assert_eq!(checks.list[3].error.as_deref(), Some("GPU error: pipeline rejected"));
        assert_eq!(checks.failed(), 3);
        drop(checks);
        assert_eq!(seen, 4);
    }

    #[test]
    fn error_measures_catch_nan_and_length_mismatch() {
        assert_eq!(data::rel_err(&[1.0, f32::NAN], &[1.0, 2.0]), f64::INFINITY);
        assert_eq!(data::rel_err(&[1.0], &[1.0, 2.0]), f64::INFINITY);
        assert!((data::rel_err(&[1.0, 2.5], &[1.0, 2.0]) - 0.25).abs() < 1e-12);
        assert_eq!(data::mismatches(&[1u32, 2, 3], &[1, 5, 3]), 1.0);
    }
}
