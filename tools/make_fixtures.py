#!/usr/bin/env python3
"""Has Hugging Face transformers save tiny random Llama 4 checkpoints and their reference outputs.

Usage: python tools/make_fixtures.py [OUT_DIR]   (default: tests/fixtures)
Needs: torch, transformers==5.23.0, tokenizers, numpy. CI never runs this: its outputs are committed.

Each fixture directory holds what `llama4-wgpu run --model DIR` reads (config.json, safetensors,
tokenizer.json) plus `reference.json` and `.npy` files written by transformers:
  prompt_ids          the prompt
  prompt_logits.npy   float32 [T, vocab]: logits at every prompt position (one uncached forward)
  greedy_tokens       greedy continuation through transformers' KV cache (generate, do_sample=False)
  decode_logits.npy   float32 [N, vocab]: the logits that chose each greedy token
"""
import json, os, shutil, sys
import numpy as np
import torch
import transformers
from transformers import Llama4ForCausalLM, Llama4ForConditionalGeneration, Llama4TextConfig, Llama4Config

assert transformers.__version__ == "5.23.0", transformers.__version__
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
VOCAB = 512

SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|header_start|>", "<|header_end|>", "<|eom|>", "<|eot|>",
            "<|image|>", "<|patch|>", "<|image_start|>", "<|image_end|>", "<|python_start|>", "<|python_end|>",
            "<|finetune_right_pad|>"]
CHAT_TEMPLATE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set system_message = messages[0]['content']|trim %}"
    "{% set messages = messages[1:] %}{{ '<|header_start|>system<|header_end|>\\n\\n' + system_message + '<|eot|>' }}{% endif %}"
    "{% for message in messages %}{{ '<|header_start|>' + message['role'] + '<|header_end|>\\n\\n' + message['content'] + '<|eot|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|header_start|>assistant<|header_end|>\\n\\n' }}{% endif %}"
)


def make_tokenizer(path, extra_specials=()):
    """A tiny byte-level BPE (vocab < VOCAB) with Llama 4's special tokens, so fixtures run on text."""
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["The quick brown fox jumps over the lazy dog. " * 3, "Hello, world! How are you today?",
              "Llama 4 runs on wgpu through WGSL compute shaders.", "Once upon a time there was a tiny model."]
    specials = SPECIALS + list(extra_specials)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - 64, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    tok.save(path)
    ids = {s: tok.token_to_id(s) for s in specials}
    assert max(ids.values()) < VOCAB and tok.get_vocab_size() <= VOCAB
    return ids


def text_config(**kw):
    base = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=48, intermediate_size_mlp=96,
                num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                max_position_embeddings=4096, rms_norm_eps=1e-5, attention_chunk_size=8192,
                rope_parameters={"rope_type": "default", "rope_theta": 500000.0}, attn_implementation="eager")
    base.update(kw)
    return base


def randomize(model, seed):
    """transformers initialises some tensors to exact constants (norm weights = 1, expert weights may be
    zero); give every parameter real random values so a wrong index or missing op shows in the logits."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or "layernorm" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p.shape[-1] if p.dim() > 1 else 1
                if "experts.gate_up_proj" in name or "experts.down_proj" in name:
                    fan_in = p.shape[-2]
                scale = 1.0 / (fan_in ** 0.5)
                if "embed_tokens" in name:
                    scale = 1.0
                if "router" in name:
                    scale = 2.0 / (fan_in ** 0.5)
                p.copy_(scale * torch.randn(p.shape, generator=g))


def write_fixture(name, cfg_kw, *, seed, prompt_len, new_tokens, dtype=torch.float32, vlm=False,
                  shard=None, hub_layout=False):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    torch.manual_seed(seed)
    tcfg = Llama4TextConfig(**cfg_kw)
    if vlm:
        vcfg = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=128,
                    image_size=28, patch_size=14, projector_input_dim=64, projector_output_dim=64,
                    vision_output_dim=64, pixel_shuffle_ratio=0.5)
        cfg = Llama4Config(text_config=tcfg.to_dict(), vision_config=vcfg,
                           tie_word_embeddings=cfg_kw.get("tie_word_embeddings", False))
        model = Llama4ForConditionalGeneration(cfg)
    else:
        model = Llama4ForCausalLM(tcfg)
    randomize(model, seed)
    model = model.to(dtype).eval()
    kw = {"max_shard_size": shard} if shard else {}
    model.save_pretrained(d, safe_serialization=True, **kw)

    if hub_layout:
        # Rewrite config.json the way the hub ships Llama 4 (transformers 4.x layout, spec §1.1).
        p = os.path.join(d, "config.json")
        c = json.load(open(p))
        t = c["text_config"] if vlm else c
        rp = t.pop("rope_parameters")
        t["rope_theta"] = rp.pop("rope_theta")
        t["rope_scaling"] = None if rp.get("rope_type") == "default" else {**rp, "rope_type": "llama3"}
        t["no_rope_layers"] = []
        t["attn_temperature_tuning"] = 4
        for k in ("moe_layers", "layer_types"):
            t.pop(k, None)
        json.dump(c, open(p, "w"), indent=2)

    # Reference: float32 compute on exactly the saved (possibly f16/bf16-rounded) weights.
    cls = Llama4ForConditionalGeneration if vlm else Llama4ForCausalLM
    ref = cls.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval() if not hub_layout else None
    if ref is None:
        # transformers 5 rejects an int attn_temperature_tuning (spec §10.6): load with the original config.
        ref = model.to(torch.float32)
    g = torch.Generator().manual_seed(seed + 1)
    ids = torch.randint(0, VOCAB, (1, prompt_len), generator=g)
    with torch.no_grad():
        logits = ref(input_ids=ids).logits[0].float().numpy()
        out = ref.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                           do_sample=False, output_logits=True, return_dict_in_generate=True,
                           eos_token_id=None, pad_token_id=0, min_new_tokens=new_tokens)
    greedy = out.sequences[0, prompt_len:].tolist()
    dec = torch.stack([l[0] for l in out.logits]).float().numpy()
    np.save(os.path.join(d, "prompt_logits.npy"), logits.astype(np.float32))
    np.save(os.path.join(d, "decode_logits.npy"), dec.astype(np.float32))
    json.dump({"prompt_ids": ids[0].tolist(), "greedy_tokens": greedy, "dtype": str(dtype).split(".")[-1],
               "transformers": transformers.__version__, "torch": torch.__version__.split("+")[0]},
              open(os.path.join(d, "reference.json"), "w"), indent=1)
    make_tokenizer(os.path.join(d, "tokenizer.json"))
    json.dump({"bos_token": "<|begin_of_text|>", "eos_token": "<|eot|>", "chat_template": CHAT_TEMPLATE},
              open(os.path.join(d, "tokenizer_config.json"), "w"), indent=1)
    for f in os.listdir(d):  # transformers writes these; the runtime does not need them
        if f == "generation_config.json":
            os.remove(os.path.join(d, f))
    print(f"{name}: {sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)) / 1e6:.2f} MB, greedy {greedy}")


def main():
    os.makedirs(OUT, exist_ok=True)
    # Dense only: no MoE layer at all (NoPE layer 3, default chunking).
    write_fixture("dense", text_config(moe_layers=[], use_qk_norm=True), seed=1, prompt_len=12, new_tokens=6)
    # Scout-like: 16 experts top-1 on every layer + shared expert; NoPE every 4th layer; chunk 8 so a 37-token
    # prompt spans 5 chunks and decode crosses position 40; temperature tuning with floor_scale 4; QK norm;
    # llama3 scaling with Scout's empty smoothing band (low = high = 1).
    write_fixture("scout", text_config(
        num_hidden_layers=5, num_local_experts=16, num_experts_per_tok=1, interleave_moe_layer_step=1,
        use_qk_norm=True, attention_chunk_size=8, attn_temperature_tuning=True, floor_scale=4, attn_scale=0.5,
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 16.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 1.0, "original_max_position_embeddings": 16}),
        seed=2, prompt_len=37, new_tokens=8)
    # Maverick-like: 128 experts, MoE on every other layer, dense width != expert width, no QK norm.
    write_fixture("maverick", text_config(
        hidden_size=32, intermediate_size=16, intermediate_size_mlp=80, num_local_experts=128,
        interleave_moe_layer_step=2, use_qk_norm=False, attention_chunk_size=16, floor_scale=8, attn_scale=0.3,
        num_attention_heads=4, num_key_value_heads=1, head_dim=8), seed=3, prompt_len=20, new_tokens=6)
    # Top-2 routing, GQA ratio 3 (9 heads / 3 kv heads), head_dim 12 != 36/9, tied embeddings, f16 weights,
    # llama3 scaling with a real smoothing band.
    write_fixture("top2_gqa_tied_f16", text_config(
        hidden_size=36, num_attention_heads=9, num_key_value_heads=3, head_dim=12, intermediate_size=20,
        intermediate_size_mlp=44, num_local_experts=8, num_experts_per_tok=2, tie_word_embeddings=True,
        attention_chunk_size=6, floor_scale=3, attn_scale=0.25,
        rope_parameters={"rope_type": "llama3", "rope_theta": 10000.0, "factor": 4.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 32}),
        seed=4, prompt_len=15, new_tokens=6, dtype=torch.float16)
    # bf16, sharded with model.safetensors.index.json, config in the hub's layout.
    write_fixture("hub_bf16_sharded", text_config(
        num_local_experts=4, attention_chunk_size=8, floor_scale=4, attn_scale=0.5,
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 16.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 1.0, "original_max_position_embeddings": 16}),
        seed=5, prompt_len=18, new_tokens=6, dtype=torch.bfloat16, shard="200KB", hub_layout=True)
    # Llama4ForConditionalGeneration (text part under language_model.), used for text.
    write_fixture("vlm_text", text_config(num_local_experts=4, attention_chunk_size=8, floor_scale=4),
                  seed=6, prompt_len=14, new_tokens=6, vlm=True)


if __name__ == "__main__":
    main()
