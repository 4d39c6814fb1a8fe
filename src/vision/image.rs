//! Image files -> 8-bit RGB planes, as transformers receives them from PIL: EXIF orientation
//! applied, grayscale replicated, and any transparency composited onto white with Pillow's
//! integer `alpha_composite` rounding. The pixel count is checked from the header, before any
//! pixel is decoded, so a decompression bomb costs nothing.

use crate::error::{Error, Result};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};
use std::io::Cursor;
use std::path::Path;

/// The most pixels an image may have: Pillow's `Image.MAX_IMAGE_PIXELS` (about 89 megapixels,
/// 358 MB as RGBA), past which Pillow warns of a decompression bomb.
pub const MAX_PIXELS: u64 = 89_478_485;

/// An 8-bit RGB image, channel-planar: `planes[c * height * width + y * width + x]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rgb8 {
    pub width: usize,
    pub height: usize,
    pub planes: Vec<u8>,
}

impl Rgb8 {
    /// From interleaved RGB bytes (`[y][x][c]`).
    pub fn from_interleaved(width: usize, height: usize, rgb: &[u8]) -> Result<Self> {
        if width == 0 || height == 0 || rgb.len() != width * height * 3 {
            return Err(Error::Shape(format!(
                "{width}x{height} RGB image needs {} bytes, got {}",
                width * height * 3,
                rgb.len()
            )));
        }
        let n = width * height;
        let mut planes = vec![0u8; 3 * n];
        for (i, px) in rgb.chunks_exact(3).enumerate() {
            for c in 0..3 {
                planes[c * n + i] = px[c];
            }
        }
        Ok(Rgb8 { width, height, planes })
    }

    pub fn plane(&self, c: usize) -> &[u8] {
        let n = self.width * self.height;
        &self.planes[c * n..(c + 1) * n]
    }
}

/// Reads and decodes an image file.
pub fn load(path: &Path) -> Result<Rgb8> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode(&bytes, path)
}

/// Decodes PNG, JPEG, WebP or GIF (first frame) bytes; `path` names them in errors.
pub fn decode(bytes: &[u8], path: &Path) -> Result<Rgb8> {
    let bad = |reason: String| Error::Image { path: path.to_path_buf(), reason };
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| bad(e.to_string()))?;
    let Some(format) = reader.format() else {
        return Err(bad("not a PNG, JPEG, WebP or GIF image (unrecognised signature)".into()));
    };
    let mut decoder = reader.into_decoder().map_err(|e| bad(e.to_string()))?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(bad(format!("the image is {w}x{h} pixels: it has no pixels")));
    }
    let pixels = u64::from(w) * u64::from(h);
    if pixels > MAX_PIXELS {
        return Err(bad(format!(
            "the image is {w}x{h} = {pixels} pixels, over the limit of {MAX_PIXELS} (refused before decoding: \
             a decompression bomb or an image far larger than any tile canvas needs)"
        )));
    }
    let orientation = decoder.orientation().map_err(|e| bad(e.to_string()))?;
    // Baseline JPEGs decode as libjpeg-turbo (Pillow) decodes them; others through `image`.
    let exact = (format == ImageFormat::Jpeg).then(|| super::jpeg::decode(bytes)).flatten();
    let mut img = match exact.and_then(|d| RgbImage::from_raw(d.width as u32, d.height as u32, d.rgb)) {
        Some(rgb) if rgb.dimensions() == (w, h) => DynamicImage::ImageRgb8(rgb),
        _ => DynamicImage::from_decoder(decoder).map_err(|e| bad(e.to_string()))?,
    };
    img.apply_orientation(orientation);
    to_rgb(img)
}

/// Pillow's `alpha_composite` of a pixel over opaque white (7 fractional bits, /255 by shifts).
pub fn over_white(value: u8, alpha: u8) -> u8 {
    let (v, a) = (u32::from(value), u32::from(alpha));
    let tmp = v * a * 128 + 255 * (255 - a) * 128 + (0x80 << 7);
    ((((tmp >> 8) + tmp) >> 8) >> 7) as u8
}

fn to_rgb(img: DynamicImage) -> Result<Rgb8> {
    let (width, height) = (img.width() as usize, img.height() as usize);
    let rgb: Vec<u8> = if img.color().has_alpha() {
        img.to_rgba8().pixels().flat_map(|px| [0, 1, 2].map(|c| over_white(px[c], px[3]))).collect()
    } else {
        img.to_rgb8().into_raw()
    };
    Rgb8::from_interleaved(width, height, &rgb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_compositing_keeps_opaque_and_whitens_transparent() {
        for v in [0u8, 1, 127, 200, 255] {
            assert_eq!(over_white(v, 255), v);
            assert_eq!(over_white(v, 0), 255);
        }
        // Black at alpha 128 over white: Pillow gives 127 (255 * 127/255, its rounding).
        assert_eq!(over_white(0, 128), 127);
    }
}
