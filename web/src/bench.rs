//! The page's benchmark: `bench`'s tests (llama-bench's ppN and tgN, the library's
//! [`llama4_wgpu::runtime::bench`] loops) on the loaded model, in its own session.

use crate::js_err;
use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::runtime::bench::{self, Timing};
use llama4_wgpu::runtime::Session;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

/// Options of `bench`, as a plain JS object; every field optional.
#[derive(Deserialize)]
#[serde(default)]
pub struct BenchOptions {
    /// Prompt lengths of the prefill tests (ppN); 0 skips.
    n_prompt: Vec<usize>,
    /// Decode steps of the generation tests (tgN); 0 skips.
    n_gen: Vec<usize>,
    /// Positions skipped in the KV cache before each test.
    n_depth: Vec<usize>,
    repetitions: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions { n_prompt: vec![128], n_gen: vec![32], n_depth: vec![0], repetitions: 3 }
    }
}

#[derive(Serialize)]
pub struct Row {
    /// `pp128`, `tg32`, `tg32 @ d512`
    test: String,
    #[serde(flatten)]
    timing: Timing,
}

#[derive(Serialize)]
pub struct BenchReport {
    adapter: String,
    backend: String,
    /// GPU dispatches of one decode step (all in one submit).
    dispatches_per_token: Option<usize>,
    tests: Vec<Row>,
}

/// Runs every test of `o` on `model`, calling `on_test(name)` before each.
pub async fn run(
    model: &llama4_wgpu::Model,
    o: BenchOptions,
    on_test: &js_sys::Function,
) -> Result<BenchReport, JsValue> {
    let prompts: Vec<usize> = o.n_prompt.iter().copied().filter(|&p| p > 0).collect();
    let gens: Vec<usize> = o.n_gen.iter().copied().filter(|&n| n > 0).collect();
    if o.repetitions == 0 || (prompts.is_empty() && gens.is_empty()) {
        return Err(js_err("bench: give at least one repetition and a prompt length or a number of decode steps"));
    }
    let longest = prompts.iter().copied().max().unwrap_or(1);
    let max_context = o.n_depth.iter().max().unwrap_or(&0) + longest + gens.iter().max().unwrap_or(&0) + 1;
    let ids = bench::prompt_ids(longest, model.config().vocab_size);
    let ctx = model.gpu();
    let mut s = Session::new(ctx, model.text_model(), max_context, SamplerConfig::default()).map_err(js_err)?;
    let _ = on_test.call1(&JsValue::NULL, &JsValue::from_str("warm-up"));
    bench::warm_up(&mut s, &ids).await.map_err(js_err)?;
    let mut tests = vec![];
    let note = |name: String| {
        let _ = on_test.call1(&JsValue::NULL, &JsValue::from_str(&name));
    };
    for &depth in &o.n_depth {
        for &p in &prompts {
            note(bench::test_name(p, 0, depth));
            let timing = bench::prefill(&mut s, &ids[..p], depth, o.repetitions).await.map_err(js_err)?;
            tests.push(Row { test: timing.name(), timing });
        }
        for &n in &gens {
            note(bench::test_name(0, n, depth));
            let timing = bench::decode(&mut s, ids[0], n, depth, o.repetitions).await.map_err(js_err)?;
            tests.push(Row { test: timing.name(), timing });
        }
    }
    Ok(BenchReport {
        adapter: ctx.info.name.clone(),
        backend: format!("{:?}", ctx.info.backend),
        dispatches_per_token: s.decode_dispatches(),
        tests,
    })
}
