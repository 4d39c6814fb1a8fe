//! Speed on real Llama 4 shapes with synthetic weights.
//!
//! Writes a bf16 checkpoint of random weights at the chosen shapes (Scout's by default, with
//! fewer layers) through the ordinary safetensors path, loads it, then times a batched prefill
//! and greedy decode steps. Every timed step ends with the sampled id read back, so the clock
//! stops only after the GPU finished.
//!
//! cargo run --release --example bench -- --preset scout --layers 1 --prompt 128 --decode 32
//! cargo run --release --example bench -- --preset tiny --layers 4

use anyhow::{bail, Result};
use llama4_wgpu::gpu::{parse_backend, AdapterChoice, GpuContext};
use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::loader::Checkpoint;
use llama4_wgpu::model::TextModel;
use llama4_wgpu::runtime::Session;
use llama4_wgpu::TextConfig;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

struct Opts {
    preset: String,
    layers: usize,
    prompt: usize,
    decode: usize,
    backend: Option<String>,
    dir: Option<PathBuf>,
}

fn parse_args() -> Result<Opts> {
    let mut o = Opts { preset: "scout".into(), layers: 1, prompt: 128, decode: 32, backend: None, dir: None };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().ok_or_else(|| anyhow::anyhow!("{a} needs a value"));
        match a.as_str() {
            "--preset" => o.preset = val()?,
            "--layers" => o.layers = val()?.parse()?,
            "--prompt" => o.prompt = val()?.parse()?,
            "--decode" => o.decode = val()?.parse()?,
            "--backend" => o.backend = Some(val()?),
            "--dir" => o.dir = Some(val()?.into()),
            other => bail!("unknown argument {other} (--preset scout|maverick|tiny --layers N --prompt N --decode N --backend B --dir D)"),
        }
    }
    Ok(o)
}

/// Text config of a preset: Scout (16 experts every layer), Maverick (128 experts every other
/// layer; needs ~32 GB per MoE layer), or a tiny shape for a quick check.
fn config(preset: &str, layers: usize) -> Result<serde_json::Value> {
    let scout = serde_json::json!({
        "architectures": ["Llama4ForCausalLM"], "model_type": "llama4_text", "vocab_size": 202048, "hidden_size": 5120,
        "intermediate_size": 8192, "intermediate_size_mlp": 16384, "num_attention_heads": 40, "num_key_value_heads": 8,
        "head_dim": 128, "num_local_experts": 16, "num_experts_per_tok": 1, "interleave_moe_layer_step": 1,
        "use_qk_norm": true, "attention_chunk_size": 8192, "max_position_embeddings": 262144, "rope_theta": 500000.0,
        "rope_scaling": {"rope_type": "llama3", "factor": 16.0, "low_freq_factor": 1.0, "high_freq_factor": 1.0,
                         "original_max_position_embeddings": 8192},
        "no_rope_layers": [], "tie_word_embeddings": false, "num_hidden_layers": layers
    });
    let mut c = scout.clone();
    match preset {
        "scout" => {}
        "maverick" => {
            c["num_local_experts"] = 128.into();
            c["interleave_moe_layer_step"] = 2.into();
            c["use_qk_norm"] = false.into();
            c["rope_scaling"] = serde_json::Value::Null;
        }
        "tiny" => {
            for (k, v) in [
                ("hidden_size", 256),
                ("intermediate_size", 512),
                ("intermediate_size_mlp", 1024),
                ("num_attention_heads", 8),
                ("num_key_value_heads", 2),
                ("head_dim", 32),
                ("vocab_size", 32000),
            ] {
                c[k] = v.into();
            }
        }
        other => bail!("unknown preset {other}"),
    }
    Ok(c)
}

/// Tensor names and shapes of the text model, in file order.
fn tensors(cfg: &TextConfig) -> Vec<(String, Vec<usize>)> {
    let (h, d, nh, nkv, v) =
        (cfg.hidden_size, cfg.head_dim, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.vocab_size);
    let mut t = vec![
        ("model.embed_tokens.weight".to_string(), vec![v, h]),
        ("model.norm.weight".into(), vec![h]),
        ("lm_head.weight".into(), vec![v, h]),
    ];
    for (i, l) in cfg.layers.iter().enumerate() {
        let p = |r: &str| format!("model.layers.{i}.{r}");
        t.push((p("input_layernorm.weight"), vec![h]));
        t.push((p("post_attention_layernorm.weight"), vec![h]));
        t.push((p("self_attn.q_proj.weight"), vec![nh * d, h]));
        t.push((p("self_attn.k_proj.weight"), vec![nkv * d, h]));
        t.push((p("self_attn.v_proj.weight"), vec![nkv * d, h]));
        t.push((p("self_attn.o_proj.weight"), vec![h, nh * d]));
        let (w, ff) = match l.ffn {
            llama4_wgpu::config::FfnKind::Dense => (cfg.intermediate_size_mlp, "feed_forward."),
            llama4_wgpu::config::FfnKind::Moe => {
                let (e, w) = (cfg.num_local_experts, cfg.intermediate_size);
                t.push((p("feed_forward.router.weight"), vec![e, h]));
                t.push((p("feed_forward.experts.gate_up_proj"), vec![e, h, 2 * w]));
                t.push((p("feed_forward.experts.down_proj"), vec![e, w, h]));
                (w, "feed_forward.shared_expert.")
            }
        };
        t.push((p(&format!("{ff}gate_proj.weight")), vec![w, h]));
        t.push((p(&format!("{ff}up_proj.weight")), vec![w, h]));
        t.push((p(&format!("{ff}down_proj.weight")), vec![h, w]));
    }
    t
}

/// Writes random bf16 weights (norms = 1) as one safetensors file, streaming from a 16 MiB block.
fn write_checkpoint(dir: &Path, cfg_json: &serde_json::Value, cfg: &TextConfig) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("config.json"), serde_json::to_string_pretty(cfg_json)?)?;
    let list = tensors(cfg);
    let mut header = serde_json::Map::new();
    let mut off = 0usize;
    for (name, shape) in &list {
        let bytes = shape.iter().product::<usize>() * 2;
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "BF16", "shape": shape, "data_offsets": [off, off + bytes]}),
        );
        off += bytes;
    }
    let mut hbytes = serde_json::to_vec(&header)?;
    while hbytes.len() % 8 != 0 {
        hbytes.push(b' ');
    }
    let mut state = 0x9E3779B97F4A7C15u64;
    let block: Vec<u8> = (0..8 << 20)
        .flat_map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let v = ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.04;
            half::bf16::from_f32(v).to_le_bytes()
        })
        .collect();
    let one = half::bf16::from_f32(1.0).to_le_bytes();
    let mut f = std::io::BufWriter::with_capacity(1 << 22, std::fs::File::create(dir.join("model.safetensors"))?);
    f.write_all(&(hbytes.len() as u64).to_le_bytes())?;
    f.write_all(&hbytes)?;
    for (name, shape) in &list {
        let mut left = shape.iter().product::<usize>() * 2;
        if name.ends_with("norm.weight") {
            for _ in 0..left / 2 {
                f.write_all(&one)?;
            }
            continue;
        }
        while left > 0 {
            let n = left.min(block.len());
            f.write_all(&block[..n])?;
            left -= n;
        }
    }
    f.flush()?;
    Ok(())
}

fn main() -> Result<()> {
    llama4_wgpu::gpu::quiet_headless_vulkan();
    let o = parse_args()?;
    let cfg_json = config(&o.preset, o.layers)?;
    let dir = o.dir.clone().unwrap_or_else(|| PathBuf::from(format!("target/bench-{}-{}l", o.preset, o.layers)));
    let cfg = TextConfig::from_json_str(&cfg_json.to_string(), &dir.join("config.json"))?;
    if !dir.join("model.safetensors").exists() {
        let t = Instant::now();
        eprintln!("writing a synthetic {} checkpoint ({} layers) to {} ...", o.preset, o.layers, dir.display());
        write_checkpoint(&dir, &cfg_json, &cfg)?;
        eprintln!("  written in {:.1}s", t.elapsed().as_secs_f64());
    }
    let backend = o.backend.as_deref().map(parse_backend).transpose()?;
    let ctx = pollster::block_on(GpuContext::new(&AdapterChoice { backend, ..Default::default() }))?;
    let ck = Checkpoint::open(&dir)?;
    let t = Instant::now();
    let model = TextModel::load(&ctx, &cfg, &ck, |_| {})?;
    let load_s = t.elapsed().as_secs_f64();

    let ids: Vec<u32> = (0..o.prompt as u32).map(|i| (i * 7919 + 13) % cfg.vocab_size as u32).collect();
    let mut s = Session::new(&ctx, &model, o.prompt + o.decode + 1, SamplerConfig::default())?;
    // warm-up: compiles every pipeline of both step shapes
    pollster::block_on(s.prefill(&ids[..1], false))?;
    pollster::block_on(s.decode(None, false))?;
    let mut s = Session::new(&ctx, &model, o.prompt + o.decode + 1, SamplerConfig::default())?;
    let t = Instant::now();
    pollster::block_on(s.prefill(&ids, false))?;
    let prefill_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for _ in 0..o.decode {
        pollster::block_on(s.decode(None, false))?;
    }
    let decode_s = t.elapsed().as_secs_f64();

    println!("adapter: {} ({:?})", ctx.info.name, ctx.info.backend);
    println!(
        "model: {} x{} layers, hidden {}, experts {} (top-{}), vocab {}; weights {:.0} MiB bf16",
        o.preset,
        o.layers,
        cfg.hidden_size,
        cfg.num_local_experts,
        cfg.num_experts_per_tok,
        cfg.vocab_size,
        model.weight_bytes() as f64 / 1048576.0
    );
    println!("load: {load_s:.2}s");
    println!("prefill: {} tokens in {:.3}s = {:.1} tok/s", o.prompt, prefill_s, o.prompt as f64 / prefill_s);
    println!(
        "decode: {} steps in {:.3}s = {:.2} tok/s ({:.1} ms/token, {} dispatches/step, 1 submit/step)",
        o.decode,
        decode_s,
        o.decode as f64 / decode_s,
        1e3 * decode_s / o.decode as f64,
        s.decode_dispatches().unwrap_or(0)
    );
    Ok(())
}
