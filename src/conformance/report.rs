//! The conformance report: per adapter its identity, features, limits and checks; a table for
//! people, JSON for machines, and the comparison of two reports from different machines.

use super::Check;
use crate::gpu::GpuContext;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Report {
    pub tool: String,
    pub version: String,
    pub adapters: Vec<AdapterRun>,
}

/// One adapter's run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AdapterRun {
    /// Index in `llama4-wgpu adapters` (with the same `--backend`).
    pub index: usize,
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    pub vendor: u32,
    pub device: u32,
    /// `adapter` or `webgpu-default`.
    pub limits_preset: String,
    /// Optional features the device was created with.
    pub features: Vec<String>,
    /// The limits kernels and weight splitting depend on, as the device has them.
    pub limits: BTreeMap<String, u64>,
    pub checks: Vec<Check>,
    /// Why the adapter could not be opened at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl AdapterRun {
    pub fn new(index: usize, info: &wgpu::AdapterInfo, limits_preset: &str) -> Self {
        AdapterRun {
            index,
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
            vendor: info.vendor,
            device: info.device,
            limits_preset: limits_preset.into(),
            ..Default::default()
        }
    }

    /// Features and limits of the device the checks ran on.
    pub fn describe_device(&mut self, ctx: &GpuContext) {
        self.features = crate::gpu::feature_names(ctx.features).into_iter().map(String::from).collect();
        let l = &ctx.limits;
        self.limits = [
            ("max_storage_buffer_binding_size", l.max_storage_buffer_binding_size),
            ("max_buffer_size", l.max_buffer_size),
            ("max_storage_buffers_per_shader_stage", l.max_storage_buffers_per_shader_stage as u64),
            ("max_compute_workgroup_storage_size", l.max_compute_workgroup_storage_size as u64),
            ("max_compute_invocations_per_workgroup", l.max_compute_invocations_per_workgroup as u64),
            ("max_compute_workgroup_size_x", l.max_compute_workgroup_size_x as u64),
            ("max_compute_workgroups_per_dimension", l.max_compute_workgroups_per_dimension as u64),
            ("subgroup_min_size", ctx.info.subgroup_min_size as u64),
            ("subgroup_max_size", ctx.info.subgroup_max_size as u64),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    }

    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| !c.pass).count() + self.error.is_some() as usize
    }

    /// A title line: `[0] llvmpipe (Vulkan, Cpu, adapter limits)`.
    pub fn title(&self) -> String {
        format!(
            "[{}] {} ({}, {}, {} limits)",
            self.index, self.name, self.backend, self.device_type, self.limits_preset
        )
    }
}

impl Report {
    pub fn new() -> Self {
        Report { tool: "llama4-wgpu doctor".into(), version: env!("CARGO_PKG_VERSION").into(), adapters: vec![] }
    }
    pub fn failed(&self) -> usize {
        self.adapters.iter().map(|a| a.failed()).sum()
    }
}

/// An error measure as a person reads it.
pub fn fmt_err(e: f64) -> String {
    if e.is_infinite() {
        "inf".into()
    } else if e == 0.0 {
        "0".into()
    } else if (1.0..1e6).contains(&e) && e.fract() == 0.0 {
        format!("{e}")
    } else {
        format!("{e:.1e}")
    }
}

/// The header of [`row`]'s table.
pub fn header() -> String {
    format!("{:<12} {:<44} {:<30} {:>8} {:>8} {:>8}  result", "kernel", "variant", "shape", "max err", "tol", "ms")
}

/// One check as a table row (the error follows on its own line).
pub fn row(c: &Check) -> String {
    let mut s = format!(
        "{:<12} {:<44} {:<30} {:>8} {:>8} {:>8.1}  {}",
        c.kernel,
        c.variant,
        c.shape,
        fmt_err(c.max_err),
        fmt_err(c.tol),
        c.ms,
        if c.pass { "pass" } else { "FAIL" }
    );
    if let Some(e) = &c.error {
        let _ = write!(s, "\n    {e}");
    }
    s
}

/// What differs between two reports.
#[derive(Debug, Default)]
pub struct Comparison {
    pub lines: Vec<String>,
    /// Checks that pass in one report and fail (or are missing) in the other.
    pub differences: usize,
}

/// Error growth worth a line: at least this factor, and above a hundredth of the tolerance.
const GROWTH: f64 = 4.0;

/// Pairs the adapters of `a` and `b` (the only one of each, else by backend and limits preset,
/// in order) and lists, per pair, the checks whose outcome differs and those whose error grew.
pub fn compare(a: &Report, b: &Report) -> Comparison {
    let mut out = Comparison::default();
    let key = |r: &AdapterRun| (r.backend.clone(), r.limits_preset.clone());
    let mut used = vec![false; b.adapters.len()];
    for ra in &a.adapters {
        let j = if a.adapters.len() == 1 && b.adapters.len() == 1 {
            Some(0)
        } else {
            (0..b.adapters.len()).find(|&j| !used[j] && key(&b.adapters[j]) == key(ra))
        };
        let Some(j) = j else {
            out.lines.push(format!("{}: no matching adapter in the second report", ra.title()));
            continue;
        };
        used[j] = true;
        compare_adapter(ra, &b.adapters[j], &mut out);
    }
    for (rb, _) in b.adapters.iter().zip(&used).filter(|(_, &u)| !u) {
        out.lines.push(format!("{}: no matching adapter in the first report", rb.title()));
    }
    out
}

fn compare_adapter(ra: &AdapterRun, rb: &AdapterRun, out: &mut Comparison) {
    out.lines.push(format!("A {}\nB {}", ra.title(), rb.title()));
    let index = |r: &AdapterRun| r.checks.iter().map(|c| (c.id(), c.clone())).collect::<BTreeMap<_, _>>();
    let (ia, ib) = (index(ra), index(rb));
    let name = |id: &(String, String, String)| format!("{} | {} | {}", id.0, id.1, id.2);
    let mut same = 0;
    for id in ia.keys().chain(ib.keys().filter(|k| !ia.contains_key(*k))) {
        match (ia.get(id), ib.get(id)) {
            (Some(x), Some(y)) if x.pass != y.pass => {
                out.differences += 1;
                let (p, f, fc) = if x.pass { ("A", "B", y) } else { ("B", "A", x) };
                out.lines.push(format!(
                    "  passes on {p}, FAILS on {f}: {} (max err {} vs {}, tol {}){}",
                    name(id),
                    fmt_err(x.max_err),
                    fmt_err(y.max_err),
                    fmt_err(x.tol),
                    fc.error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
                ));
            }
            (Some(x), Some(y)) => {
                same += 1;
                let floor = x.tol.max(y.tol) / 100.0;
                if y.max_err > floor && y.max_err > GROWTH * x.max_err {
                    out.lines.push(format!(
                        "  error grew {}x from A to B: {} ({} -> {}, tol {})",
                        if x.max_err > 0.0 { format!("{:.0}", y.max_err / x.max_err) } else { "inf".into() },
                        name(id),
                        fmt_err(x.max_err),
                        fmt_err(y.max_err),
                        fmt_err(y.tol)
                    ));
                } else if x.max_err > floor && x.max_err > GROWTH * y.max_err {
                    out.lines.push(format!(
                        "  error shrank from A to B: {} ({} -> {})",
                        name(id),
                        fmt_err(x.max_err),
                        fmt_err(y.max_err)
                    ));
                }
            }
            (Some(x), None) | (None, Some(x)) => {
                let (has, lacks) = if ia.contains_key(id) { ("A", "B") } else { ("B", "A") };
                if x.pass {
                    out.differences += 1;
                }
                out.lines.push(format!(
                    "  only on {has} ({}), not run on {lacks}: {}",
                    if x.pass { "passes" } else { "fails" },
                    name(id)
                ));
            }
            (None, None) => unreachable!(),
        }
    }
    out.lines.push(format!("  {same} checks run on both with the same outcome"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kernel: &str, err: f64, tol: f64) -> Check {
        Check {
            kernel: kernel.into(),
            variant: "v".into(),
            shape: "s".into(),
            max_err: err,
            tol,
            ms: 1.0,
            pass: err <= tol,
            error: None,
        }
    }

    fn report(checks: Vec<Check>) -> Report {
        let mut a = AdapterRun { backend: "Vulkan".into(), limits_preset: "adapter".into(), ..Default::default() };
        a.checks = checks;
        Report { adapters: vec![a], ..Report::new() }
    }

    #[test]
    fn compare_finds_new_failures_growth_and_missing_checks() {
        let a = report(vec![check("matmul", 1e-7, 1e-5), check("embed", 0.0, 0.0), check("sample", 0.0, 0.0)]);
        let b = report(vec![check("matmul", 2e-6, 1e-5), check("embed", 3.0, 0.0)]);
        let c = compare(&a, &b);
        let text = c.lines.join("\n");
        assert_eq!(c.differences, 2, "{text}");
        assert!(text.contains("passes on A, FAILS on B: embed | v | s (max err 0 vs 3, tol 0)"), "{text}");
        assert!(text.contains("error grew 20x from A to B: matmul | v | s"), "{text}");
        assert!(text.contains("only on A (passes), not run on B: sample | v | s"), "{text}");
        let same = compare(&a, &a);
        assert_eq!(same.differences, 0);
        assert!(same.lines.join("\n").contains("3 checks run on both with the same outcome"));
    }

    #[test]
    fn a_report_round_trips_through_json() {
        let mut r = report(vec![check("matmul", f64::INFINITY, 1e-5)]);
        r.adapters[0].checks[0].error = Some("pipeline rejected".into());
        let text = serde_json::to_string(&r).unwrap();
        let back: Report = serde_json::from_str(&text).unwrap();
        assert_eq!(back.adapters[0].checks, r.adapters[0].checks);
        assert_eq!(back.failed(), 1);
    }
}
