#!/usr/bin/env python3
"""Writes tests/fixtures/llama4_tokenizer_vectors.json: texts in several languages and scripts
with the ids Meta's own Llama 4 tokenizer (tiktoken over `tokenizer.model`, llama-models 0.3.0)
gives them. tests/tokenizer_llama4.rs checks that our loader reproduces them exactly.

Needs: pip install tiktoken llama-models==0.3.0 (no torch).
"""
import json, os
from llama_models.llama4.tokenizer import Tokenizer

TEXTS = [
    "Hello, world! How are you today?",
    "The quick brown fox jumps over the lazy dog. It's 3:45pm; we'll see... I've 12345678 apples.",
    "Grüße aus München: Äpfel, Öl und Übermut — straße.",
    "Le cœur a ses raisons que la raison ne connaît point.",
    "Привет, мир! Как дела? Съешь же ещё этих мягких французских булок.",
    "你好，世界！今天天气很好，我们去公园散步吧。",
    "日本語のテキスト：東京は晴れです。カタカナとひらがな。",
    "안녕하세요, 세계! 한국어 문장입니다.",
    "مرحبا بالعالم! هذه جملة باللغة العربية.",
    "नमस्ते दुनिया! यह हिंदी में एक वाक्य है।",
    "שלום עולם! זה משפט בעברית.",
    "Γειά σου Κόσμε! Αυτή είναι μια ελληνική πρόταση.",
    "สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่างระหว่างคำ",
    "Emoji: 👋🌍🚀 👨‍👩‍👧‍👦 🇩🇪 ✨",
    "def f(x):\n    return x ** 2  # square\n\n\tif x != None:\n\t\tpass\r\n",
    "   leading spaces, trailing spaces   \n\n\n multiple\n\nnewlines  ",
    "Numbers 0 1 12 123 1234 12345 3.14159 1e-5 -42 ١٢٣",
    "MiXeD CaSe WORDS and CamelCaseIdentifiers HTTPServer don't WON'T",
    "<|begin_of_text|><|header_start|>user<|header_end|>\n\nHi!<|eot|><|header_start|>assistant<|header_end|>\n\n",
    "Tool call: <|python_start|>print(1)<|python_end|> <|image|><|patch|><|reasoning_thinking_start|>",
]


def main():
    import llama_models.llama4.tokenizer as m
    from pathlib import Path
    tok = Tokenizer(Path(m.__file__).parent / "tokenizer.model")
    out = [{"text": t, "ids": tok.encode(t, bos=False, eos=False, allowed_special="all")} for t in TEXTS]
    for o in out:
        assert tok.decode(o["ids"]) == o["text"]
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "llama4_tokenizer_vectors.json")
    json.dump({"source": "llama-models 0.3.0 llama4 Tokenizer (tiktoken)", "n_words": tok.n_words, "cases": out},
              open(path, "w"), ensure_ascii=False, indent=0)
    print(f"wrote {len(out)} cases, {sum(len(o['ids']) for o in out)} ids")


if __name__ == "__main__":
    main()
