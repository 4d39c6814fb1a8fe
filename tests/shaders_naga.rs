//! Every shader variant parses and validates with naga, no GPU needed.

use llama4_wgpu::gpu::{Flag, Variant};

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
        let mut val = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), capabilities(v));
        if let Err(e) = val.validate(&module) {
            failures.push(format!("{v:?}: validate: {}", e.emit_to_string(&text)));
        }
        assert!(module.entry_points.iter().any(|e| e.name == "main"), "{v:?} has no `main`");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What the device must offer for the variant: subgroup operations for SUBGROUP, f16 for F16,
/// the f16 pack builtins for KV_HALF and HALF_PACK (`GpuContext::f16_in_f32`).
fn capabilities(v: &Variant) -> naga::valid::Capabilities {
    use naga::valid::Capabilities as C;
    let f = v.features();
    let mut c = C::empty();
    if f.contains(wgpu::Features::SUBGROUP) {
        c |= C::SUBGROUP;
    }
    if f.contains(wgpu::Features::SHADER_F16) {
        c |= C::SHADER_FLOAT16;
    }
    if v.flags.contains(&Flag::KvHalf) || v.flags.contains(&Flag::HalfPack) {
        c |= C::SHADER_FLOAT16_IN_FLOAT32; // pack2x16float / unpack2x16float
    }
    c
}

#[test]
fn preprocessor_selects_variants() {
    use llama4_wgpu::gpu::{Shader, WeightFormat};
    let plain = Variant::new(Shader::Matmul).weights(WeightFormat::Bf16).wgsl().unwrap();
    let id = Variant::new(Shader::Matmul).weights(WeightFormat::Bf16).flag(Flag::ExpertId, true).wgsl().unwrap();
    assert!(!plain.contains("var<storage, read> ids"));
    assert!(id.contains("var<storage, read> ids"));
    assert!(plain.contains("lo & 0xffff0000u"), "bf16 include missing");
    let q6 = Variant::new(Shader::Matmul).weights(WeightFormat::Q6K).wgsl().unwrap();
    assert!(q6.contains("fn w_u32x4") && q6.contains("BLOCK_BYTES: u32 = 210u"), "byte helpers + Q6_K include");
    let q4k = Variant::new(Shader::Embed).weights(WeightFormat::Q4K).wgsl().unwrap();
    assert!(q4k.contains("fn scale_min_k4"), "nested include");
    assert!(Variant::new(Shader::Matmul).wgsl().is_err(), "a weight shader without a format must be refused");
    let err = Variant::new(Shader::Embed).weights(WeightFormat::F32).flag(Flag::RowLane, true).wgsl().unwrap_err();
    assert!(err.to_string().contains("no ROW_LANE variant"), "{err}");
}

/// What no adapter here can run is still compiled here: every variant translates to SPIR-V
/// (Vulkan), MSL (Metal), HLSL (DX12) and GLSL ES 3.10 (GL; not the subgroup and f16 variants,
/// which GL never runs), with the `override` constants set to the largest values the runtime uses.
#[test]
fn every_shader_variant_translates_for_every_backend() {
    use naga::back::{glsl, hlsl, msl, spv};
    use naga::valid::{Capabilities, ValidationFlags, Validator};
    let mut failures = vec![];
    let mut count = 0;
    for v in Variant::all() {
        let text = v.wgsl().unwrap();
        let module = naga::front::wgsl::parse_str(&text).unwrap();
        let info = Validator::new(ValidationFlags::all(), capabilities(&v)).validate(&module).unwrap();
        let subgroups = capabilities(&v).contains(Capabilities::SUBGROUP);
        let f16 = capabilities(&v).contains(Capabilities::SHADER_FLOAT16);
        let mut constants = naga::back::PipelineConstants::default();
        if module.overrides.iter().any(|(_, o)| o.name.as_deref() == Some("TT")) {
            constants.insert("TT".into(), if v.flags.contains(&Flag::ExpertId) { 1.0 } else { 8.0 });
        }
        let ep = (naga::ShaderStage::Compute, "main".to_string());
        let (module, info) =
            naga::back::pipeline_constants::process_overrides(&module, &info, Some((ep.0, &ep.1)), &constants).unwrap();
        let mut fail = |backend: &str, e: String| failures.push(format!("{v:?} -> {backend}: {e}"));
        let spv_opts = spv::Options::default();
        if let Err(e) = spv::write_vec(&module, &info, &spv_opts, None) {
            fail("SPIR-V", e.to_string());
        }
        let msl_opts = msl::Options { lang_version: (2, 4), ..Default::default() };
        let msl_pipe = msl::PipelineOptions { entry_point: Some(ep.clone()), ..Default::default() };
        if let Err(e) = msl::write_string(&module, &info, &msl_opts, &msl_pipe) {
            fail("MSL", e.to_string());
        }
        // wave intrinsics need shader model 6.0, f16 6.2 (wgpu's DX12 backend compiles with DXC)
        let shader_model = match (subgroups, f16) {
            (_, true) => hlsl::ShaderModel::V6_2,
            (true, false) => hlsl::ShaderModel::V6_0,
            _ => hlsl::ShaderModel::V5_1,
        };
        let hlsl_opts = hlsl::Options { shader_model, ..Default::default() };
        let hlsl_pipe = hlsl::PipelineOptions { entry_point: Some(ep.clone()) };
        let mut out = String::new();
        if let Err(e) = hlsl::Writer::new(&mut out, &hlsl_opts, &hlsl_pipe).write(&module, &info, None) {
            fail("HLSL", e.to_string());
        }
        count += 1;
        if subgroups || f16 {
            continue; // GL has neither subgroups nor f16: the runtime never picks these variants there
        }
        let glsl_opts = glsl::Options { version: glsl::Version::new_gles(310), ..Default::default() };
        let glsl_pipe = glsl::PipelineOptions { shader_stage: ep.0, entry_point: ep.1.clone(), multiview: None };
        let mut out = String::new();
        match glsl::Writer::new(&mut out, &module, &info, &glsl_opts, &glsl_pipe, Default::default()) {
            Ok(mut w) => {
                if let Err(e) = w.write() {
                    fail("GLSL", e.to_string());
                }
            }
            Err(e) => fail("GLSL", e.to_string()),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(count > 40, "only {count} variants");
}

/// Each kernel's typed `#[repr(C)]` parameter struct has the fields of its shader's `struct
/// Params` (bound at group 0, binding 0) as naga reflects them: same names, order, byte offsets
/// and scalar types, and the same size. Every shader has one.
#[test]
fn kernel_params_structs_match_the_wgsl() {
    use llama4_wgpu::gpu::Shader;
    use llama4_wgpu::kernels::params;
    let mut covered = vec![];
    for (shaders, fields) in params::all() {
        for &s in shaders {
            covered.push(s);
            let v = Variant::all().into_iter().find(|v| v.shader == s).unwrap();
            let module = naga::front::wgsl::parse_str(&v.wgsl().unwrap()).unwrap();
            let (_, var) = module
                .global_variables
                .iter()
                .find(|(_, g)| g.binding.as_ref().is_some_and(|b| b.group == 0 && b.binding == 0))
                .unwrap_or_else(|| panic!("{s:?}: no binding 0"));
            let ty = &module.types[var.ty];
            let naga::TypeInner::Struct { members, span } = &ty.inner else {
                panic!("{s:?}: binding 0 is not a struct")
            };
            let wgsl: Vec<(String, usize, bool)> = members
                .iter()
                .map(|m| {
                    let float = match module.types[m.ty].inner {
                        naga::TypeInner::Scalar(sc) => match sc.kind {
                            naga::ScalarKind::Float if sc.width == 4 => true,
                            naga::ScalarKind::Uint if sc.width == 4 => false,
                            _ => panic!("{s:?}.{:?}: not u32 or f32", m.name),
                        },
                        ref other => panic!("{s:?}.{:?}: not a scalar: {other:?}", m.name),
                    };
                    (m.name.clone().unwrap(), m.offset as usize, float)
                })
                .collect();
            let rust: Vec<(String, usize, bool)> =
                fields.iter().map(|f| (f.name.to_string(), f.offset, f.float)).collect();
            assert_eq!(rust, wgsl, "{s:?}: the Rust parameter struct differs from the WGSL `struct Params`");
            let last = fields.last().unwrap();
            assert_eq!(last.offset + 4, *span as usize, "{s:?}: size");
        }
    }
    covered.sort();
    assert_eq!(covered, Shader::ALL.to_vec(), "every shader has a parameter struct");
}

/// What the variants need of a device (workgroup size, workgroup memory, buffers bound) stays
/// within `gpu::REQUIRED`, which device creation checks against the adapter's limits, and
/// `REQUIRED` is tight: some variant needs each of its numbers.
#[test]
fn every_variant_fits_the_declared_requirements() {
    use llama4_wgpu::gpu::{Requirements, REQUIRED};
    let mut max = Requirements {
        invocations_per_workgroup: 0,
        workgroup_size_x: 0,
        workgroup_storage_bytes: 0,
        storage_buffers_per_stage: 0,
        uniform_buffers_per_stage: 0,
        sampled_textures_per_stage: 0,
    };
    for v in Variant::all() {
        let module = naga::front::wgsl::parse_str(&v.wgsl().unwrap()).unwrap();
        let mut layouter = naga::proc::Layouter::default();
        layouter.update(module.to_ctx()).unwrap();
        let ep = module.entry_points.iter().find(|e| e.name == "main").unwrap();
        let size = ep.workgroup_size;
        let space = |s: naga::AddressSpace| module.global_variables.iter().filter(move |(_, g)| g.space == s);
        let storage: u32 = space(naga::AddressSpace::WorkGroup).map(|(_, g)| layouter[g.ty].size).sum();
        let n_storage = module
            .global_variables
            .iter()
            .filter(|(_, g)| matches!(g.space, naga::AddressSpace::Storage { .. }))
            .count();
        let n_uniform = space(naga::AddressSpace::Uniform).count();
        let n_texture = space(naga::AddressSpace::Handle)
            .filter(|(_, g)| matches!(module.types[g.ty].inner, naga::TypeInner::Image { .. }))
            .count();
        let need = Requirements {
            invocations_per_workgroup: size.iter().product(),
            workgroup_size_x: size[0],
            workgroup_storage_bytes: storage,
            storage_buffers_per_stage: n_storage as u32,
            uniform_buffers_per_stage: n_uniform as u32,
            sampled_textures_per_stage: n_texture as u32,
        };
        let fits = need.invocations_per_workgroup <= REQUIRED.invocations_per_workgroup
            && need.workgroup_size_x <= REQUIRED.workgroup_size_x
            && need.workgroup_storage_bytes <= REQUIRED.workgroup_storage_bytes
            && need.storage_buffers_per_stage <= REQUIRED.storage_buffers_per_stage
            && need.uniform_buffers_per_stage <= REQUIRED.uniform_buffers_per_stage
            && need.sampled_textures_per_stage <= REQUIRED.sampled_textures_per_stage;
        assert!(fits, "{v:?} needs {need:?}, more than gpu::REQUIRED {REQUIRED:?}");
        max.invocations_per_workgroup = max.invocations_per_workgroup.max(need.invocations_per_workgroup);
        max.workgroup_size_x = max.workgroup_size_x.max(need.workgroup_size_x);
        max.workgroup_storage_bytes = max.workgroup_storage_bytes.max(need.workgroup_storage_bytes);
        max.storage_buffers_per_stage = max.storage_buffers_per_stage.max(need.storage_buffers_per_stage);
        max.uniform_buffers_per_stage = max.uniform_buffers_per_stage.max(need.uniform_buffers_per_stage);
        max.sampled_textures_per_stage = max.sampled_textures_per_stage.max(need.sampled_textures_per_stage);
    }
    assert_eq!(max, REQUIRED, "gpu::REQUIRED is not tight");
}

/// The shaders' weight-texture row width is the one `gpu::matrix` uploads with.
#[test]
fn weight_texture_width_agrees() {
    use llama4_wgpu::gpu::{weight_store::TEX_WIDTH, Shader, WeightFormat};
    for s in [Shader::Matmul, Shader::Embed] {
        let text = Variant::new(s).weights(WeightFormat::Q8_0).flag(Flag::WTex, true).wgsl().unwrap();
        let want = format!("const TEX_W: u32 = {TEX_WIDTH}u;");
        assert!(text.contains(&want), "{s:?} with W_TEX lacks `{want}`");
        assert!(text.contains("texture_2d<u32>"), "{s:?} with W_TEX binds no texture");
    }
}
