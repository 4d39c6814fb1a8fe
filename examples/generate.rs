//! Using llama4-wgpu as a library: load a checkpoint, prefill a prompt, decode greedily.
//!
//! cargo run --release --example generate -- tests/fixtures/scout "Hello, world"

use llama4_wgpu::gpu::{AdapterChoice, GpuContext};
use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::loader::Checkpoint;
use llama4_wgpu::model::TextModel;
use llama4_wgpu::runtime::{Session, Tokenizer};
use llama4_wgpu::TextConfig;
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    llama4_wgpu::gpu::quiet_headless_vulkan();
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "tests/fixtures/scout".into()));
    let prompt = args.next().unwrap_or_else(|| "Hello, world".into());

    // The library is async; a native program blocks on it at its edge.
    let ctx = pollster::block_on(GpuContext::new(&AdapterChoice::default()))?;
    let cfg = TextConfig::from_dir(&dir)?;
    let model = std::sync::Arc::new(TextModel::load(&ctx, &cfg, &Checkpoint::open(&dir)?, |_| {})?);
    let tok = Tokenizer::from_dir(&dir)?;

    let ids = tok.encode(&prompt)?;
    let mut session = Session::new(&ctx, &model, ids.len() + 32, SamplerConfig::default())?;
    let mut out = vec![pollster::block_on(session.prefill(&ids, false))?.token];
    while out.len() < 16 {
        out.push(pollster::block_on(session.decode(None, false))?.token);
    }
    println!("{prompt}{}", tok.decode(&out)?);
    println!("ids: {out:?}");
    Ok(())
}
