// The inference worker: owns the wasm Engine (WebGPU works in workers), downloads model files
// with progress, uploads them, generates. The page's thread only draws, so it never blocks.
//
// Messages in:  {id, type: 'init'} | {id, type: 'loadUrl', url} | {id, type: 'loadFiles', files}
//               | {id, type: 'generate', options} | {type: 'cancel'}
// Messages out: {id, ok: true, value} | {id, ok: false, error} | {type: 'progress', fraction, text}
//               | {type: 'token', id, piece}

import init, { Engine } from './pkg/llama4_wgpu_web.js';

let engine = null;

const progress = (fraction, text) => postMessage({ type: 'progress', fraction, text });

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

const onLayer = (i, n) => progress(0.8 + 0.2 * i / n, `Uploading to the GPU: layer ${i} of ${n}`);

// Downloads (80% of the bar) and uploads (20%) the model at `url`.
async function loadUrl(url) {
  const isGguf = url.toLowerCase().endsWith('.gguf');
  const names = isGguf ? [''] : await folderFiles(url);
  const sizes = await Promise.all(names.map((n) => head(url + n)));
  const total = sizes.reduce((a, b) => a + (b || 0), 0) || 1;
  let got = 0;
  const onBytes = (n) => {
    got += n;
    progress(0.8 * got / total, `Downloading ${(got / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MiB…`);
  };
  if (isGguf) return engine.loadGguf(url, await fetchBytes(url, onBytes), onLayer);
  for (const n of names) engine.addFile(n, await fetchBytes(url + n, onBytes));
  return engine.loadFolder(url, onLayer);
}

async function loadFiles(files) {
  const gguf = files.find((f) => f.name.toLowerCase().endsWith('.gguf'));
  progress(0, 'Reading the files…');
  if (gguf) return engine.loadGguf(gguf.name, new Uint8Array(await gguf.arrayBuffer()), onLayer);
  for (const f of files) engine.addFile(f.name, new Uint8Array(await f.arrayBuffer()));
  return engine.loadFolder('picked files/', onLayer);
}

const handlers = {
  async init() {
    await init();
    engine = await Engine.create();
    return engine.stats();
  },
  loadUrl: ({ url }) => loadUrl(url),
  loadFiles: ({ files }) => loadFiles(files),
  generate: ({ options }) => engine.generate(options, (id, piece) => postMessage({ type: 'token', id, piece })),
};

onmessage = async ({ data }) => {
  if (data.type === 'cancel') {
    if (engine) engine.cancel();
    return;
  }
  try {
    const value = await handlers[data.type](data);
    postMessage({ id: data.id, ok: true, value });
  } catch (e) {
    postMessage({ id: data.id, ok: false, error: e && e.message ? e.message : String(e) });
  }
};
