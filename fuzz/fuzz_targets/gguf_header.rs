//! Any bytes: `Gguf::parse` returns Ok or a clean Err, and every tensor it accepts lies inside.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((_, _, tensors)) = llama4_wgpu::loader::Gguf::parse(data, "fuzz.gguf".as_ref()) {
        assert!(tensors.values().all(|t| t.start <= t.end && t.end <= data.len()));
    }
});
