//! examples/c/chat.c, built with the system C compiler against include/llama4_wgpu.h and this
//! crate's shared library, answers SmolLM2's two-turn chat (tools/fetch_smollm2.sh) with the ids
//! the CLI's chat path gives for the same turns, and reports a missing model through
//! l4_last_error.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where cargo put this crate's cdylib (the directory above the test binary's `deps/`).
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let name = format!("{}llama4_wgpu_capi{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let found = [deps.parent().unwrap(), deps].into_iter().find(|d| d.join(&name).exists()).map(Path::to_path_buf);
    found.unwrap_or_else(|| panic!("{name} not found next to {}", exe.display()))
}

fn smollm2() -> PathBuf {
    let p = llama4_wgpu::runtime::files::cache_dir().expect("HOME").join(llama4_wgpu::runtime::files::SMOLLM2_FILE);
    assert!(p.exists(), "{} is missing: run tools/fetch_smollm2.sh", p.display());
    p
}

fn build_example(out: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let exe = out.join("chat");
    let lib = lib_dir();
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .arg(root.join("examples/c/chat.c"))
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root.join("include"))
        .arg("-L")
        .arg(&lib)
        .arg("-lllama4_wgpu_capi")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("a C compiler (cc)");
    assert!(status.success(), "examples/c/chat.c did not compile");
    exe
}

/// The ids of each "ids:" line the example printed to stderr.
fn turns(stderr: &str) -> Vec<Vec<u32>> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("ids:"))
        .map(|l| l.split_whitespace().map(|t| t.parse().unwrap()).collect())
        .collect()
}

#[test]
fn the_c_example_streams_a_two_turn_chat() {
    let dir = std::env::temp_dir().join(format!("l4capi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = build_example(&dir);
    let model = smollm2();
    let q = ["What is the capital of France?", "And of Italy?"];
    // (Mesa's device-select layer off, as `gpu::quiet_headless_vulkan` does for Rust programs)
    let run = |args: &[&std::ffi::OsStr]| Command::new(&exe).args(args).env("NODEVICE_SELECT", "1").output().unwrap();
    let out = run(&[model.as_os_str(), q[0].as_ref(), q[1].as_ref()]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.to_lowercase().contains("model: smollm2"), "{stderr}");
    let got = turns(&stderr);
    assert_eq!(got.len(), 2, "{stderr}");
    let answers: Vec<&str> = stdout.lines().collect();
    assert!(answers[0].contains("Paris"), "{stdout}");
    assert!(answers[1].contains("Rome"), "{stdout}");
    assert_eq!(stderr.matches("stop: end of turn").count(), 2, "{stderr}");

    // the same turns through the library's lower layer: the chat template rendered by hand, one
    // session, greedy; the ids must be the C example's
    let files = llama4_wgpu::runtime::ModelFiles::open(&model).unwrap();
    let tok = files.tokenizer.as_ref().unwrap();
    llama4_wgpu::gpu::quiet_headless_vulkan();
    let ctx = pollster::block_on(llama4_wgpu::gpu::GpuContext::new(&Default::default())).unwrap();
    let text = std::sync::Arc::new(
        llama4_wgpu::model::TextModel::load(&ctx, &files.cfg, files.tensors.as_ref(), |_| {}).unwrap(),
    );
    let stop = tok.stop_ids();
    let mut history = vec![];
    for (turn, want) in q.iter().zip(&got) {
        history.push(llama4_wgpu::runtime::chat::Message { role: "user".into(), content: turn.to_string() });
        let (tpl, bos) = &files.chat_template;
        let ids = tok.encode_prompt(&llama4_wgpu::runtime::chat::render(tpl, bos, &history, true).unwrap()).unwrap();
        let mut s = llama4_wgpu::runtime::Session::new(&ctx, &text, 512, Default::default()).unwrap();
        let mut ids_out = vec![pollster::block_on(s.prefill(&ids, false)).unwrap().token];
        while !stop.contains(ids_out.last().unwrap()) && ids_out.len() < 32 {
            ids_out.push(pollster::block_on(s.decode(None, false)).unwrap().token);
        }
        assert_eq!(&ids_out, want, "turn {turn:?}");
        let answer: Vec<u32> = ids_out.iter().copied().filter(|t| !stop.contains(t)).collect();
        history.push(llama4_wgpu::runtime::chat::Message {
            role: "assistant".into(),
            content: tok.decode(&answer).unwrap(),
        });
    }

    // a missing model: exit 1 and l4_last_error's text naming the file
    let out = run(&[dir.join("nope.gguf").as_os_str(), "hi".as_ref()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error:") && stderr.contains("nope.gguf"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
