//! config.json parsing: both layouts and the traps of spec §1.1 / §10, no GPU needed.

use llama4_wgpu::config::{Architecture, AttentionKind, FfnKind, RopeScaling};
use llama4_wgpu::TextConfig;
use std::path::Path;

fn parse(json: &str) -> llama4_wgpu::Result<TextConfig> {
    TextConfig::from_json_str(json, Path::new("config.json"))
}

const BASE: &str = r#""architectures": ["Llama4ForCausalLM"], "model_type": "llama4_text", "hidden_size": 64,
    "num_attention_heads": 4, "num_hidden_layers": 8, "vocab_size": 100, "intermediate_size": 32"#;

#[test]
fn defaults_follow_transformers() {
    let c = parse(&format!("{{{BASE}}}")).unwrap();
    assert_eq!(c.head_dim, 128, "head_dim defaults to 128, not hidden/heads");
    assert_eq!(c.num_key_value_heads, 4, "missing num_key_value_heads -> num_attention_heads");
    // NoPE every 4th layer (3, 7), MoE on every layer with step 1
    let nope: Vec<usize> = (0..8).filter(|&i| c.layers[i].attention == AttentionKind::GlobalNope).collect();
    assert_eq!(nope, vec![3, 7]);
    assert!(c.layers.iter().all(|l| l.ffn == FfnKind::Moe));
    assert!(c.attn_temperature_tuning && c.use_qk_norm);
    assert_eq!((c.attention_chunk_size, c.floor_scale, c.attn_scale), (8192, 8192.0, 0.1));
    assert_eq!(c.rope_scaling, RopeScaling::None);
    assert_eq!(c.rope_theta, 500000.0);
}

#[test]
fn hub_layout_and_traps() {
    let c = parse(&format!(
        r#"{{{BASE}, "head_dim": null, "no_rope_layers": [], "attn_temperature_tuning": 4, "interleave_moe_layer_step": 2,
        "rope_theta": 10000.0, "rope_scaling": {{"rope_type": "llama3", "factor": 16.0, "low_freq_factor": 1.0,
        "high_freq_factor": 1.0, "original_max_position_embeddings": 8192}}, "num_key_value_heads": null}}"#
    ))
    .unwrap();
    assert_eq!(c.head_dim, 16, "head_dim: null -> hidden / heads");
    assert!(c.attn_temperature_tuning, "an int is truthy");
    let moe: Vec<usize> = (0..8).filter(|&i| c.layers[i].ffn == FfnKind::Moe).collect();
    assert_eq!(moe, vec![1, 3, 5, 7], "step 2 -> MoE on odd layers");
    assert_eq!(c.rope_theta, 10000.0);
    assert!(matches!(c.rope_scaling, RopeScaling::Llama3 { factor, .. } if factor == 16.0));
    // Empty smoothing band (low == high): frequencies with wavelength > 8192 divided by 16, others kept.
    let f = c.rope_inv_freq();
    for (j, &v) in f.iter().enumerate() {
        let inv = 1.0 / 10000f32.powf(2.0 * j as f32 / 16.0);
        let wl = 2.0 * std::f64::consts::PI / inv as f64;
        let want = if wl > 8192.0 { inv / 16.0 } else { inv };
        assert!((v - want).abs() <= 1e-6 * want.abs(), "pair {j}: {v} vs {want}");
        assert!(v.is_finite());
    }
}

#[test]
fn transformers5_layout_explicit_lists() {
    let c = parse(&format!(
        r#"{{{BASE}, "no_rope_layers": [1, 0, 1, 1, 0, 1, 1, 1], "moe_layers": [2, 5], "attn_temperature_tuning": false,
        "rope_parameters": {{"rope_type": "llama3", "rope_theta": 1000.0, "factor": 8.0, "low_freq_factor": 1.0,
        "high_freq_factor": 4.0, "original_max_position_embeddings": 64}}}}"#
    ))
    .unwrap();
    let nope: Vec<usize> = (0..8).filter(|&i| c.layers[i].attention == AttentionKind::GlobalNope).collect();
    assert_eq!(nope, vec![1, 4], "0 in no_rope_layers means NoPE");
    let moe: Vec<usize> = (0..8).filter(|&i| c.layers[i].ffn == FfnKind::Moe).collect();
    assert_eq!(moe, vec![2, 5]);
    assert!(!c.attn_temperature_tuning);
    assert_eq!(c.attn_temperature(100_000), 1.0);
    assert_eq!(c.rope_theta, 1000.0);
    // Smooth band: wavelengths between 16 and 64 are interpolated, strictly between inv/8 and inv.
    let f = c.rope_inv_freq();
    let inv: Vec<f32> = (0..64).map(|j| 1.0 / 1000f32.powf(2.0 * j as f32 / 128.0)).collect();
    let mut smoothed = 0;
    for j in 0..64 {
        let wl = 2.0 * std::f64::consts::PI / inv[j] as f64;
        if wl > 16.0 && wl < 64.0 {
            assert!(f[j] < inv[j] && f[j] > inv[j] / 8.0, "pair {j} not smoothed");
            smoothed += 1;
        }
    }
    assert!(smoothed > 0);
}

#[test]
fn conditional_generation_reads_text_config() {
    let c = parse(
        r#"{"architectures": ["Llama4ForConditionalGeneration"], "model_type": "llama4", "tie_word_embeddings": false,
        "text_config": {"hidden_size": 32, "num_attention_heads": 2, "num_hidden_layers": 4, "vocab_size": 50,
        "head_dim": 16, "attention_chunk_size": null}, "vision_config": {"hidden_size": 8}}"#,
    )
    .unwrap();
    assert_eq!(c.architecture, Architecture::ConditionalGeneration);
    assert_eq!((c.hidden_size, c.vocab_size), (32, 50));
    assert!(c.attention_chunk_size >= u32::MAX as usize, "null chunk size means no chunking");
}

#[test]
fn temperature_tuning_formula() {
    let c = parse(&format!(r#"{{{BASE}, "floor_scale": 4, "attn_scale": 0.5}}"#)).unwrap();
    // 1 + attn_scale * log(floor((pos + 1) / floor_scale) + 1)
    for (pos, want) in [(0usize, 1.0f32), (2, 1.0), (3, 1.0 + 0.5 * 2f32.ln()), (11, 1.0 + 0.5 * 4f32.ln())] {
        assert!((c.attn_temperature(pos) - want).abs() < 1e-6, "pos {pos}");
    }
}

#[test]
fn bad_configs_are_clear_errors() {
    for (json, needle) in [
        (r#"{"architectures": ["LlamaForCausalLM"], "model_type": "llama"}"#.to_string(), "unknown architecture"),
        (format!(r#"{{{BASE}, "num_key_value_heads": 3}}"#), "multiple of num_key_value_heads"),
        (format!(r#"{{{BASE}, "no_rope_layers": [1, 0]}}"#), "no_rope_layers"),
        (format!(r#"{{{BASE}, "hidden_act": "gelu"}}"#), "hidden_act"),
        (format!(r#"{{{BASE}, "rope_scaling": {{"rope_type": "yarn"}}}}"#), "yarn"),
        (format!(r#"{{{BASE}, "hidden_size": "big"}}"#), "hidden_size"),
        (format!(r#"{{{BASE}, "moe_layers": [9]}}"#), "moe_layers"),
        ("[1, 2]".to_string(), "object"),
    ] {
        let e = parse(&json).err().unwrap_or_else(|| panic!("accepted: {json}")).to_string();
        assert!(e.contains(needle) && e.contains("config.json"), "{e}");
    }
}
