//! include/llama4_wgpu.h is what cbindgen generates from src/lib.rs (regenerate it with
//! `LLAMA4_WGPU_WRITE_HEADER=1 cargo test -p llama4-wgpu-capi --test header`).

use std::path::Path;

#[test]
fn the_checked_in_header_is_up_to_date() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut out = vec![];
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen reads src/lib.rs")
        .write(&mut out);
    let generated = String::from_utf8(out).unwrap();
    let path = crate_dir.join("../include/llama4_wgpu.h");
    if std::env::var_os("LLAMA4_WGPU_WRITE_HEADER").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "include/llama4_wgpu.h is stale: run LLAMA4_WGPU_WRITE_HEADER=1 cargo test -p llama4-wgpu-capi --test header"
    );
    for f in ["l4_model_open", "l4_generate", "l4_cancel", "l4_model_free", "l4_last_error"] {
        assert!(generated.contains(f), "{f} missing from the header");
    }
}
