//! `llama4-wgpu doctor`: every adapter's identity, features and limits, then the conformance run
//! (every kernel variant against the CPU reference, and the built-in tiny Llama 4 against
//! transformers) as a table or JSON; `--compare a.json b.json` diffs two reports.

use anyhow::{bail, Context, Result};
use llama4_wgpu::conformance::report::{self, AdapterRun, Report};
use llama4_wgpu::conformance::{devices, run_kernels, run_model, Checks};
use llama4_wgpu::gpu::{feature_line, list_adapters, parse_backend, parse_limits, AdapterChoice, LimitsPreset};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct DoctorArgs {
    /// Print the report as JSON on stdout (progress goes to stderr).
    #[arg(long)]
    json: bool,
    /// Only this backend's adapters: vulkan, metal, dx12 or gl.
    #[arg(long)]
    backend: Option<String>,
    /// Only this adapter (index from `llama4-wgpu adapters`, with the same --backend).
    #[arg(long)]
    adapter: Option<usize>,
    /// `webgpu-default`: check under the WebGPU spec's default limits with shader-f16 and
    /// subgroups masked off (the browser path).
    #[arg(long)]
    limits: Option<String>,
    /// Compare two `doctor --json` reports: what passes on one and fails on the other, and where
    /// the error grew. Exits 1 when outcomes differ.
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with_all = ["json", "backend", "adapter", "limits"])]
    compare: Option<Vec<PathBuf>>,
}

pub fn doctor(a: DoctorArgs) -> Result<()> {
    if let Some(files) = &a.compare {
        return compare(&files[0], &files[1]);
    }
    let backend = a.backend.as_deref().map(parse_backend).transpose()?;
    let preset = a.limits.as_deref().map(parse_limits).transpose()?.unwrap_or_default();
    let all = pollster::block_on(list_adapters(backend));
    if all.is_empty() {
        bail!("no GPU adapter found (install a Vulkan driver, e.g. mesa-vulkan-drivers, or try --backend gl)");
    }
    if let Some(i) = a.adapter.filter(|&i| i >= all.len()) {
        bail!("--adapter {i} does not exist: {} adapter(s) found (see `llama4-wgpu adapters`)", all.len());
    }
    let mut report = Report::new();
    for (_, r) in all.iter().filter(|(_, r)| a.adapter.is_none_or(|i| i == r.index)) {
        let run = check_adapter(r.index, &r.info, backend, preset, a.json);
        report.adapters.push(run);
    }
    let failed = report.failed();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    let total: usize = report.adapters.iter().map(|r| r.checks.len()).sum();
    eprintln!("doctor: {} adapter(s), {total} checks, {failed} failed", report.adapters.len());
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// Opens the adapter as the devices that cover every variant (its own choices; the other matmul
/// layout with weights split into small chunks; no subgroups where it has them) and runs every
/// check; prints as it goes (to stderr with --json).
fn check_adapter(
    index: usize,
    info: &wgpu::AdapterInfo,
    backend: Option<wgpu::Backends>,
    preset: LimitsPreset,
    json: bool,
) -> AdapterRun {
    let mut run = AdapterRun::new(index, info, preset.name());
    let say = |s: &str| {
        if json {
            eprintln!("{s}");
        } else {
            println!("{s}");
            let _ = std::io::stdout().flush();
        }
    };
    say(&format!("\n{}\n    driver: {} {}", run.title(), run.driver, run.driver_info));
    let choice = AdapterChoice { backend, index: Some(index), limits: preset, ..Default::default() };
    let devices = match pollster::block_on(devices(&choice)) {
        Ok(d) => d,
        Err(e) => {
            say(&format!("    cannot open: {e}"));
            run.error = Some(e.to_string());
            return run;
        }
    };
    run.describe_device(&devices[0].1);
    say(&format!("    features: {}", feature_line(&run.features)));
    let limits: Vec<String> = run.limits.iter().map(|(k, v)| format!("{k} {v}")).collect();
    say(&format!("    limits: {}", limits.join(", ")));
    say(&report::header());
    let mut checks = Checks::new(|c| say(&report::row(c)));
    pollster::block_on(async {
        run_kernels(&devices, &mut checks).await;
        run_model(&devices, &mut checks).await;
    });
    let failed = checks.failed();
    run.checks = checks.list;
    say(&format!("    {} checks, {failed} failed", run.checks.len()));
    run
}

fn compare(a: &PathBuf, b: &PathBuf) -> Result<()> {
    let read = |p: &PathBuf| -> Result<Report> {
        let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{}: not a `doctor --json` report", p.display()))
    };
    let (ra, rb) = (read(a)?, read(b)?);
    println!("A = {}\nB = {}", a.display(), b.display());
    let c = report::compare(&ra, &rb);
    for l in &c.lines {
        println!("{l}");
    }
    if c.differences > 0 {
        eprintln!("doctor --compare: {} check(s) differ in outcome", c.differences);
        std::process::exit(1);
    }
    Ok(())
}
