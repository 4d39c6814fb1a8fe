//! Where image features go in the prompt (spec §5): each `<|image|>` marker becomes
//! `<|image_start|>`, rows of tiles of `<|patch|>` with `<|tile_x_separator|>` between columns
//! and `<|tile_y_separator|>` after each row, then `<|image|>` and the global (or only) tile's
//! patches, then `<|image_end|>`, as `Llama4Processor` and Meta's chat format lay it out.

use crate::error::{Error, Result};
use crate::runtime::Tokenizer;

/// The special tokens of the image layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageTokens {
    pub start: u32,
    pub end: u32,
    /// `<|image|>`: the marker in the text, kept before the global tile.
    pub image: u32,
    /// `<|patch|>`: the rows that receive image features.
    pub patch: u32,
    pub tile_x: u32,
    pub tile_y: u32,
}

impl ImageTokens {
    /// The layout's special tokens by name, in the order of the struct's fields.
    pub const NAMES: [&'static str; 6] =
        ["<|image_start|>", "<|image_end|>", "<|image|>", "<|patch|>", "<|tile_x_separator|>", "<|tile_y_separator|>"];

    /// Looks the tokens up in a tokenizer; `patch` is the config's `image_token_index`.
    pub fn from_tokenizer(tok: &Tokenizer, patch: u32) -> Result<Self> {
        let id = |t: &str| {
            tok.token_id(t).ok_or_else(|| {
                Error::Tokenizer(format!("the tokenizer has no `{t}` token, needed to lay out an image"))
            })
        };
        let [start, end, image, patch_id, tile_x, tile_y] = Self::NAMES;
        let tokens = ImageTokens {
            start: id(start)?,
            end: id(end)?,
            image: id(image)?,
            patch: id(patch_id)?,
            tile_x: id(tile_x)?,
            tile_y: id(tile_y)?,
        };
        if tokens.patch != patch {
            return Err(Error::Tokenizer(format!(
                "the tokenizer's `<|patch|>` is id {} but the config's image_token_index is {patch}",
                tokens.patch
            )));
        }
        Ok(tokens)
    }

    /// The ids one image of `grid` tiles (rows, columns) takes, `per_tile` patches per tile.
    pub fn layout(&self, grid: (usize, usize), per_tile: usize) -> Vec<u32> {
        let mut ids = vec![self.start];
        let (rows, cols) = grid;
        if rows * cols > 1 {
            for _ in 0..rows {
                for x in 0..cols {
                    ids.extend(std::iter::repeat_n(self.patch, per_tile));
                    if x + 1 < cols {
                        ids.push(self.tile_x);
                    }
                }
                ids.push(self.tile_y);
            }
        }
        ids.push(self.image);
        ids.extend(std::iter::repeat_n(self.patch, per_tile));
        ids.push(self.end);
        ids
    }

    /// Replaces the `n`-th `<|image|>` marker of a tokenised prompt by image `n`'s layout.
    pub fn expand(&self, ids: &[u32], grids: &[(usize, usize)], per_tile: usize) -> Result<Vec<u32>> {
        let markers = ids.iter().filter(|&&i| i == self.image).count();
        if markers != grids.len() {
            return Err(Error::Input(format!(
                "the prompt has {markers} <|image|> marker(s) for {} image(s); each image needs exactly one",
                grids.len()
            )));
        }
        if ids.contains(&self.patch) {
            return Err(Error::Input(
                "the prompt text already holds <|patch|> tokens: give either <|image|> markers to expand or fully expanded ids (--prompt-ids)".into(),
            ));
        }
        let mut out = Vec::with_capacity(ids.len());
        let mut next = grids.iter();
        for &i in ids {
            match (i == self.image).then(|| next.next()).flatten() {
                Some(&grid) => out.extend(self.layout(grid, per_tile)),
                None => out.push(i),
            }
        }
        Ok(out)
    }
}

/// Checks that a prompt's `<|patch|>` rows are exactly the images' feature rows; `images` counts
/// the images where the caller knows them (`None`: features handed over as rows).
pub fn check_patch_count(ids: &[u32], patch: u32, feature_rows: usize, images: Option<usize>) -> Result<()> {
    let n = ids.iter().filter(|&&i| i == patch).count();
    if n == feature_rows {
        return Ok(());
    }
    let holds = format!("the prompt holds {n} <|patch|> token(s) (id {patch})");
    Err(Error::Input(match images {
        Some(0) => format!("{holds} but no image was given: pass --image, or remove them"),
        Some(k) => format!("{holds} but the {k} image(s) give {feature_rows} feature rows; the counts must match"),
        None => format!("{holds} but the image features hold {feature_rows} rows; the counts must match"),
    }))
}
