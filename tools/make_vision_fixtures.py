#!/usr/bin/env python3
"""Has transformers save a tiny multimodal Llama 4 (Llama4ForConditionalGeneration with a vision tower)
and its reference outputs on images of several aspect ratios and formats.

Usage: python tools/make_vision_fixtures.py [OUT_DIR]   (default: tests/fixtures/vision)
Needs: torch, torchvision, transformers==5.23.0, tokenizers, numpy, pillow. CI never runs this.

OUT_DIR holds what `llama4-wgpu run --model DIR --image IMG` reads (config.json, safetensors,
tokenizer.json, preprocessor_config.json), the images under images/, and reference.json:
  images[name]    file, the processor's aspect_ratios and tiles; NAME_pixel_values.npy (bf16 values as f32)
  cases[name]     images, prompt_ids (expanded by Llama4Processor), greedy_tokens, and per case
                  NAME_{pre,post,adapter,projected}.npy (vision stages) and NAME_prompt_logits.npy
"""
import json, os, shutil, sys
import numpy as np
import torch
import transformers
from PIL import Image, ImageOps
from transformers import Llama4Config, Llama4ForConditionalGeneration, Llama4ImageProcessor, Llama4Processor
from transformers import PreTrainedTokenizerFast

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import make_tokenizer, randomize, text_config, CHAT_TEMPLATE  # noqa: E402

assert transformers.__version__ == "5.23.0", transformers.__version__
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "vision")
TILE, PATCH, MAX_PATCHES = 28, 7, 6


def scene(h, w, seed, mode="RGB"):
    """A smooth picture with edges (gradients, a disc, stripes): resizing it is not trivial."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 127 + 120 * np.sin(x / max(w, 1) * 6.0 + seed)
    g = 255 * y / max(h - 1, 1)
    b = np.where((x - w * 0.4) ** 2 + (y - h * 0.6) ** 2 < (min(h, w) * 0.3) ** 2, 230, 30) + 20 * ((x // 3) % 2)
    img = np.stack([r, g, b], -1) + rng.normal(0, 6, (h, w, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    if mode == "RGBA":
        a = np.clip(255 * (x / max(w - 1, 1)) * 1.2 - 20 + 0 * y, 0, 255).astype(np.uint8)
        return Image.fromarray(np.dstack([img, a]), "RGBA")
    return Image.fromarray(img, "RGB")


def save_images(d):
    """name -> (file, PIL image as the reference sees it)."""
    os.makedirs(os.path.join(d, "images"))
    out = {}

    def put(name, file, img, **kw):
        path = os.path.join(d, "images", file)
        img.save(path, **kw)
        out[name] = file

    put("one_tile", "one_tile.png", scene(20, 24, 1))             # smaller than a tile: 1x1, upscaled
    put("wide_1x2", "wide_1x2.png", scene(26, 50, 2))             # grids are rows x columns of tiles
    put("tall_2x1", "tall_2x1.png", scene(50, 26, 14))
    put("tall_3x1", "tall_3x1.png", scene(80, 25, 3))
    put("wide_1x3", "wide_1x3.png", scene(25, 80, 4))
    put("thin", "thin.png", scene(200, 9, 5))                    # tall and thin: downscaled
    put("big_2x3", "big_2x3.png", scene(61, 83, 6))
    put("alpha", "alpha.png", scene(40, 33, 7, "RGBA"))          # transparency composited on white
    put("gray", "gray.png", scene(35, 29, 8).convert("L"))
    put("gray_alpha", "gray_alpha.png", scene(33, 41, 64, "RGBA").convert("LA"))
    pal = scene(26, 31, 9).convert("P", palette=Image.ADAPTIVE, colors=16)
    put("palette_trns", "palette_trns.png", pal, transparency=3)
    put("gif", "first_frame.gif", scene(33, 45, 10).convert("P", palette=Image.ADAPTIVE, colors=64))
    put("webp", "lossless.webp", scene(38, 52, 11), lossless=True)
    frames = [scene(36, 30, 60 + i).convert("P", palette=Image.ADAPTIVE, colors=32) for i in range(3)]
    put("gif_animated", "animated.gif", frames[0], save_all=True, append_images=frames[1:], duration=100, loop=0)
    put("gif_transparent", "transparent.gif", scene(27, 35, 63).convert("P", palette=Image.ADAPTIVE, colors=16),
        transparency=5)
    put("jpeg", "photo.jpg", scene(44, 60, 12), quality=90)
    rot = scene(30, 50, 13)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW on display
    put("exif_rotated", "exif_rotated.jpg", rot, quality=95, exif=exif.tobytes())
    put("gray_jpeg", "gray.jpg", scene(31, 37, 15).convert("L"), quality=92)
    put("cmyk_jpeg", "cmyk.jpg", scene(29, 41, 16).convert("CMYK"), quality=92)
    y, x = np.mgrid[0:24, 0:30]
    put("gray16", "gray16.png", Image.fromarray((x * 2000 + y * 150).astype(np.uint16)))
    return out


def jpeg_cases(d):
    """JPEGs across libjpeg's decode paths, each with Pillow's (libjpeg-turbo's) RGB pixels as raw
    `.rgb` bytes: the decoder must give them exactly."""
    out = os.path.join(d, "images", "jpeg")
    os.makedirs(out)
    cases = {
        "444_q95_5x7": (scene(5, 7, 51), dict(quality=95, subsampling=0)),
        "422_q75_17x33": (scene(17, 33, 52), dict(quality=75, subsampling=1)),
        "420_q30_31x45": (scene(31, 45, 53), dict(quality=30, subsampling=2)),
        "420_q100_2x3": (scene(2, 3, 54), dict(quality=100, subsampling=2)),
        "420_restarts_64x80": (scene(64, 80, 55), dict(quality=85, subsampling=2, restart_marker_blocks=3)),
        "420_optimized_13x200": (scene(13, 200, 56), dict(quality=90, optimize=True)),
        "noise_420_40x52": (Image.fromarray(np.random.default_rng(57).integers(0, 256, (40, 52, 3), dtype=np.uint8)), dict(quality=80)),
        "gray_9x17": (scene(9, 17, 58).convert("L"), dict(quality=85)),
        "progressive_420_33x47": (scene(33, 47, 59), dict(quality=85, progressive=True)),
    }
    for name, (img, kw) in cases.items():
        path = os.path.join(out, name + ".jpg")
        img.save(path, **kw)
        np.array(Image.open(path).convert("RGB")).tofile(os.path.join(out, name + ".rgb"))


def bad_images(d):
    """Files that must be refused with a clear error (no reference: transformers cannot read them)."""
    import struct, zlib

    def png(w, h, idat=b""):
        chunk = lambda t, data: struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data))
        ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(idat)) + chunk(b"IEND", b"")

    bad = os.path.join(d, "images", "bad")
    os.makedirs(bad)
    open(os.path.join(bad, "bomb_50000x50000.png"), "wb").write(png(50000, 50000, b"\0" * 64))
    open(os.path.join(bad, "zero_width.png"), "wb").write(png(0, 10))
    whole = open(os.path.join(d, "images", "big_2x3.png"), "rb").read()
    open(os.path.join(bad, "truncated.png"), "wb").write(whole[: len(whole) // 2])
    open(os.path.join(bad, "not_an_image.png"), "wb").write(b"this is a text file, not a picture\n")
    jpg = open(os.path.join(d, "images", "photo.jpg"), "rb").read()
    open(os.path.join(bad, "truncated.jpg"), "wb").write(jpg[: len(jpg) // 3])


def main():
    d = OUT
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    seed = 21
    torch.manual_seed(seed)
    tok_path = os.path.join(d, "tokenizer.json")
    ids = make_tokenizer(tok_path, extra_specials=["<|tile_x_separator|>", "<|tile_y_separator|>"])
    patch_id = ids["<|patch|>"]
    # Scout's attention constants, which llama.cpp's llama4 GGUF metadata does not carry and assumes:
    # tools/make_vision_gguf_fixture.py converts this checkpoint and the GGUF pair must match it.
    tcfg = text_config(num_local_experts=4, attention_chunk_size=8192, floor_scale=8192, attn_scale=0.1,
                       max_position_embeddings=16384)
    # 3 layers: llama.cpp's converter maps the adapter's fc1/fc2 through block ids, so --mmproj needs >= 3.
    vcfg = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=128,
                image_size=TILE, patch_size=PATCH, projector_input_dim=48, projector_output_dim=48,
                vision_output_dim=48, pixel_shuffle_ratio=0.5, rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    cfg = Llama4Config(text_config=tcfg, vision_config=vcfg, image_token_index=patch_id,
                       boi_token_index=ids["<|image_start|>"], eoi_token_index=ids["<|image_end|>"])
    model = Llama4ForConditionalGeneration(cfg)
    randomize(model, seed)
    model = model.float().eval()
    model.save_pretrained(d, safe_serialization=True)
    os.remove(os.path.join(d, "generation_config.json"))
    json.dump({"bos_token": "<|begin_of_text|>", "eos_token": "<|eot|>", "chat_template": CHAT_TEMPLATE},
              open(os.path.join(d, "tokenizer_config.json"), "w"), indent=1)
    improc = Llama4ImageProcessor(size={"height": TILE, "width": TILE}, max_patches=MAX_PATCHES)
    improc.save_pretrained(d)
    ref = Llama4ForConditionalGeneration.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
    tok = PreTrainedTokenizerFast(tokenizer_file=tok_path, bos_token="<|begin_of_text|>", eos_token="<|eot|>")
    proc = Llama4Processor(image_processor=improc, tokenizer=tok, patch_size=PATCH, pixel_shuffle_ratio=0.5)

    files = save_images(d)
    jpeg_cases(d)
    bad_images(d)
    reference = {"transformers": transformers.__version__, "torch": torch.__version__.split("+")[0],
                 "patch_id": patch_id, "tokens_per_tile": (TILE // PATCH) ** 2 // 4, "images": {}, "cases": {}}
    pil = {}
    for name, file in files.items():
        # As transformers' load_image, but keeping the mode: the processor composites alpha on white.
        img = ImageOps.exif_transpose(Image.open(os.path.join(d, "images", file)))
        pil[name] = img
        out = improc(img, return_tensors="pt")
        pv = out["pixel_values"].float().numpy()
        np.save(os.path.join(d, f"{name}_pixel_values.npy"), pv)
        reference["images"][name] = {"file": file, "aspect_ratio": out["aspect_ratios"][0].tolist(),
                                     "tiles": int(pv.shape[0]), "size_hw": [img.height, img.width]}

    stages = {}
    hooks = [
        ref.vision_model.layernorm_pre.register_forward_hook(lambda m, i, o: stages.__setitem__("pre", o)),
        ref.vision_model.layernorm_post.register_forward_hook(lambda m, i, o: stages.__setitem__("post", o[:, :-1])),
        ref.vision_model.vision_adapter.register_forward_hook(lambda m, i, o: stages.__setitem__("adapter", o)),
        ref.multi_modal_projector.register_forward_hook(lambda m, i, o: stages.__setitem__("projected", o)),
    ]
    cases = {
        "one_tile": (["one_tile"], "Describe <|image|> briefly."),
        "wide_1x2": (["wide_1x2"], "<|image|>What is it?"),
        "big_2x3": (["big_2x3"], "Look: <|image|>"),
        "alpha": (["alpha"], "<|image|> and then"),
        "two_images": (["tall_3x1", "one_tile"], "First <|image|> then <|image|> compare."),
    }
    g = torch.Generator().manual_seed(seed + 1)
    for case, (names, text) in cases.items():
        inputs = proc(text=text, images=[pil[n] for n in names], return_tensors="pt")
        input_ids = inputs["input_ids"]
        with torch.no_grad():
            logits = ref(input_ids=input_ids, pixel_values=inputs["pixel_values"].float()).logits[0].numpy()
            gen = ref.generate(input_ids=input_ids, pixel_values=inputs["pixel_values"].float(),
                               attention_mask=torch.ones_like(input_ids), max_new_tokens=6, do_sample=False,
                               eos_token_id=None, pad_token_id=0, min_new_tokens=6)
        for k, v in stages.items():
            np.save(os.path.join(d, f"{case}_{k}.npy"), v.float().numpy().reshape(-1, v.shape[-1]))
        np.save(os.path.join(d, f"{case}_prompt_logits.npy"), logits.astype(np.float32))
        reference["cases"][case] = {"images": names, "text": text, "prompt_ids": input_ids[0].tolist(),
                                    "greedy_tokens": gen[0, input_ids.shape[1]:].tolist()}
    for h in hooks:
        h.remove()
    json.dump(reference, open(os.path.join(d, "reference.json"), "w"), indent=1)
    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)
    print(f"vision: {size / 1e6:.2f} MB; " + ", ".join(f"{n} {v['aspect_ratio']}" for n, v in reference["images"].items()))


if __name__ == "__main__":
    main()
