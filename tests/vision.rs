//! The vision path against transformers (tools/make_vision_fixtures.py): the image processor bit
//! for bit, the CPU vision tower stage by stage, the prompt layout, and the merged text logits.

mod common;
use common::{fixture, rel_err};
use llama4_wgpu::config::VisionConfig;
use llama4_wgpu::gpu::GpuContext;
use llama4_wgpu::kernels::SamplerConfig;
use llama4_wgpu::loader::Checkpoint;
use llama4_wgpu::model::{TextModel, VisionModel};
use llama4_wgpu::reference::vision::CpuVision;
use llama4_wgpu::reference::CpuModel;
use llama4_wgpu::runtime::Session;
use llama4_wgpu::runtime::{npy, Tokenizer};
use llama4_wgpu::vision::{self, ImageTokens, ProcessorConfig};
use llama4_wgpu::TextConfig;
use pollster::block_on;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    fixture("vision")
}

fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("reference.json")).unwrap()).unwrap()
}

fn npy(name: &str) -> Vec<f32> {
    npy::read_f32(&dir().join(format!("{name}.npy"))).unwrap().1
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

fn pixels(name: &str, cfg: &ProcessorConfig) -> vision::PixelValues {
    let r = reference();
    let file = r["images"][name]["file"].as_str().unwrap();
    let img = vision::image::load(&dir().join("images").join(file)).unwrap();
    vision::preprocess(&img, cfg)
}

#[test]
fn processor_matches_transformers_bit_for_bit() {
    let cfg = ProcessorConfig::from_dir(&dir()).unwrap();
    assert_eq!((cfg.tile, cfg.max_patches), (28, 6), "preprocessor_config.json read");
    let r = reference();
    let images = r["images"].as_object().unwrap();
    assert!(images.len() >= 12);
    for (name, want) in images {
        let pv = pixels(name, &cfg);
        let grid = want["aspect_ratio"].as_array().unwrap();
        assert_eq!(pv.grid(), (grid[0].as_u64().unwrap() as usize, grid[1].as_u64().unwrap() as usize), "{name}: grid");
        assert_eq!(pv.tiles(), want["tiles"].as_u64().unwrap() as usize, "{name}: tiles");
        let expect = npy(&format!("{name}_pixel_values"));
        assert_eq!(pv.data.len(), expect.len(), "{name}");
        let differ = pv.data.iter().zip(&expect).filter(|(a, b)| a != b).count();
        let max = pv.data.iter().zip(&expect).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        if name == "gray16" {
            // Pillow clips 16-bit gray to 255 before transformers sees it (mode I;16 -> RGB);
            // we scale it to 8 bits (gray16_decodes_by_scaling checks the values).
            continue;
        }
        if name == "cmyk_jpeg" {
            // CMYK JPEGs decode through the image crate (zune-jpeg), not libjpeg-turbo's path:
            // a level apart on a few pixels.
            assert!(max <= 2.0 / 127.5 + 1e-6, "{name}: max diff {max}");
            assert!(differ * 4 < expect.len(), "{name}: {differ} of {} values differ", expect.len());
        } else {
            assert_eq!(differ, 0, "{name}: {differ} of {} values differ (max {max})", expect.len());
        }
    }
}

#[test]
fn exif_orientation_is_applied() {
    let r = reference();
    let hw = &r["images"]["exif_rotated"]["size_hw"];
    let img = vision::image::load(&dir().join("images/exif_rotated.jpg")).unwrap();
    // Stored 50 wide and 30 high, with orientation 6 (rotate 90): shown 30 wide and 50 high.
    assert_eq!((img.height, img.width), (hw[0].as_u64().unwrap() as usize, hw[1].as_u64().unwrap() as usize));
    assert_eq!((img.height, img.width), (50, 30));
}

fn tower() -> (CpuVision, VisionConfig, TextConfig, Checkpoint) {
    let vcfg = VisionConfig::from_dir(&dir()).unwrap().expect("the fixture has a vision tower");
    let tcfg = TextConfig::from_dir(&dir()).unwrap();
    let ck = Checkpoint::open(&dir()).unwrap();
    (CpuVision::load(&vcfg, tcfg.hidden_size, &ck).unwrap(), vcfg, tcfg, ck)
}

/// Every case's images through the processor, concatenated as transformers stacks them.
fn case_pixels(case: &Value, cfg: &ProcessorConfig) -> (Vec<f32>, Vec<(usize, usize)>) {
    let (mut data, mut grids) = (vec![], vec![]);
    for name in case["images"].as_array().unwrap() {
        let pv = pixels(name.as_str().unwrap(), cfg);
        grids.push(pv.grid());
        data.extend(pv.data);
    }
    (data, grids)
}

#[test]
fn cpu_vision_tower_matches_transformers_at_every_stage() {
    let (cpu, vcfg, _, _) = tower();
    assert_eq!(vcfg.tokens_per_tile(), 4);
    let pcfg = ProcessorConfig::from_dir(&dir()).unwrap();
    let r = reference();
    for (case, c) in r["cases"].as_object().unwrap() {
        let (px, _) = case_pixels(c, &pcfg);
        let tiles = px.len() / (3 * 28 * 28);
        let s = cpu.forward(&px, tiles);
        for (stage, got) in [("pre", &s.pre), ("post", &s.post), ("adapter", &s.adapter), ("projected", &s.projected)] {
            let e = rel_err(got, &npy(&format!("{case}_{stage}")));
            assert!(e < 1e-5, "{case} {stage}: rel err {e}");
        }
    }
}

#[test]
fn prompt_layout_matches_llama4_processor() {
    let (_, vcfg, _, _) = tower();
    let tok = Tokenizer::from_dir(&dir()).unwrap();
    let tokens = ImageTokens::from_tokenizer(&tok, vcfg.image_token_index).unwrap();
    let pcfg = ProcessorConfig::from_dir(&dir()).unwrap();
    let r = reference();
    for (case, c) in r["cases"].as_object().unwrap() {
        let (_, grids) = case_pixels(c, &pcfg);
        let text_ids = tok.encode(c["text"].as_str().unwrap()).unwrap();
        let got = tokens.expand(&text_ids, &grids, vcfg.tokens_per_tile()).unwrap();
        assert_eq!(got, ids(&c["prompt_ids"]), "{case}");
    }
    // One marker short, one too many, and <|patch|> already in the text: clear errors.
    let text = tok.encode("a <|image|> b").unwrap();
    let err = tokens.expand(&text, &[(1, 1), (1, 2)], 4).unwrap_err().to_string();
    assert!(err.contains("1 <|image|> marker(s) for 2 image(s)"), "{err}");
    let err = tokens.expand(&text, &[], 4).unwrap_err().to_string();
    assert!(err.contains("1 <|image|> marker(s) for 0 image(s)"), "{err}");
}

#[test]
fn merged_cpu_forward_matches_transformers_logits() {
    let (cpu, _, tcfg, ck) = tower();
    let text = CpuModel::load(&tcfg, &ck).unwrap();
    let pcfg = ProcessorConfig::from_dir(&dir()).unwrap();
    let r = reference();
    let patch = r["patch_id"].as_u64().unwrap() as u32;
    for (case, c) in r["cases"].as_object().unwrap() {
        let (px, _) = case_pixels(c, &pcfg);
        let feats = cpu.forward(&px, px.len() / (3 * 28 * 28)).projected;
        let prompt = ids(&c["prompt_ids"]);
        let logits = text.forward_merged(&prompt, &feats, patch);
        let e = rel_err(&logits, &npy(&format!("{case}_prompt_logits")));
        assert!(e < 1e-4, "{case}: rel err {e}");
    }
}

/// The fixture's tower and text model on the GPU, and its processor settings.
fn gpu_models() -> (&'static GpuContext, VisionModel, std::sync::Arc<TextModel>, ProcessorConfig) {
    let ctx = common::gpu();
    let (_, vcfg, tcfg, ck) = tower();
    let vision = VisionModel::load(ctx, &vcfg, tcfg.hidden_size, &ck).unwrap();
    let model = std::sync::Arc::new(TextModel::load(ctx, &tcfg, &ck, |_| {}).unwrap());
    (ctx, vision, model, ProcessorConfig::from_dir(&dir()).unwrap())
}

#[test]
fn gpu_vision_tower_and_merged_prefill_match_transformers() {
    use llama4_wgpu::gpu::buffers::read_f32;
    let (ctx, vision, model, pcfg) = gpu_models();
    let r = reference();
    let patch = r["patch_id"].as_u64().unwrap() as u32;
    for (case, c) in r["cases"].as_object().unwrap() {
        let (px, _) = case_pixels(c, &pcfg);
        let feats = vision.encode(ctx, &px).unwrap();
        let got = block_on(read_f32(ctx, &feats, 0, feats.len)).unwrap();
        let e = rel_err(&got, &npy(&format!("{case}_projected")));
        assert!(e < 1e-4, "{case} features: rel err {e}");
        let prompt = ids(&c["prompt_ids"]);
        let mut s = Session::new(ctx, &model, 256, SamplerConfig::default()).unwrap();
        let out = block_on(s.prefill_images(&prompt, true, patch, feats)).unwrap();
        let e = rel_err(&out.logits.unwrap(), &npy(&format!("{case}_prompt_logits")));
        assert!(e < 1e-3, "{case} logits: rel err {e}");
        let mut tokens = vec![out.token];
        while tokens.len() < 6 {
            tokens.push(block_on(s.decode(None, false)).unwrap().token);
        }
        assert_eq!(tokens, ids(&c["greedy_tokens"]), "{case}: greedy tokens");
    }
    // Features whose rows do not match the prompt's <|patch|> tokens: a clear error, no step run.
    let c = &r["cases"]["one_tile"];
    let feats = vision.encode(ctx, &case_pixels(c, &pcfg).0).unwrap();
    let mut prompt = ids(&c["prompt_ids"]);
    let at = prompt.iter().position(|&i| i == patch).unwrap();
    prompt.remove(at);
    let mut s = Session::new(ctx, &model, 256, SamplerConfig::default()).unwrap();
    let err = block_on(s.prefill_images(&prompt, false, patch, feats)).err().unwrap().to_string();
    assert!(err.contains("holds 3 <|patch|> token(s)") && err.contains("features hold 4 rows"), "{err}");
}

#[test]
fn gray16_decodes_by_scaling() {
    // tools/make_vision_fixtures.py writes gray16.png as v = 2000 x + 150 y (30 x 24).
    let img = vision::image::load(&dir().join("images/gray16.png")).unwrap();
    assert_eq!((img.width, img.height), (30, 24));
    for (x, y) in [(0usize, 0usize), (1, 0), (5, 7), (29, 23), (17, 11)] {
        let v = (2000 * x + 150 * y) as f64;
        let want = (v / 257.0).round() as i32;
        for c in 0..3 {
            let got = img.plane(c)[y * 30 + x] as i32;
            assert!((got - want).abs() <= 1, "({x}, {y}) channel {c}: {got}, want {want}");
        }
    }
}

#[test]
fn bad_images_are_clear_errors() {
    let bad = dir().join("images/bad");
    for (file, says) in [
        ("bomb_50000x50000.png", "50000x50000 = 2500000000 pixels, over the limit"),
        ("zero_width.png", "zero_width.png: image:"),
        ("truncated.png", "truncated.png: image:"),
        ("truncated.jpg", "truncated.jpg: image:"),
        ("not_an_image.png", "not a PNG, JPEG, WebP or GIF image"),
    ] {
        let err = vision::image::load(&bad.join(file)).unwrap_err().to_string();
        assert!(err.contains(says), "{file}: {err}");
    }
    let err = vision::image::load(&bad.join("missing.png")).unwrap_err().to_string();
    assert!(err.contains("missing.png"), "{err}");
}

fn cli(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_llama4-wgpu")).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `run --temperature 0 --max-tokens 6 --json` on `model` with an `--image` for each of `images`
/// and `extra`; the JSON it prints.
fn run_json(model: &Path, images: &[PathBuf], extra: &[&str]) -> Value {
    let mut args: Vec<String> = vec!["run".into(), "--model".into(), model.display().to_string()];
    for i in images {
        args.extend(["--image".to_string(), i.display().to_string()]);
    }
    args.extend(["--temperature", "0", "--max-tokens", "6", "--json"].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    serde_json::from_str(cli(&a).trim()).unwrap()
}

/// A reference case's image files, in prompt order.
fn case_images(r: &Value, case: &Value) -> Vec<PathBuf> {
    let file = |n: &Value| r["images"][n.as_str().unwrap()]["file"].as_str().unwrap().to_string();
    case["images"].as_array().unwrap().iter().map(|n| dir().join("images").join(file(n))).collect()
}

/// The acceptance form: `run --image ... --prompt-ids <processor ids> --json --dump-logits`.
#[test]
fn cli_run_with_images_matches_transformers() {
    let r = reference();
    let c = &r["cases"]["two_images"];
    let prompt: Vec<String> = ids(&c["prompt_ids"]).iter().map(|i| i.to_string()).collect();
    let dump = std::env::temp_dir().join(format!("llama4-wgpu-vision-{}.npy", std::process::id()));
    let images = case_images(&r, c);
    let v = run_json(&dir(), &images, &["--prompt-ids", &prompt.join(","), "--dump-logits", dump.to_str().unwrap()]);
    assert_eq!(ids(&v["tokens"]), ids(&c["greedy_tokens"]));
    let (shape, logits) = npy::read_f32(&dump).unwrap();
    assert_eq!(shape, vec![prompt.len(), 512]);
    let e = rel_err(&logits, &npy("two_images_prompt_logits"));
    assert!(e < 1e-3, "rel err {e}");
    // The same through --prompt: the markers expand to the processor's ids.
    let v = run_json(&dir(), &images, &["--prompt", c["text"].as_str().unwrap()]);
    assert_eq!(ids(&v["prompt_ids"]), ids(&c["prompt_ids"]));
    assert_eq!(ids(&v["tokens"]), ids(&c["greedy_tokens"]));
}

#[test]
fn info_shows_the_vision_tower_and_image_budgets() {
    let out = cli(&["info", "--model", dir().to_str().unwrap()]);
    assert!(out.contains("vision: 3 layers, hidden 32, heads 2 (head_dim 16)"), "{out}");
    assert!(out.contains("-> 4 <|patch|> tokens a tile"), "{out}");
    assert!(out.contains("55040 parameters"), "{out}");
    assert!(out.contains("with images: + vision tower 0.2 MiB"), "{out}");
    // A 28x28 image is one tile: <|image_start|><|image|> 4 x <|patch|> <|image_end|>.
    assert!(out.contains("28x28    -> 1x1 tiles = 1 tile(s): 4 <|patch|>, 7 prompt ids"), "{out}");
    // 1920x1080 on at most 6 tiles: 2x3 + global = 7 tiles, 28 patches, + start, end, image,
    // 4 x-separators, 2 y-separators = 37 ids.
    assert!(out.contains("1920x1080  -> 2x3 tiles + global = 7 tile(s): 28 <|patch|>, 37 prompt ids"), "{out}");
}

#[test]
fn processor_settings_come_from_either_file_transformers_writes() {
    let tmp = std::env::temp_dir().join(format!("llama4-wgpu-proc-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    // transformers 5's Llama4Processor.save_pretrained: processor_config.json, nested.
    let nested = r#"{"image_processor": {"size": {"height": 56, "width": 56}, "max_patches": 5, "resample": 2},
        "patch_size": 14, "processor_class": "Llama4Processor"}"#;
    std::fs::write(tmp.join("processor_config.json"), nested).unwrap();
    let c = ProcessorConfig::from_dir(&tmp).unwrap();
    assert_eq!((c.tile, c.max_patches), (56, 5));
    // preprocessor_config.json wins where both exist.
    std::fs::write(tmp.join("preprocessor_config.json"), r#"{"size": {"height": 28, "width": 28}, "max_patches": 3}"#)
        .unwrap();
    let c = ProcessorConfig::from_dir(&tmp).unwrap();
    assert_eq!((c.tile, c.max_patches), (28, 3));
    // Settings that would change the pixels in ways not supported are refused by name.
    std::fs::write(tmp.join("preprocessor_config.json"), r#"{"resample": 3}"#).unwrap();
    let err = ProcessorConfig::from_dir(&tmp).unwrap_err().to_string();
    assert!(err.contains("preprocessor_config.json") && err.contains("`resample` 3"), "{err}");
    std::fs::write(tmp.join("preprocessor_config.json"), r#"{"size": {"height": 28, "width": 56}}"#).unwrap();
    let err = ProcessorConfig::from_dir(&tmp).unwrap_err().to_string();
    assert!(err.contains("must be square"), "{err}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// llama.cpp's way: the text model and the projector as GGUF files converted by
/// `convert_hf_to_gguf.py` (tools/make_vision_gguf_fixture.py), `--mmproj` naming the projector.
#[test]
fn gguf_model_with_mmproj_matches_transformers() {
    let r = reference();
    let c = &r["cases"]["two_images"];
    let prompt: Vec<String> = ids(&c["prompt_ids"]).iter().map(|i| i.to_string()).collect();
    let dump = std::env::temp_dir().join(format!("llama4-wgpu-mmproj-{}.npy", std::process::id()));
    let images = case_images(&r, c);
    let (model, mmproj) = (dir().join("model-f32.gguf"), dir().join("mmproj-f32.gguf"));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let extra =
        ["--mmproj", &s(&mmproj), "--max-patches", "6", "--prompt-ids", &prompt.join(","), "--dump-logits", &s(&dump)];
    let v = run_json(&model, &images, &extra);
    assert_eq!(ids(&v["tokens"]), ids(&c["greedy_tokens"]));
    let e = rel_err(&npy::read_f32(&dump).unwrap().1, &npy("two_images_prompt_logits"));
    assert!(e < 1e-3, "rel err {e}");
    // info describes the projector as the model's tower, the same as the checkpoint's own.
    let info = cli(&["info", "--model", &s(&model), "--mmproj", &s(&mmproj)]);
    assert!(info.contains("vision: 3 layers, hidden 32") && info.contains("55040 parameters"), "{info}");
    // 55040 f32 parameters = 0.21 MiB, counted from the projector file's own tensors.
    assert!(info.contains("with images: + vision tower 0.2 MiB"), "{info}");
    // A file that is not a projector is refused by name.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_llama4-wgpu"))
        .args(["run", "--model", &s(&model), "--mmproj", &s(&model), "--prompt", "hi", "--image", &s(&images[0])])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1), "{err}");
    assert!(err.contains("model-f32.gguf") && err.contains("not a Llama 4 multimodal projector"), "{err}");
}

/// JPEGs across libjpeg-turbo's decode paths (4:4:4, 4:2:2, 4:2:0, gray, restart markers,
/// optimised Huffman tables, progressive, 2x3 pixels): exactly Pillow's pixels.
#[test]
fn jpeg_decodes_as_libjpeg_turbo() {
    let jpegs = dir().join("images/jpeg");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&jpegs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    names.sort();
    assert!(names.len() >= 9, "{names:?}");
    for p in names {
        let want = std::fs::read(p.with_extension("rgb")).unwrap();
        let img = vision::image::load(&p).unwrap();
        let n = img.width * img.height;
        assert_eq!(n * 3, want.len(), "{}", p.display());
        let differ = (0..n)
            .flat_map(|i| (0..3).map(move |c| (i, c)))
            .filter(|&(i, c)| img.plane(c)[i] != want[3 * i + c])
            .count();
        assert_eq!(differ, 0, "{}: {differ} values differ from Pillow's", p.display());
    }
}

/// Mutated JPEGs never panic the decoder (they decode to something, or fall back and fail).
#[test]
fn mutated_jpegs_never_panic() {
    let src = std::fs::read(dir().join("images/jpeg/progressive_420_33x47.jpg")).unwrap();
    let base = std::fs::read(dir().join("images/jpeg/420_restarts_64x80.jpg")).unwrap();
    let mut state = 0x2545_f491u32;
    for bytes in [&src, &base] {
        for _ in 0..400 {
            let mut m = bytes.clone();
            for _ in 0..3 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let i = state as usize % m.len();
                m[i] = (state >> 8) as u8;
            }
            let _ = vision::jpeg::decode(&m);
            let _ = vision::image::decode(&m, std::path::Path::new("mutated.jpg"));
        }
    }
}

/// A conversation's second image arrives after the first is in the cache: the rest of the prompt
/// takes the features from the first new row (what `chat` does each turn).
#[test]
fn images_across_turns_match_one_prefill() {
    let (ctx, vision, model, pcfg) = gpu_models();
    let r = reference();
    let c = &r["cases"]["two_images"];
    let (px, _) = case_pixels(c, &pcfg);
    let first = pixels(c["images"][0].as_str().unwrap(), &pcfg);
    let (patch, end) = (r["patch_id"].as_u64().unwrap() as u32, 9u32);
    let prompt = ids(&c["prompt_ids"]);
    // Turn one: up to the first <|image_end|> (id 9 in the fixture), with the first image alone.
    let split = prompt.iter().position(|&i| i == end).unwrap() + 1;
    let mut s = Session::new(ctx, &model, 256, SamplerConfig::default()).unwrap();
    block_on(s.prefill_images(&prompt[..split], false, patch, vision.encode(ctx, &first.data).unwrap())).unwrap();
    // Turn two: the rest, its <|patch|> rows after the first image's in the features of both.
    let before = prompt[..split].iter().filter(|&&i| i == patch).count();
    let both = vision.encode(ctx, &px).unwrap();
    let out = block_on(s.prefill_images_from(&prompt[split..], true, patch, both.clone(), before)).unwrap();
    let logits = out.logits.unwrap();
    let want = npy("two_images_prompt_logits");
    let tail = &want[split * 512..];
    let e = rel_err(&logits, tail);
    assert!(e < 1e-3, "rel err {e}");
    assert_eq!(out.token, ids(&c["greedy_tokens"])[0]);
    // Rows past the end, or too few for the prompt's <|patch|> tokens: clear errors.
    let err =
        block_on(s.prefill_images_from(&prompt[split..], false, patch, both, before + 1)).err().unwrap().to_string();
    assert!(err.contains("features hold"), "{err}");
}

/// `chat --image`: the first answer is `run --chat --image`'s.
#[test]
fn chat_takes_images() {
    use std::io::Write;
    let img = dir().join("images/one_tile.png");
    let v = run_json(&dir(), std::slice::from_ref(&img), &["--chat", "--prompt", "Describe it."]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_llama4-wgpu"))
        .args(["chat", "--model", dir().to_str().unwrap(), "--max-tokens", "6", "--image", img.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let tall = dir().join("images/tall_3x1.png");
    let script = format!("Describe it.\n/image {}\nAnd this one?\n", tall.display());
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    let answers: Vec<&str> = stdout.split('\n').collect();
    assert_eq!(answers[0], v["text"].as_str().unwrap(), "stdout {stdout:?}");
    assert!(stderr.contains("image attached to the next message: 25x80"), "{stderr}");
    assert!(answers.len() >= 2 && !stderr.contains("error"), "{stdout:?} {stderr}");
}
