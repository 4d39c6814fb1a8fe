//! Llama 4's image processor (`Llama4ImageProcessor`, spec §5), bit for bit: the best-fit tile
//! canvas, an aspect-preserving antialiased resize, black padding, rescale and normalise in
//! bfloat16, row-major tiles, and a global tile when there is more than one.
//!
//! transformers computes the canvas scales as float32 tensors, and some of the resize target's
//! arithmetic in float32 too (where a tensor value wins a `min`); [`plan`] does the same, so
//! ties and floors fall the same way.

use super::image::Rgb8;
use super::resize::resize_plane;
use crate::error::{Error, Result};
use half::bf16;
use serde_json::Value;
use std::path::Path;

/// The processor's settings: `preprocessor_config.json`, or Llama 4's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessorConfig {
    /// Tile side in pixels (`size.height`, which must equal `size.width`): 336.
    pub tile: usize,
    /// The most tiles an image may be split into (`max_patches`): 16.
    pub max_patches: usize,
    /// Upscale to the largest canvas instead of the smallest that holds the image.
    pub resize_to_max_canvas: bool,
    pub rescale_factor: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Default for ProcessorConfig {
    fn default() -> Self {
        ProcessorConfig {
            tile: 336,
            max_patches: 16,
            resize_to_max_canvas: false,
            rescale_factor: 1.0 / 255.0,
            mean: [0.5; 3],
            std: [0.5; 3],
        }
    }
}

impl ProcessorConfig {
    /// Reads `preprocessor_config.json`'s fields that change the pixels; the rest keep defaults.
    pub fn from_json_str(text: &str, path: &Path) -> Result<Self> {
        let v: Value = serde_json::from_str(text).map_err(|e| Error::config(path, e.to_string()))?;
        Self::from_value(&v, path)
    }

    fn from_value(v: &Value, path: &Path) -> Result<Self> {
        let bad = |r: String| Error::config(path, r);
        let mut c = ProcessorConfig::default();
        if let Some(r) = v.get("resample").filter(|r| !r.is_null()) {
            if r.as_u64() != Some(2) {
                return Err(bad(format!("`resample` {r} is not supported (Llama 4 resizes bilinearly: 2)")));
            }
        }
        let uint = |key: &str, v: &Value| {
            v.as_u64()
                .map(|x| x as usize)
                .filter(|&x| x > 0)
                .ok_or_else(|| bad(format!("`{key}` must be a positive integer, got {v}")))
        };
        if let Some(size) = v.get("size").filter(|s| !s.is_null()) {
            let (h, w) = (size.get("height"), size.get("width"));
            match (h, w) {
                (Some(h), Some(w)) => {
                    let (h, w) = (uint("size.height", h)?, uint("size.width", w)?);
                    if h != w {
                        return Err(bad(format!("`size` must be square, got {h}x{w}")));
                    }
                    c.tile = h;
                }
                _ => return Err(bad(format!("`size` needs `height` and `width`, got {size}"))),
            }
        }
        if let Some(m) = v.get("max_patches").filter(|s| !s.is_null()) {
            c.max_patches = uint("max_patches", m)?;
        }
        if let Some(b) = v.get("resize_to_max_canvas").filter(|s| !s.is_null()) {
            c.resize_to_max_canvas =
                b.as_bool().ok_or_else(|| bad(format!("`resize_to_max_canvas` must be a boolean, got {b}")))?;
        }
        if let Some(r) = v.get("rescale_factor").filter(|s| !s.is_null()) {
            c.rescale_factor =
                r.as_f64().ok_or_else(|| bad(format!("`rescale_factor` must be a number, got {r}")))? as f32;
        }
        for (key, dst) in [("image_mean", &mut c.mean), ("image_std", &mut c.std)] {
            if let Some(list) = v.get(key).filter(|s| !s.is_null()) {
                let xs: Option<Vec<f32>> = match list {
                    Value::Number(n) => n.as_f64().map(|x| vec![x as f32; 3]),
                    Value::Array(a) => a.iter().map(|x| x.as_f64().map(|x| x as f32)).collect(),
                    _ => None,
                };
                match xs {
                    Some(xs) if xs.len() == 3 => dst.copy_from_slice(&xs),
                    _ => return Err(bad(format!("`{key}` must be a number or 3 numbers, got {list}"))),
                }
            }
        }
        for (k, s) in c.std.iter().enumerate() {
            if *s == 0.0 {
                return Err(bad(format!("`image_std[{k}]` is 0")));
            }
        }
        for (key, flag) in [("do_resize", true), ("do_rescale", true), ("do_normalize", true), ("do_convert_rgb", true)]
        {
            if v.get(key).and_then(Value::as_bool).is_some_and(|b| b != flag) {
                return Err(bad(format!(
                    "`{key}: false` is not supported (Llama 4 always resizes, rescales and normalises)"
                )));
            }
        }
        Ok(c)
    }

    /// `preprocessor_config.json` in a checkpoint folder, or the defaults when it has none.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        Ok(Self::from_files(&crate::loader::Folder::new(dir))?.unwrap_or_default())
    }

    /// The image processor's settings in a file source: `preprocessor_config.json`, else the
    /// `image_processor` object of `processor_config.json` (what transformers 5's
    /// `Llama4Processor.save_pretrained` writes); `None` when it has neither.
    pub fn from_files(src: &dyn crate::loader::FileSource) -> Result<Option<Self>> {
        const PRE: &str = "preprocessor_config.json";
        const PROC: &str = "processor_config.json";
        if src.exists(PRE) {
            return Self::from_json_str(&src.read_text(PRE)?, &src.path_of(PRE)).map(Some);
        }
        if src.exists(PROC) {
            let path = src.path_of(PROC);
            let v: Value =
                serde_json::from_str(&src.read_text(PROC)?).map_err(|e| Error::config(&path, e.to_string()))?;
            if let Some(ip) = v.get("image_processor").filter(|v| v.is_object()) {
                return Self::from_value(ip, &path).map(Some);
            }
        }
        Ok(None)
    }
}

/// The canvases an image may be fitted to, `(height, width)` in pixels, in transformers' order
/// (`find_supported_resolutions`: grids of at most `max_patches` tiles grouped by aspect ratio).
pub fn canvases(max_patches: usize, tile: usize) -> Vec<(usize, usize)> {
    let mut groups: Vec<(f64, Vec<(usize, usize)>)> = Vec::new();
    for n in (1..=max_patches).rev() {
        let mut factors: Vec<usize> = (1..=n).filter(|f| n % f == 0).collect();
        factors.sort_unstable();
        for f in factors {
            let ratio = f as f64 / (n / f) as f64;
            match groups.iter_mut().find(|(r, _)| *r == ratio) {
                Some((_, g)) => g.push((f, n / f)),
                None => groups.push((ratio, vec![(f, n / f)])),
            }
        }
    }
    groups.into_iter().flat_map(|(_, g)| g).map(|(h, w)| (h * tile, w * tile)).collect()
}

/// Where an image goes: its canvas and the size it is resized to before padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fit {
    pub canvas: (usize, usize),
    pub resized: (usize, usize),
}

impl Fit {
    /// Tile rows and columns: transformers' `aspect_ratios`.
    pub fn grid(&self, tile: usize) -> (usize, usize) {
        (self.canvas.0 / tile, self.canvas.1 / tile)
    }
    /// Tiles the vision tower sees: the grid, plus the global tile when the grid has several.
    pub fn tiles(&self, tile: usize) -> usize {
        let (h, w) = self.grid(tile);
        if h * w > 1 {
            h * w + 1
        } else {
            1
        }
    }
}

/// `get_best_fit` then `get_max_res_without_distortion`, with transformers' float32 steps.
pub fn plan(height: usize, width: usize, cfg: &ProcessorConfig) -> Fit {
    let cands = canvases(cfg.max_patches, cfg.tile);
    let scales: Vec<f32> =
        cands.iter().map(|&(ch, cw)| (cw as f32 / width as f32).min(ch as f32 / height as f32)).collect();
    let up = scales.iter().copied().filter(|&s| s >= 1.0);
    let selected = if scales.iter().any(|&s| s >= 1.0) {
        if cfg.resize_to_max_canvas {
            up.fold(f32::MIN, f32::max)
        } else {
            up.fold(f32::MAX, f32::min)
        }
    } else {
        scales.iter().copied().fold(f32::MIN, f32::max)
    };
    let mut canvas = (0, 0);
    for (&c, &s) in cands.iter().zip(&scales) {
        if s == selected && (canvas == (0, 0) || c.0 * c.1 < canvas.0 * canvas.1) {
            canvas = c;
        }
    }
    // The upscaling limit: `min(max(side, tile), canvas side)`; where the canvas side wins, the
    // value is a tensor element and what follows is float32 arithmetic.
    let (target, tensor) = if cfg.resize_to_max_canvas {
        (canvas, (true, true))
    } else {
        let th = height.max(cfg.tile);
        let tw = width.max(cfg.tile);
        ((th.min(canvas.0), tw.min(canvas.1)), (th > canvas.0, tw > canvas.1))
    };
    Fit { canvas, resized: max_res_without_distortion((height, width), target, tensor) }
}

fn max_res_without_distortion(image: (usize, usize), target: (usize, usize), tensor: (bool, bool)) -> (usize, usize) {
    let ((h, w), (th, tw)) = (image, target);
    let (sw32, sh32) = (tw as f32 / w as f32, th as f32 / h as f32);
    let (sw64, sh64) = (tw as f64 / w as f64, th as f64 / h as f64);
    let width_limits = if tensor.0 || tensor.1 {
        let a = if tensor.1 { sw32 } else { sw64 as f32 };
        let b = if tensor.0 { sh32 } else { sh64 as f32 };
        a < b
    } else {
        sw64 < sh64
    };
    let (nh, nw) = if width_limits {
        let scaled = if tensor.1 { (h as f32 * sw32).floor() as usize } else { (h as f64 * sw64).floor() as usize };
        (scaled.min(th), tw)
    } else {
        let scaled = if tensor.0 { (w as f32 * sh32).floor() as usize } else { (w as f64 * sh64).floor() as usize };
        (th, scaled.min(tw))
    };
    (nh.max(1), nw.max(1))
}

/// The processor's output for one image: `tiles` tiles of `[3, tile, tile]`, values exactly the
/// bfloat16 transformers produces (held as f32).
#[derive(Clone, Debug)]
pub struct PixelValues {
    pub tile: usize,
    pub fit: Fit,
    /// `[tiles, 3, tile, tile]`.
    pub data: Vec<f32>,
}

impl PixelValues {
    pub fn tiles(&self) -> usize {
        self.data.len() / (3 * self.tile * self.tile)
    }
    /// `aspect_ratios`: tile rows and columns.
    pub fn grid(&self) -> (usize, usize) {
        self.fit.grid(self.tile)
    }
}

/// A lookup from 8-bit level to normalised bf16 value for one channel:
/// `bf16(bf16(bf16(x * rescale) - mean) / std)`, each op rounded as torch does on bf16 tensors.
fn levels(cfg: &ProcessorConfig, c: usize) -> [f32; 256] {
    let r = |x: f32| bf16::from_f32(x).to_f32();
    let (mean, std) = (r(cfg.mean[c]), r(cfg.std[c]));
    std::array::from_fn(|x| r(r(r(x as f32 * cfg.rescale_factor) - mean) / std))
}

/// Runs the processor on one image.
pub fn preprocess(img: &Rgb8, cfg: &ProcessorConfig) -> PixelValues {
    let t = cfg.tile;
    let fit = plan(img.height, img.width, cfg);
    let (ch, cw) = fit.canvas;
    let (nh, nw) = fit.resized;
    let (rows, cols) = fit.grid(t);
    let tiles = fit.tiles(t);
    let mut data = vec![0f32; tiles * 3 * t * t];
    for c in 0..3 {
        let lut = levels(cfg, c);
        let resized = resize_plane(img.plane(c), img.height, img.width, nh, nw);
        for y in 0..ch {
            for x in 0..cw {
                let level = if y < nh && x < nw { resized[y * nw + x] } else { 0 };
                let tile = (y / t) * cols + x / t;
                data[((tile * 3 + c) * t + y % t) * t + x % t] = lut[level as usize];
            }
        }
        if rows * cols > 1 {
            let global = resize_plane(img.plane(c), img.height, img.width, t, t);
            let base = ((tiles - 1) * 3 + c) * t * t;
            for (dst, &v) in data[base..base + t * t].iter_mut().zip(&global) {
                *dst = lut[v as usize];
            }
        }
    }
    PixelValues { tile: t, fit, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canvases_follow_transformers_order() {
        // find_supported_resolutions(5, 224) in transformers 5.23.
        let c = canvases(5, 224);
        assert_eq!(
            c,
            vec![
                (224, 1120),
                (1120, 224),
                (224, 896),
                (448, 448),
                (224, 224),
                (896, 224),
                (224, 672),
                (672, 224),
                (224, 448),
                (448, 224)
            ]
        );
    }

    #[test]
    fn docstring_fits() {
        // get_max_res_without_distortion's docstring examples, as transformers 5.23 computes them
        // (its docstring says (134, 200) and (450, 338): it floors, the docstring rounded).
        assert_eq!(max_res_without_distortion((200, 300), (450, 200), (false, false)), (133, 200));
        assert_eq!(max_res_without_distortion((800, 600), (450, 1300), (false, false)), (450, 337));
        let cfg = ProcessorConfig { tile: 224, max_patches: 3, ..Default::default() };
        // get_best_fit's docstring: a 200x300 image picks the 224x448 canvas.
        assert_eq!(plan(200, 300, &cfg).canvas, (224, 448));
    }

    #[test]
    fn normalisation_is_bf16_of_x_over_127_5_minus_1() {
        let lut = levels(&ProcessorConfig::default(), 0);
        assert_eq!((lut[0], lut[255]), (-1.0, 1.0));
        for (x, v) in lut.iter().enumerate() {
            assert!((v - (x as f32 / 127.5 - 1.0)).abs() <= 0.008, "{x}: {v}");
        }
    }
}
