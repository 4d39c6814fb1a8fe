// The inference worker: owns the wasm Engine (WebGPU works in workers), downloads model files
// with progress, uploads them, generates. The page's thread only draws, so it never blocks.
//
// Messages in:  {id, type: 'init'} | {id, type: 'loadUrl', url} | {id, type: 'loadFiles', files}
//               | {id, type: 'generate', options} | {id, type: 'bench', options} | {id, type: 'listCache'}
//               | {id, type: 'removeCache', url} | {type: 'cancel'}
// Messages out: {id, ok: true, value} | {id, ok: false, error}
//               | {type: 'progress', fraction, text, fetched?, total?, layer?, layers?, uploaded?}
//               | {type: 'token', id, piece} | {type: 'benchTest', test}

import init, { Engine, checkGguf } from './pkg/llama4_wgpu_web.js';

let engine = null;

// Downloaded weights are kept in the origin-private file system (OPFS), one folder per model URL
// with a manifest written last, and reused on the next visit without a download.
const CACHE = 'llama4-wgpu-models';
const cacheName = (url) => encodeURIComponent(new URL(url, self.location.href).href);
const fileName = (name) => name || 'model.gguf';

async function cacheDir() {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(CACHE, { create: true });
}

async function readFile(dir, name) {
  return new Uint8Array(await (await (await dir.getFileHandle(name)).getFile()).arrayBuffer());
}

// The cached files of `url` ([{name, bytes}]), or null when it is not (completely) cached.
async function readCached(url) {
  try {
    const dir = await (await cacheDir()).getDirectoryHandle(cacheName(url));
    const manifest = JSON.parse(new TextDecoder().decode(await readFile(dir, 'manifest.json')));
    const files = [];
    for (const f of manifest.files) files.push({ name: f.name, bytes: await readFile(dir, fileName(f.name)) });
    return files;
  } catch {
    return null;
  }
}

// Stores `files` of `url` if the origin's storage quota has room; says why not otherwise.
async function writeCache(url, files) {
  const total = files.reduce((a, f) => a + f.bytes.length, 0);
  const { quota = 0, usage = 0 } = await navigator.storage.estimate();
  if (usage + total > 0.9 * quota) {
    return `not cached: ${(total / 1048576).toFixed(0)} MiB would exceed the storage quota (${(usage / 1048576).toFixed(0)} of ${(quota / 1048576).toFixed(0)} MiB used)`;
  }
  const root = await cacheDir();
  const dir = await root.getDirectoryHandle(cacheName(url), { create: true });
  for (const f of files) {
    const w = await (await dir.getFileHandle(fileName(f.name), { create: true })).createWritable();
    await w.write(f.bytes);
    await w.close();
  }
  const manifest = { url, files: files.map((f) => ({ name: f.name, size: f.bytes.length })), saved: Date.now() };
  const w = await (await dir.getFileHandle('manifest.json', { create: true })).createWritable();
  await w.write(JSON.stringify(manifest));
  await w.close();
  return 'cached in this browser';
}

async function listCache() {
  const out = [];
  for await (const [, handle] of (await cacheDir()).entries()) {
    try {
      const m = JSON.parse(new TextDecoder().decode(await readFile(handle, 'manifest.json')));
      out.push({ url: m.url, bytes: m.files.reduce((a, f) => a + f.size, 0), saved: m.saved });
    } catch { /* an incomplete entry: not listed, overwritten by the next download */ }
  }
  return out;
}

// `detail`: {fetched, total} bytes while downloading, {layer, layers, uploaded (bytes)} while uploading.
const progress = (fraction, text, detail = {}) => postMessage({ type: 'progress', fraction, text, ...detail });

// The model's files are held in the WebAssembly heap while they upload, and a wasm32 heap ends at
// 4 GiB; past this much the page would fail midway with an out-of-memory trap, so a larger model
// is refused before anything is downloaded or read.
const MAX_MODEL_BYTES = 3 * 2 ** 30;
const gib = (bytes) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

function checkSize(what, bytes) {
  if (bytes > MAX_MODEL_BYTES) {
    throw new Error(`${what}: its ${gib(bytes)} of files exceed the ${gib(MAX_MODEL_BYTES)} a browser tab can hold ` +
      '(WebAssembly memory ends at 4 GiB, and the files stay in it while they upload to the GPU); ' +
      'pick a smaller or more strongly quantized model');
  }
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

const onLayer = (i, n, bytes) => progress(0.8 + 0.2 * i / n, `Uploading to the GPU: layer ${i} of ${n}, ${(bytes / 1048576).toFixed(1)} MiB`,
  { layer: i, layers: n, uploaded: bytes });

// Downloads (80% of the bar) or reads from the cache, then uploads (20%) the model at `url`.
async function loadUrl(url) {
  const isGguf = url.toLowerCase().endsWith('.gguf');
  let files = await readCached(url);
  let cache = 'from the browser cache';
  if (files) {
    progress(0.8, 'Read from the browser cache');
  } else {
    files = await download(url, isGguf);
    cache = await writeCache(url, files).catch((e) => `not cached: ${e.message || e}`);
  }
  let info;
  if (isGguf) {
    info = engine.loadGguf(url, files[0].bytes, onLayer);
  } else {
    for (const f of files) engine.addFile(f.name, f.bytes);
    info = engine.loadFolder(url, onLayer);
  }
  return { ...info, cache };
}

// The first `n` bytes of `url` (a Range request; a server without ranges sends the whole file,
// of which only the first `n` bytes are read before the transfer is cancelled).
async function fetchPrefix(url, n) {
  const r = await fetch(url, { headers: { Range: `bytes=0-${n - 1}` } });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  const reader = r.body.getReader();
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const { done, value } = await reader.read();
    if (done) break;
    const take = Math.min(value.length, n - got);
    out.set(value.subarray(0, take), got);
    got += take;
  }
  reader.cancel().catch(() => {});
  return out.subarray(0, got);
}

// Reads a GGUF file's header alone (1 MiB, then more while it goes on; `read(n)` gives the first
// n bytes) and lets the runtime say whether it can run the model, before the whole file is
// downloaded or read.
async function checkGgufHeader(name, size, read) {
  for (let n = Math.min(size, 1 << 20); ; n = Math.min(size, n * 4)) {
    progress(0, `Reading the GGUF header (${(n / 1048576).toFixed(1)} MiB)…`);
    const header = checkGguf(name, await read(n), size);
    if (header) return header;
    if (n >= size) throw new Error(`${name}: the GGUF header runs past the end of the file`);
  }
}

async function download(url, isGguf) {
  const names = isGguf ? [''] : await folderFiles(url);
  const sizes = await Promise.all(names.map((n) => head(url + n)));
  const missing = names.filter((n, i) => sizes[i] === null);
  if (missing.length) throw new Error(`${url}: not found on the server: ${missing.map((n) => n || url).join(', ')}`);
  const total = sizes.reduce((a, b) => a + b, 0) || 1;
  checkSize(url, total);
  if (isGguf) await checkGgufHeader(url, total, (n) => fetchPrefix(url, n));
  let got = 0;
  const onBytes = (n) => {
    got += n;
    progress(0.8 * got / total, `Downloading ${(got / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MiB…`, { fetched: got, total });
  };
  const files = [];
  for (const n of names) files.push({ name: n, bytes: await fetchBytes(url + n, onBytes) });
  return files;
}

async function loadFiles(files) {
  const gguf = files.find((f) => f.name.toLowerCase().endsWith('.gguf'));
  checkSize(gguf ? gguf.name : 'the picked files', gguf ? gguf.size : files.reduce((a, f) => a + f.size, 0));
  if (gguf) await checkGgufHeader(gguf.name, gguf.size, async (n) => new Uint8Array(await gguf.slice(0, n).arrayBuffer()));
  progress(0, 'Reading the files…');
  if (gguf) return engine.loadGguf(gguf.name, new Uint8Array(await gguf.arrayBuffer()), onLayer);
  for (const f of files) engine.addFile(f.name, new Uint8Array(await f.arrayBuffer()));
  return engine.loadFolder('picked files/', onLayer);
}

const handlers = {
  async init() {
    await init();
    engine = await Engine.create();
    // wgpu leaves a browser adapter's name empty; WebGPU's own adapter info says what it is
    const info = (await navigator.gpu.requestAdapter())?.info;
    const name = info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') : '';
    return { ...engine.stats(), adapter_info: name };
  },
  loadUrl: ({ url }) => loadUrl(url),
  loadFiles: ({ files }) => loadFiles(files),
  listCache: () => listCache(),
  removeCache: async ({ url }) => (await cacheDir()).removeEntry(cacheName(url), { recursive: true }),
  generate: ({ options }) => engine.generate(options, (id, piece) => postMessage({ type: 'token', id, piece })),
  bench: ({ options }) => engine.bench(options, (test) => postMessage({ type: 'benchTest', test })),
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
