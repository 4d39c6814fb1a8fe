//! The app in a real X window (Debian's Xvfb) on lavapipe: a scripted prompt to SmolLM2
//! (tools/fetch_smollm2.sh) is answered in the window while it keeps repainting, and a screenshot
//! of the screen (imagemagick's `import -window root`) is kept under
//! target/desktop-artifacts/ with the app's report (answer, speed, frame times).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Xvfb on a free display (it picks the number and writes it to stdout).
fn xvfb() -> (Killed, String) {
    let mut child = Command::new("Xvfb")
        .args(["-displayfd", "1", "-screen", "0", "980x720x24", "-nolisten", "tcp"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb (Debian's xvfb package) is needed for the desktop test");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("Xvfb's display number");
    let n = line.trim();
    assert!(!n.is_empty() && n.chars().all(|c| c.is_ascii_digit()), "Xvfb printed no display number: {line:?}");
    (Killed(child), format!(":{n}"))
}

fn smollm2() -> PathBuf {
    let p = llama4_wgpu::runtime::files::cache_dir().expect("HOME").join(llama4_wgpu::runtime::files::SMOLLM2_FILE);
    assert!(p.exists(), "{} is missing: run tools/fetch_smollm2.sh", p.display());
    p
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../desktop-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

/// Starts the app on `display` with `model`, `args` and `--report report`.
fn start_app(display: &str, model: &Path, args: &[&str], report: &Path, log: &Path) -> Killed {
    let _ = std::fs::remove_file(report);
    let _ = std::fs::remove_file(report.with_extension("loaded"));
    let runtime_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("xdg-runtime");
    std::fs::create_dir_all(&runtime_dir).unwrap();
    let app = Command::new(env!("CARGO_BIN_EXE_llama4-wgpu-desktop"))
        .arg(model)
        .args(args)
        .args(["--max-tokens", "48", "--report"])
        .arg(report)
        .env("DISPLAY", display)
        .env_remove("WAYLAND_DISPLAY")
        .env("XDG_RUNTIME_DIR", &runtime_dir)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    Killed(app)
}

/// Waits for the app to write `path` (JSON), failing if it exits first or takes 240 s.
fn wait_for(app: &mut Killed, path: &Path, log: &Path) -> serde_json::Value {
    let start = Instant::now();
    let log = || std::fs::read_to_string(log).unwrap_or_default();
    while !path.exists() {
        if let Some(status) = app.0.try_wait().unwrap() {
            panic!("the app exited ({status}) before writing {}:\n{}", path.display(), log());
        }
        assert!(start.elapsed() < Duration::from_secs(240), "no {} after 240 s:\n{}", path.display(), log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}: {text}", path.display()))
}

fn xdotool(display: &str, args: &[&str]) -> String {
    let out = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .output()
        .expect("xdotool (Debian's xdotool package) types into the window");
    assert!(out.status.success(), "xdotool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_app_answers_in_a_window_that_keeps_repainting() {
    let (_x, display) = xvfb();
    let out = artifacts();
    let report_path = out.join("desktop-chat.json");
    let log = out.join("desktop-chat.log");
    let args = [
        "--prompt",
        "What is the capital of France?",
        "--prompt",
        "And of Italy?",
        "--prompt",
        "Tell me a long story about a dragon.",
        "--stop-after",
        "6",
    ];
    let mut app = start_app(&display, &smollm2(), &args, &report_path, &log);
    let report = wait_for(&mut app, &report_path, &log);
    // the screen as it is now: the answer in the window, still open
    std::thread::sleep(Duration::from_millis(500));
    let shot = out.join("desktop-chat.png");
    let status = Command::new("import").args(["-display", &display, "-window", "root"]).arg(&shot).status();
    assert!(status.expect("imagemagick's `import` is needed for the screenshot").success(), "import failed");
    drop(app);
    eprintln!("screenshot: {}\nreport: {}\n{report:#}", shot.display(), report_path.display());

    // SmolLM2's greedy answer, as `llama4-wgpu run --chat` and llama.cpp give it
    let a = &report["answers"];
    assert_eq!(a[0]["answer"], "The capital of France is Paris.", "{report:#}");
    assert_eq!(a[0]["stop"], "EndOfTurn");
    assert_eq!(a[0]["generated"], 8, "7 tokens and the end of turn");
    assert_eq!(a[0]["reused_tokens"], 0);
    // the follow-up turn: the chat template's history, the first turn's ids taken from the cache
    assert!(a[1]["answer"].as_str().unwrap().contains("Rome"), "{report:#}");
    assert_eq!(a[1]["stop"], "EndOfTurn");
    let (p0, reused) = (a[0]["prompt_tokens"].as_u64().unwrap(), a[1]["reused_tokens"].as_u64().unwrap());
    assert!(reused >= p0 && reused < a[1]["prompt_tokens"].as_u64().unwrap(), "{report:#}");
    // the third is stopped (the Stop button's cancel token) 6 pieces in: one more token can come
    let stopped = a[2]["generated"].as_u64().unwrap();
    assert_eq!(a[2]["stop"], "Cancelled", "{report:#}");
    assert!((6..=8).contains(&stopped), "{stopped} tokens after Stop at 6 pieces");
    // The window repainted while the answers streamed: at least once per token, and not held
    // up for long by the model's work on the same queue.
    let tokens: u64 = (0..3).map(|i| a[i]["generated"].as_u64().unwrap()).sum();
    let frames = report["frames_while_streaming"].as_u64().unwrap();
    assert!(frames >= tokens, "{frames} frames while {tokens} tokens streamed");
    let median = report["frame_gap_ms"]["median"].as_f64().unwrap();
    assert!(median > 0.0 && median < 250.0, "median frame gap {median} ms");

    // The screenshot shows the window: the app's dark theme over Xvfb's black screen,
    // and text (many shades from anti-aliasing).
    let img = image::open(&shot).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (980, 720));
    let lit = img.pixels().filter(|p| p.0.iter().any(|&c| c > 12)).count();
    assert!(lit > 980 * 720 * 9 / 10, "only {lit} pixels are not black: no window on screen?");
    let mut shades: Vec<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    shades.sort();
    shades.dedup();
    assert!(shades.len() > 200, "{} colours: no text drawn?", shades.len());
}

#[test]
fn a_file_that_is_no_model_is_reported_in_the_window() {
    let (_x, display) = xvfb();
    let out = artifacts();
    let bogus = Path::new(env!("CARGO_TARGET_TMPDIR")).join("not-a-model.gguf");
    std::fs::write(&bogus, b"GGUF but not really").unwrap();
    let (report_path, log) = (out.join("desktop-bad.json"), out.join("desktop-bad.log"));
    let mut app = start_app(&display, &bogus, &["--prompt", "Hello"], &report_path, &log);
    let report = wait_for(&mut app, &report_path, &log);
    drop(app);
    let err = report["error"].as_str().unwrap_or_else(|| panic!("no error in {report}"));
    assert!(err.contains("not-a-model.gguf"), "the error does not name the file: {err}");
}

#[test]
fn a_message_typed_into_the_window_is_answered() {
    let (_x, display) = xvfb();
    let out = artifacts();
    let (report_path, log) = (out.join("desktop-typed.json"), out.join("desktop-typed.log"));
    let mut app = start_app(&display, &smollm2(), &[], &report_path, &log);
    wait_for(&mut app, &report_path.with_extension("loaded"), &log);
    // The message box has the app's focus once a model is ready; the window gets X's (there is
    // no window manager to give it), then keys as a user's keyboard sends them, and Enter.
    let window = xdotool(&display, &["search", "--sync", "--name", "llama4-wgpu chat"]);
    let window = window.lines().next().expect("the app's window");
    xdotool(&display, &["windowfocus", "--sync", window]);
    xdotool(&display, &["type", "--delay", "20", "What is the capital of France?"]);
    xdotool(&display, &["key", "Return"]);
    let report = wait_for(&mut app, &report_path, &log);
    drop(app);
    let a = &report["answers"][0];
    assert_eq!(a["prompt"], "What is the capital of France?", "{report:#}");
    assert_eq!(a["answer"], "The capital of France is Paris.", "{report:#}");
}
