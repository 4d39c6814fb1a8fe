"""Reference outputs of llama.cpp for SmolLM2-135M-Instruct (tests/fixtures/smollm2_llamacpp.json).

Needs llama.cpp built beside the project (llama-simple, llama-tokenize, llama-quantize; see the
llama.cpp recipe in the team's shared notes) and the Q4_1 file from tools/fetch_smollm2.sh:

    python tools/make_smollm2_reference.py --bin $PEERS/build-cpu/bin --model "$(tools/fetch_smollm2.sh)"

Greedy continuations come from llama.cpp's float path: its CPU backend on the F32 requant of the
Q4_1 weights (the same numbers; its CPU Q4_1 kernel rounds activations to 8 bits, so not that one).
Token ids come from llama-tokenize on the Q4_1 file itself. Chat renderings come from Python's
jinja2 (what transformers renders templates with) on the file's `tokenizer.chat_template`, read
with gguf-py (`pip install gguf jinja2`).
"""
import argparse, json, os, subprocess, tempfile

PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):",
    "Once upon a time, in a small village,",
    "The three primary colors are",
]
TOKENIZE = [
    "Hello, world! How are you today?",
    "Привет, мир! Как дела?",
    "日本語のテキストを処理する。東京は首都です。",
    "안녕하세요, 세계!",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "Emoji: 👩‍👩‍👧‍👦 🚀 ✨",
    "def f(x):\n    return x ** 2  # square\n\n\ttab",
    "Numbers 1234567 and 3.14159, 2026-11-24",
    "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    "   leading spaces and trailing   ",
]
N_PREDICT = 24
CHATS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
     {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}],
]


def chat_renderings(model):
    import jinja2
    from gguf import GGUFReader
    f = GGUFReader(model).fields["tokenizer.chat_template"]
    tpl = jinja2.Environment().from_string(bytes(f.parts[f.data[0]]).decode())
    return [{"messages": m, "text": tpl.render(messages=m, add_generation_prompt=True)} for m in CHATS]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", default="tests/fixtures/smollm2_llamacpp.json")
    a = ap.parse_args()
    f32 = os.path.join(tempfile.mkdtemp(), "smollm2.f32.gguf")
    subprocess.run([f"{a.bin}/llama-quantize", "--allow-requantize", a.model, f32, "F32", "2"],
                   check=True, capture_output=True)
    greedy = []
    for p in PROMPTS:
        out = subprocess.run([f"{a.bin}/llama-simple", "-m", f32, "-n", str(N_PREDICT), p],
                             check=True, capture_output=True, text=True).stdout
        assert out.startswith(p) and out.endswith("\n"), out
        # llama-simple prints the prompt, the continuation, then one newline of its own
        greedy.append({"prompt": p, "continuation": out[len(p):-1]})
    tok = []
    for t in TOKENIZE:
        out = subprocess.run([f"{a.bin}/llama-tokenize", "-m", a.model, "--prompt", t, "--ids", "--log-disable"],
                             check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        tok.append({"text": t, "ids": json.loads(out)})
    json.dump({"n_predict": N_PREDICT, "greedy": greedy, "tokenize": tok, "chat": chat_renderings(a.model)}, open(a.out, "w"),
              ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
