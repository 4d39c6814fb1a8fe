//! Any bytes: `vision::image::decode` returns an image whose planes fit its size, or a clean Err;
//! the JPEG decoder alone never panics either.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(d) = llama4_wgpu::vision::jpeg::decode(data) {
        assert_eq!(d.rgb.len(), d.width * d.height * 3);
    }
    if let Ok(img) = llama4_wgpu::vision::image::decode(data, "fuzz.img".as_ref()) {
        assert_eq!(img.planes.len(), 3 * img.width * img.height);
    }
});
