//! A desktop chat app on llama4-wgpu: egui draws the window with wgpu, and the model computes on
//! that same device and queue (`Runtime::from_device`), on a thread of its own so the window keeps
//! repainting while tokens stream.
//!
//! ```text
//! llama4-wgpu-desktop [MODEL.gguf | CHECKPOINT_DIR] [--prompt TEXT]... [--report FILE] [--stop-after N]
//! ```
//! With no model it opens empty: "Open model…" or drop a file on the window.

mod app;
mod script;
mod view;
mod worker;

use clap::Parser;
use llama4_wgpu::gpu::GpuContext;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(version, about = "Chat with a Llama 4 or Llama-family model on your GPU (llama4-wgpu)")]
struct Args {
    /// A GGUF file or a Hugging Face checkpoint folder to open at start.
    model: Option<PathBuf>,
    /// Send this message as soon as the model is loaded (a scripted run); given again, each
    /// next one is sent after the answer before it.
    #[arg(long)]
    prompt: Vec<String>,
    /// After the last scripted answer (or the first answer, without --prompt), write the
    /// answers, their speed and the window's frame times while they streamed to this JSON file;
    /// FILE with the extension `loaded` is written once the model is loaded.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Press Stop once the last scripted answer has streamed this many pieces of text.
    #[arg(long, requires = "prompt")]
    stop_after: Option<usize>,
    /// Tokens per answer at most.
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
}

fn main() {
    let args = Args::parse();
    let options = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("llama4-wgpu chat")
            .with_inner_size([980.0, 720.0])
            .with_min_inner_size([560.0, 400.0])
            .with_drag_and_drop(true),
        renderer: eframe::Renderer::Wgpu,
        wgpu_options: wgpu_options(),
        ..Default::default()
    };
    let script = script::Script::new(args.prompt, args.report, args.stop_after);
    let result = eframe::run_native(
        "llama4-wgpu chat",
        options,
        Box::new(move |cc| Ok(Box::new(app::ChatApp::new(cc, args.model, args.max_tokens, script)))),
    );
    if let Err(e) = result {
        eprintln!("llama4-wgpu-desktop: {e}");
        std::process::exit(1);
    }
}

/// eframe's device, created with what the model's kernels can use: the adapter's own limits
/// (large weight bindings) and its shader-f16 and subgroup features. The UI draws on it too.
fn wgpu_options() -> eframe::egui_wgpu::WgpuConfiguration {
    use eframe::egui_wgpu::{WgpuSetup, WgpuSetupCreateNew};
    let mut setup = WgpuSetupCreateNew::without_display_handle();
    setup.device_descriptor = Arc::new(|adapter: &wgpu::Adapter| {
        wgpu::DeviceDescriptor {
            label: Some("llama4-wgpu desktop (UI and model)"),
            required_features: GpuContext::wanted_features(adapter),
            // everything the adapter offers: egui's own 8192-texel surfaces included
            required_limits: GpuContext::wanted_limits(adapter),
            memory_hints: wgpu::MemoryHints::Performance,
            ..Default::default()
        }
    });
    eframe::egui_wgpu::WgpuConfiguration { wgpu_setup: WgpuSetup::CreateNew(setup), ..Default::default() }
}
