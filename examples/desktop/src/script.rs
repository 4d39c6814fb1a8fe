//! A scripted run (`--prompt`, repeated for more turns, `--report`, `--stop-after`): the first prompt is sent
//! once the model is loaded, each next one after the answer before it, and after the last answer
//! a JSON report says what came back, how fast, and how often the window repainted while the
//! answers streamed; `--stop-after N` presses Stop N pieces into the last answer. The Xvfb test and demos drive the app this way.

use llama4_wgpu::Stats;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Instant;

pub struct Script {
    prompts: VecDeque<String>,
    report: Option<PathBuf>,
    /// Stop the last answer after this many pieces.
    stop_after: Option<usize>,
    /// Each answer with its speed.
    answers: Vec<serde_json::Value>,
    /// The frame before this one, while an answer streams.
    last_frame: Option<Instant>,
    /// Milliseconds between frames while answers streamed.
    gaps: Vec<f64>,
    frames_while_streaming: usize,
    frames: usize,
}

impl Script {
    pub fn new(prompts: Vec<String>, report: Option<PathBuf>, stop_after: Option<usize>) -> Self {
        Script {
            prompts: prompts.into(),
            report,
            stop_after,
            answers: vec![],
            last_frame: None,
            gaps: vec![],
            frames_while_streaming: 0,
            frames: 0,
        }
    }

    /// The model is loaded or an answer ended: the next scripted prompt goes into the input box.
    /// Whether there was one.
    pub fn next_prompt(&mut self, input: &mut String) -> bool {
        self.prompts.pop_front().map(|p| *input = p).is_some()
    }

    /// The model is loaded: `REPORT.loaded` says so (a test then types into the window).
    pub fn on_loaded(&self) {
        if let Some(path) = &self.report {
            write(&path.with_extension("loaded"), &serde_json::json!({ "loaded": true }));
        }
    }

    /// Whether to press Stop now, `pieces` into an answer (the last scripted one).
    pub fn should_stop(&self, pieces: usize) -> bool {
        self.report.is_some() && self.prompts.is_empty() && self.stop_after.is_some_and(|n| pieces >= n)
    }

    pub fn on_frame(&mut self, streaming: bool) {
        self.frames += 1;
        if !streaming {
            self.last_frame = None;
            return;
        }
        let now = Instant::now();
        if let Some(prev) = self.last_frame.replace(now) {
            self.gaps.push((now - prev).as_secs_f64() * 1e3);
        }
        self.frames_while_streaming += 1;
    }

    /// An answer ended; after the last scripted one the report is written.
    pub fn on_answer(&mut self, prompt: &str, answer: &str, o: &Stats) {
        if self.report.is_none() {
            return;
        }
        self.answers.push(serde_json::json!({
            "prompt": prompt,
            "answer": answer,
            "stop": o.stop.map(|s| format!("{s:?}")),
            "prompt_tokens": o.prompt_tokens,
            "reused_tokens": o.reused_tokens,
            "generated": o.generated,
            "prefill_tokens_per_s": o.prefill_tokens_per_s(),
            "decode_tokens_per_s": o.decode_tokens_per_s(),
        }));
        if !self.prompts.is_empty() {
            return;
        }
        let Some(path) = self.report.take() else { return };
        let mut gaps = std::mem::take(&mut self.gaps);
        gaps.sort_by(f64::total_cmp);
        let pick = |q: f64| gaps.get(((gaps.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0.0);
        let report = serde_json::json!({
            "answers": self.answers,
            "frames_while_streaming": self.frames_while_streaming,
            "frame_gap_ms": { "median": pick(0.5), "p95": pick(0.95), "max": pick(1.0) },
            "frames_total": self.frames,
        });
        write(&path, &report);
    }

    pub fn on_failed(&mut self, msg: &str) {
        self.prompts.clear();
        if let Some(path) = self.report.take() {
            write(&path, &serde_json::json!({ "error": msg, "answers": self.answers }));
        }
    }
}

fn write(path: &std::path::Path, report: &serde_json::Value) {
    // written whole, then renamed: a reader polling for it never sees half a file
    let tmp = path.with_extension("partial");
    let text = serde_json::to_string_pretty(report).unwrap_or_default();
    if let Err(e) = std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, path)) {
        eprintln!("llama4-wgpu-desktop: writing {}: {e}", path.display());
    }
}
