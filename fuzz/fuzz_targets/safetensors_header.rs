//! Any bytes as model.safetensors: `Checkpoint::open` returns Ok or a clean Err.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("llama4-wgpu-fuzz-st-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("model.safetensors"), data).unwrap();
    if let Ok(ck) = llama4_wgpu::loader::Checkpoint::open(&dir) {
        use llama4_wgpu::loader::TensorSource;
        for n in ck.names() {
            let _ = ck.get_any(n).map(|v| v.to_f32().len());
        }
    }
});
