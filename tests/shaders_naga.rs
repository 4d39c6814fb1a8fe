//! Every shader variant parses and validates with naga, no GPU needed.

use llama4_wgpu::gpu::Variant;

#[test]
fn every_shader_variant_validates() {
    let variants = Variant::all();
    assert!(variants.len() >= 10 + 2 * 3, "expected every shader and weight format, got {}", variants.len());
    let mut failures = vec![];
    for v in &variants {
        let text = v.wgsl().expect("preprocess");
        let module = match naga::front::wgsl::parse_str(&text) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{v:?}: parse: {}", e.emit_to_string(&text)));
                continue;
            }
        };
        let mut val =
            naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty());
        if let Err(e) = val.validate(&module) {
            failures.push(format!("{v:?}: validate: {}", e.emit_to_string(&text)));
        }
        assert!(module.entry_points.iter().any(|e| e.name == "main"), "{v:?} has no `main`");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn preprocessor_selects_variants() {
    use llama4_wgpu::gpu::{Shader, WeightFormat};
    let plain = Variant::new(Shader::Matmul).weights(WeightFormat::Bf16).wgsl().unwrap();
    let id = Variant::new(Shader::Matmul).weights(WeightFormat::Bf16).flag("EXPERT_ID", true).wgsl().unwrap();
    assert!(!plain.contains("var<storage, read> ids"));
    assert!(id.contains("var<storage, read> ids"));
    assert!(plain.contains("lo & 0xffff0000u"), "bf16 include missing");
    let q6 = Variant::new(Shader::Matmul).weights(WeightFormat::Q6K).wgsl().unwrap();
    assert!(q6.contains("fn w_u32x4") && q6.contains("BLOCK_BYTES: u32 = 210u"), "byte helpers + Q6_K include");
    let q4k = Variant::new(Shader::Embed).weights(WeightFormat::Q4K).wgsl().unwrap();
    assert!(q4k.contains("fn scale_min_k4"), "nested include");
    assert!(Variant::new(Shader::Matmul).wgsl().is_err(), "a weight shader without a format must be refused");
}
