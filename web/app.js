// The demo page's thread: the UI only. Inference (download, upload, generation) runs in
// worker.js, so the page stays responsive while the GPU works.
//
// Test contract: index.html?model=URL&prompt_ids=1,2,3&max_tokens=N (or &prompt=TEXT&chat=1;
// temperature defaults to 0) runs once the page loads. URL is a checkpoint folder ending in "/"
// or a .gguf file, same origin. At the end document.documentElement.dataset.state is "done" (or
// "error", with dataset.error) and window.llama4Result = {tokens, text, prefill_tok_s,
// decode_tok_s, adapter}. index.html?model=URL&bench=P,N,R runs the benchmark instead (P prompt
// tokens, N decode steps, R repetitions) and sets window.llama4Bench to its report.

import { Bench } from './bench.js';
import { Chat } from './chat.js';
import { acceptDrops } from './drop.js';

const $ = (id) => document.getElementById(id);
const root = document.documentElement;
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const pending = new Map();
let nextId = 0;

function setProgress(fraction) {
  $('progress').style.width = `${Math.min(100, Math.round(fraction * 100))}%`;
  root.dataset.progress = String(Math.round(fraction * 100));
}

function status(text, isError = false) {
  $('load-status').textContent = text;
  $('load-status').className = isError ? 'error' : 'muted';
}

// One request to the worker, answered by a promise.
function call(type, payload = {}) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, type, ...payload });
  });
}

const chat = new Chat(call);
const bench = new Bench(call);

worker.onmessage = ({ data }) => {
  if (data.type === 'progress') {
    setProgress(data.fraction);
    status(data.text);
  } else if (data.type === 'token') {
    chat.onToken(data.id, data.piece);
  } else if (data.type === 'benchTest') {
    bench.onTest(data.test);
  } else {
    const p = pending.get(data.id);
    pending.delete(data.id);
    if (data.ok) p.resolve(data.value); else p.reject(new Error(data.error));
  }
};
worker.onerror = (e) => fail(e.message || 'the inference worker failed to start');

const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;

function loaded(info, name) {
  setProgress(1);
  status(`Loaded ${name}: ${info.layers} layers, ${mib(info.weight_bytes)} on the GPU, chat context ${info.context} positions` +
    (info.cache ? ` (${info.cache}).` : '.'));
  window.llama4Load = info;
  showCache();
  $('model-name').textContent = name.replace(/\/$/, '').split('/').pop() || 'Chat';
  $('generate').disabled = false;
  $('bench-run').disabled = false;
  chat.clear();
  // the Llama licenses ask for "Built with Llama" where a Llama model is used
  $('built-with').hidden = !info.llama;
}

async function load(type, payload, name) {
  for (const b of ['load-url', 'generate', 'bench-run']) $(b).disabled = true;
  setProgress(0);
  try {
    loaded(await call(type, payload), name);
  } catch (e) {
    setProgress(0);
    throw e;
  } finally {
    $('load-url').disabled = false;
  }
}

const report = (e) => status(String(e.message || e), true);

// The files a checkpoint folder loads from; a Hugging Face download also holds `original/`
// (Meta's own format) and others, which are left alone.
const modelFile = (name) => /\.(gguf|safetensors|json|jinja)$/i.test(name) || name === 'tokenizer.model';

function loadFiles(picked) {
  const depth = (f) => (f.webkitRelativePath || f.relPath || f.name).split('/').length;
  const wanted = picked.filter((f) => modelFile(f.name));
  const top = Math.min(...wanted.map(depth));
  const files = wanted.filter((f) => depth(f) === top);
  if (!files.length) {
    report(new Error(`none of the ${picked.length} files is a model file (.gguf, or a folder with config.json and .safetensors)`));
    return;
  }
  const gguf = files.find((f) => f.name.toLowerCase().endsWith('.gguf'));
  load('loadFiles', { files }, gguf ? gguf.name : `${files.length} files`).catch(report);
}

// The models kept in this browser, each with a button that loads it and one that removes it.
async function showCache() {
  const list = await call('listCache');
  const ul = $('cache-list');
  ul.replaceChildren();
  for (const m of list) {
    const li = document.createElement('li');
    const url = document.createElement('span');
    url.className = 'url';
    url.textContent = m.url;
    url.title = m.url;
    const use = document.createElement('button');
    use.textContent = 'Load';
    use.className = 'small';
    use.onclick = () => { $('model-url').value = m.url; load('loadUrl', { url: m.url }, m.url).catch(report); };
    const rm = document.createElement('button');
    rm.textContent = 'Remove';
    rm.className = 'small';
    rm.onclick = async () => { await call('removeCache', { url: m.url }); showCache(); };
    li.append(url, mib(m.bytes), use, rm);
    ul.append(li);
  }
  $('cache-empty').hidden = list.length > 0;
}

function uiOptions() {
  const num = (id) => Number($(id).value);
  return {
    prompt: $('prompt').value, chat: $('chat').checked, system: $('system').value, max_tokens: num('max-tokens'),
    temperature: num('temperature'), top_k: num('top-k'), top_p: num('top-p'),
  };
}

function sendFromUi() {
  const options = uiOptions();
  if (!options.prompt.trim() || $('generate').disabled) return;
  $('prompt').value = '';
  chat.send(options, options.prompt).catch(report);
}

async function runContract(params) {
  const url = params.get('model');
  if (params.has('bench')) {
    const [p, n, r] = params.get('bench').split(',').map(Number);
    $('bench-p').value = p;
    $('bench-n').value = n;
    $('bench-r').value = r;
    $('model-url').value = url;
    await load('loadUrl', { url }, url);
    window.llama4Bench = await bench.run(bench.options());
    return;
  }
  const options = {
    max_tokens: Number(params.get('max_tokens') || 32),
    temperature: Number(params.get('temperature') || 0),
    chat: params.get('chat') === '1',
  };
  if (params.has('prompt_ids')) options.prompt_ids = params.get('prompt_ids').split(',').map(Number);
  else options.prompt = params.get('prompt') || '';
  $('model-url').value = url;
  $('chat').checked = options.chat;
  $('max-tokens').value = options.max_tokens;
  $('temperature').value = options.temperature;
  await load('loadUrl', { url }, url);
  const r = await chat.send(options, options.prompt ?? `token ids ${options.prompt_ids.join(', ')}`);
  window.llama4Result = {
    tokens: r.tokens, text: r.text, prefill_tok_s: r.prefill_tok_s, decode_tok_s: r.decode_tok_s, adapter: r.adapter,
  };
}

function fail(msg) {
  status(msg, true);
  root.dataset.error = msg;
  root.dataset.state = 'error';
}

async function main() {
  root.dataset.state = 'loading';
  if (!navigator.gpu) {
    $('fatal').hidden = false;
    $('fatal').textContent = 'This browser has no WebGPU (navigator.gpu is missing), so the model cannot run here. ' +
      'Use a recent Chrome or Edge (WebGPU is on by default on Windows, macOS and ChromeOS; on Linux it may need ' +
      '--enable-unsafe-webgpu), Safari 26, or Firefox 141+ on Windows.';
    $('adapter').textContent = 'No WebGPU';
    throw new Error($('fatal').textContent);
  }
  const s = await call('init');
  $('adapter').textContent = `${s.adapter || s.adapter_info || 'WebGPU adapter'} · ${s.backend} · shader-f16 ${s.shader_f16 ? 'yes' : 'no'} · ` +
    `bindings up to ${(s.max_storage_buffer_binding_size / 1048576).toFixed(0)} MiB`;
  $('adapter').classList.add('ok');
  $('load-url').onclick = () => load('loadUrl', { url: $('model-url').value }, $('model-url').value).catch(report);
  $('model-files').onchange = (ev) => loadFiles([...ev.target.files]);
  $('model-folder').onchange = (ev) => loadFiles([...ev.target.files]);
  acceptDrops($('drop-overlay'), loadFiles);
  $('compose').onsubmit = (e) => { e.preventDefault(); sendFromUi(); };
  $('prompt').onkeydown = (e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); sendFromUi(); } };
  $('stop').onclick = () => worker.postMessage({ type: 'cancel' });
  $('new-chat').onclick = () => chat.clear();
  $('bench-run').onclick = () => bench.run(bench.options()).catch(() => {});
  await showCache();
  const params = new URLSearchParams(location.search);
  if (params.has('model')) await runContract(params);
  root.dataset.state = 'done';
}

main().catch((e) => fail(e && e.message ? e.message : String(e)));
