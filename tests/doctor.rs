//! `llama4-wgpu doctor` as a user runs it: every adapter (lavapipe's Vulkan and llvmpipe's GL
//! here) passes every check, under the adapter's limits and under WebGPU's defaults; the JSON
//! report parses back; `--compare` finds what a broken driver would change.

use llama4_wgpu::conformance::report::Report;
use std::process::{Command, Output};
use std::sync::OnceLock;

fn doctor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llama4-wgpu")).arg("doctor").args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// `doctor --json` on every adapter, once per test binary.
fn full_report() -> &'static Report {
    static R: OnceLock<Report> = OnceLock::new();
    R.get_or_init(|| {
        let out = doctor(&["--json"]);
        assert!(out.status.success(), "doctor failed:\n{}", text(&out));
        serde_json::from_slice(&out.stdout).expect("doctor --json prints one JSON report")
    })
}

#[test]
fn every_adapter_passes_every_check() {
    let r = full_report();
    let backends: Vec<&str> = r.adapters.iter().map(|a| a.backend.as_str()).collect();
    assert!(backends.contains(&"Vulkan") && backends.contains(&"Gl"), "adapters: {backends:?}");
    for a in &r.adapters {
        assert!(a.error.is_none(), "{}: {:?}", a.title(), a.error);
        assert!(a.checks.len() > 150, "{}: only {} checks", a.title(), a.checks.len());
        let failed: Vec<_> = a.checks.iter().filter(|c| !c.pass).collect();
        // every check is named apart (kernel, variant, shape): what --compare matches on
        let ids: std::collections::BTreeSet<_> = a.checks.iter().map(|c| c.id()).collect();
        assert_eq!(ids.len(), a.checks.len(), "{}: checks with the same kernel, variant and shape", a.title());
        assert!(failed.is_empty(), "{}: {failed:?}", a.title());
        assert!(a.limits["max_storage_buffer_binding_size"] > 0);
        assert!(a.checks.iter().any(|c| c.kernel == "llama4 e2e" && c.variant.ends_with("greedy tokens")));
    }
    let vk = r.adapters.iter().find(|a| a.backend == "Vulkan").unwrap();
    assert!(vk.features.contains(&"shader-f16".to_string()), "lavapipe has shader-f16: {:?}", vk.features);
}

#[test]
fn webgpu_default_limits_mask_features_and_pass() {
    let out = doctor(&["--backend", "vulkan", "--limits", "webgpu-default", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let r: Report = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r.adapters.len(), 1);
    let a = &r.adapters[0];
    assert_eq!((a.limits_preset.as_str(), a.features.len()), ("webgpu-default", 0));
    assert_eq!(a.limits["max_storage_buffer_binding_size"], 128 << 20);
    assert_eq!(a.limits["max_compute_workgroup_storage_size"], 16384);
    assert_eq!(a.failed(), 0);
}

#[test]
fn the_table_names_every_column_and_a_bad_adapter_index_is_an_error() {
    let out = doctor(&["--backend", "gl"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("kernel") && t.contains("max err") && t.contains("tol") && t.contains("result"), "{t}");
    assert!(t.contains("matmul") && t.contains("q4_K row-lane") && t.contains(" pass"), "{t}");
    let out = doctor(&["--adapter", "99"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("--adapter 99 does not exist"), "{}", text(&out));
}

#[test]
fn compare_reports_a_new_failure_and_error_growth() {
    let dir = std::env::temp_dir().join(format!("l4w-doctor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = full_report().clone();
    // B: the same machine with a driver that breaks one q4_K check and loses precision on one f16 check.
    let mut b = a.clone();
    let gl = b.adapters.iter_mut().find(|x| x.backend == "Gl").unwrap();
    let broken = gl.checks.iter_mut().find(|c| c.variant.starts_with("q4_K") && c.kernel == "matmul").unwrap();
    (broken.max_err, broken.pass) = (0.3, false);
    let broken_id = format!("{} | {} | {}", broken.kernel, broken.variant, broken.shape);
    let worse = gl.checks.iter_mut().find(|c| c.variant.starts_with("f16") && c.max_err > 0.0).unwrap();
    worse.max_err *= 10.0;
    let worse_id = format!("{} | {} | {}", worse.kernel, worse.variant, worse.shape);
    let (pa, pb) = (dir.join("a.json"), dir.join("b.json"));
    std::fs::write(&pa, serde_json::to_string(&a).unwrap()).unwrap();
    std::fs::write(&pb, serde_json::to_string(&b).unwrap()).unwrap();

    let out = doctor(&["--compare", pa.to_str().unwrap(), pb.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains(&format!("passes on A, FAILS on B: {broken_id}")), "{t}");
    assert!(t.contains(&format!("error grew 10x from A to B: {worse_id}")), "{t}");
    assert!(t.contains("1 check(s) differ in outcome"), "{t}");

    let out = doctor(&["--compare", pa.to_str().unwrap(), pa.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let out = doctor(&["--compare", pa.to_str().unwrap(), dir.join("missing.json").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("missing.json"), "{}", text(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}
