// The demo page: fetch or pick a model's files (download progress here), hand their bytes to the
// wasm Engine (upload progress from it), generate with streamed tokens.
//
// Test contract: index.html?model=URL&prompt_ids=1,2,3&max_tokens=N (or &prompt=TEXT&chat=1;
// temperature defaults to 0) runs once the page loads. URL is a checkpoint folder ending in "/"
// or a .gguf file, same origin. At the end document.documentElement.dataset.state is "done" (or
// "error", with dataset.error) and window.llama4Result = {tokens, text, prefill_tok_s,
// decode_tok_s, adapter}.

import init, { Engine } from './pkg/llama4_wgpu_web.js';

const $ = (id) => document.getElementById(id);
const root = document.documentElement;
let engine = null;

function setProgress(fraction) {
  $('progress').style.width = `${Math.min(100, Math.round(fraction * 100))}%`;
  root.dataset.progress = String(Math.round(fraction * 100));
}

function status(text, isError = false) {
  $('load-status').textContent = text;
  $('load-status').className = isError ? 'error' : 'muted';
}

async function head(url) {
  const r = await fetch(url, { method: 'HEAD' });
  return r.ok ? Number(r.headers.get('content-length')) || 0 : null;
}

// Streams `url` into one Uint8Array, calling onBytes(n) per chunk.
async function fetchBytes(url, onBytes) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  const reader = r.body.getReader();
  const chunks = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    got += value.length;
    onBytes(value.length);
  }
  const out = new Uint8Array(got);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

// The files of a checkpoint folder at `base` (ending in "/"): required and optional ones.
async function folderFiles(base) {
  const names = ['config.json'];
  if ((await head(base + 'model.safetensors.index.json')) !== null) {
    const index = await (await fetch(base + 'model.safetensors.index.json')).json();
    names.push('model.safetensors.index.json', ...new Set(Object.values(index.weight_map)));
  } else {
    names.push('model.safetensors');
  }
  for (const opt of ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja', 'tokenizer.model']) {
    if ((await head(base + opt)) !== null) names.push(opt);
  }
  return names;
}

// Downloads (80% of the bar) and uploads (20%) the model at `url`.
async function loadUrl(url) {
  const isGguf = url.toLowerCase().endsWith('.gguf');
  const names = isGguf ? [''] : await folderFiles(url);
  const sizes = await Promise.all(names.map((n) => head(url + n)));
  const total = sizes.reduce((a, b) => a + (b || 0), 0) || 1;
  let got = 0;
  const onBytes = (n) => {
    got += n;
    setProgress(0.8 * got / total);
    status(`Downloading ${(got / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MiB…`);
  };
  const onLayer = (i, n) => {
    setProgress(0.8 + 0.2 * i / n);
    status(`Uploading to the GPU: layer ${i} of ${n}`);
  };
  let info;
  if (isGguf) {
    const bytes = await fetchBytes(url, onBytes);
    info = engine.loadGguf(url, bytes, onLayer);
  } else {
    for (const n of names) engine.addFile(n, await fetchBytes(url + n, onBytes));
    info = engine.loadFolder(url, onLayer);
  }
  setProgress(1);
  return info;
}

async function loadPicked(files) {
  const list = [...files];
  const gguf = list.find((f) => f.name.toLowerCase().endsWith('.gguf'));
  const onLayer = (i, n) => { setProgress(0.8 + 0.2 * i / n); status(`Uploading to the GPU: layer ${i} of ${n}`); };
  setProgress(0);
  if (gguf) return engine.loadGguf(gguf.name, new Uint8Array(await gguf.arrayBuffer()), onLayer);
  for (const f of list) engine.addFile(f.name, new Uint8Array(await f.arrayBuffer()));
  return engine.loadFolder('picked files/', onLayer);
}

function loaded(info, name) {
  status(`Loaded ${name}: ${info.layers} layers, ${(info.weight_bytes / 1048576).toFixed(1)} MiB on the GPU.`);
  $('generate').disabled = false;
  // the Llama 4 license asks for "Built with Llama" where a Llama model is used
  $('built-with').hidden = !info.llama;
}

async function generate(options) {
  $('output').textContent = '';
  $('generate').disabled = true;
  $('stop').disabled = false;
  try {
    const r = await engine.generate(options, (_id, piece) => { $('output').textContent += piece; });
    $('rate').textContent = `${r.prompt_tokens} prompt tokens at ${r.prefill_tok_s.toFixed(1)} tok/s, ` +
      `${r.tokens.length} generated at ${r.decode_tok_s.toFixed(1)} tok/s on ${r.adapter || 'WebGPU'}`;
    return r;
  } finally {
    $('generate').disabled = false;
    $('stop').disabled = true;
  }
}

function uiOptions() {
  const num = (id) => Number($(id).value);
  return {
    prompt: $('prompt').value, chat: $('chat').checked, max_tokens: num('max-tokens'),
    temperature: num('temperature'), top_k: num('top-k'), top_p: num('top-p'),
  };
}

async function runContract(params) {
  const url = params.get('model');
  const info = await loadUrl(url);
  loaded(info, url);
  const options = {
    max_tokens: Number(params.get('max_tokens') || 32),
    temperature: Number(params.get('temperature') || 0),
    chat: params.get('chat') === '1',
  };
  if (params.has('prompt_ids')) options.prompt_ids = params.get('prompt_ids').split(',').map(Number);
  else options.prompt = params.get('prompt') || '';
  $('prompt').value = options.prompt || `(token ids) ${options.prompt_ids.join(', ')}`;
  $('chat').checked = options.chat;
  $('max-tokens').value = options.max_tokens;
  const r = await generate(options);
  window.llama4Result = {
    tokens: r.tokens, text: r.text, prefill_tok_s: r.prefill_tok_s, decode_tok_s: r.decode_tok_s, adapter: r.adapter,
  };
}

async function main() {
  root.dataset.state = 'loading';
  if (!navigator.gpu) throw new Error('This browser has no WebGPU (navigator.gpu is missing): try a recent Chrome or Edge, or Firefox with WebGPU enabled.');
  await init();
  engine = await Engine.create();
  const s = engine.stats();
  $('adapter').textContent = `Adapter: ${s.adapter || 'WebGPU'} (${s.backend}), shader-f16 ${s.shader_f16 ? 'yes' : 'no'}, ` +
    `largest binding ${(s.max_storage_buffer_binding_size / 1048576).toFixed(0)} MiB`;
  $('load-url').onclick = async () => {
    try { loaded(await loadUrl($('model-url').value), $('model-url').value); } catch (e) { status(String(e), true); }
  };
  $('model-files').onchange = async (ev) => {
    try { loaded(await loadPicked(ev.target.files), 'picked files'); } catch (e) { status(String(e), true); }
  };
  $('generate').onclick = () => generate(uiOptions()).catch((e) => status(String(e), true));
  $('stop').onclick = () => engine.cancel();
  const params = new URLSearchParams(location.search);
  if (params.has('model')) await runContract(params);
  root.dataset.state = 'done';
}

main().catch((e) => {
  const msg = e && e.message ? e.message : String(e);
  status(msg, true);
  root.dataset.error = msg;
  root.dataset.state = 'error';
});
