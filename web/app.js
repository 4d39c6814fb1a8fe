// The demo page's thread: the UI only. Inference (download, upload, generation) runs in
// worker.js, so the page stays responsive while the GPU works.
//
// Test contract: index.html?model=URL&prompt_ids=1,2,3&max_tokens=N (or &prompt=TEXT&chat=1;
// temperature defaults to 0) runs once the page loads. URL is a checkpoint folder ending in "/"
// or a .gguf file, same origin. At the end document.documentElement.dataset.state is "done" (or
// "error", with dataset.error) and window.llama4Result = {tokens, text, prefill_tok_s,
// decode_tok_s, adapter}.

const $ = (id) => document.getElementById(id);
const root = document.documentElement;
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const pending = new Map();
let nextId = 0;
let onToken = () => {};

function setProgress(fraction) {
  $('progress').style.width = `${Math.min(100, Math.round(fraction * 100))}%`;
  root.dataset.progress = String(Math.round(fraction * 100));
}

function status(text, isError = false) {
  $('load-status').textContent = text;
  $('load-status').className = isError ? 'error' : 'muted';
}

worker.onmessage = ({ data }) => {
  if (data.type === 'progress') {
    setProgress(data.fraction);
    status(data.text);
  } else if (data.type === 'token') {
    onToken(data.id, data.piece);
  } else {
    const p = pending.get(data.id);
    pending.delete(data.id);
    if (data.ok) p.resolve(data.value); else p.reject(new Error(data.error));
  }
};
worker.onerror = (e) => fail(e.message || 'the inference worker failed to start');

// One request to the worker, answered by a promise.
function call(type, payload = {}) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, type, ...payload });
  });
}

function loaded(info, name) {
  setProgress(1);
  status(`Loaded ${name}: ${info.layers} layers, ${(info.weight_bytes / 1048576).toFixed(1)} MiB on the GPU` +
    (info.cache ? ` (${info.cache}).` : '.'));
  window.llama4Load = info;
  showCache();
  $('generate').disabled = false;
  // the Llama licenses ask for "Built with Llama" where a Llama model is used
  $('built-with').hidden = !info.llama;
}

async function load(type, payload, name) {
  $('load-url').disabled = true;
  setProgress(0);
  try {
    loaded(await call(type, payload), name);
  } finally {
    $('load-url').disabled = false;
  }
}

// The models kept in this browser, each with a button that removes it.
async function showCache() {
  const list = await call('listCache');
  const ul = $('cache-list');
  ul.replaceChildren();
  for (const m of list) {
    const li = document.createElement('li');
    const use = document.createElement('a');
    use.href = '#';
    use.textContent = m.url;
    use.onclick = (e) => { e.preventDefault(); $('model-url').value = m.url; };
    const rm = document.createElement('button');
    rm.textContent = 'Remove';
    rm.className = 'small';
    rm.onclick = async () => { await call('removeCache', { url: m.url }); showCache(); };
    li.append(use, ` ${(m.bytes / 1048576).toFixed(1)} MiB `, rm);
    ul.append(li);
  }
  $('cache-empty').hidden = list.length > 0;
}

async function generate(options) {
  $('output').textContent = '';
  $('generate').disabled = true;
  $('stop').disabled = false;
  onToken = (_id, piece) => { $('output').textContent += piece; };
  try {
    const r = await call('generate', { options });
    $('rate').textContent = `${r.prompt_tokens} prompt tokens at ${r.prefill_tok_s.toFixed(1)} tok/s, ` +
      `${r.tokens.length} generated at ${r.decode_tok_s.toFixed(1)} tok/s on ${r.adapter || 'WebGPU'}` +
      (r.cancelled ? ' (stopped)' : '');
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
  const options = {
    max_tokens: Number(params.get('max_tokens') || 32),
    temperature: Number(params.get('temperature') || 0),
    chat: params.get('chat') === '1',
  };
  if (params.has('prompt_ids')) options.prompt_ids = params.get('prompt_ids').split(',').map(Number);
  else options.prompt = params.get('prompt') || '';
  $('model-url').value = url;
  $('prompt').value = options.prompt || `(token ids) ${options.prompt_ids.join(', ')}`;
  $('chat').checked = options.chat;
  $('max-tokens').value = options.max_tokens;
  await load('loadUrl', { url }, url);
  const r = await generate(options);
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
  if (!navigator.gpu) throw new Error('This browser has no WebGPU (navigator.gpu is missing): try a recent Chrome or Edge, or Firefox with WebGPU enabled.');
  const s = await call('init');
  $('adapter').textContent = `Adapter: ${s.adapter || 'WebGPU'} (${s.backend}), shader-f16 ${s.shader_f16 ? 'yes' : 'no'}, ` +
    `largest binding ${(s.max_storage_buffer_binding_size / 1048576).toFixed(0)} MiB`;
  $('load-url').onclick = () => load('loadUrl', { url: $('model-url').value }, $('model-url').value)
    .catch((e) => status(String(e.message || e), true));
  $('model-files').onchange = (ev) => load('loadFiles', { files: [...ev.target.files] }, 'picked files')
    .catch((e) => status(String(e.message || e), true));
  $('generate').onclick = () => generate(uiOptions()).catch((e) => status(String(e.message || e), true));
  $('stop').onclick = () => worker.postMessage({ type: 'cancel' });
  await showCache();
  const params = new URLSearchParams(location.search);
  if (params.has('model')) await runContract(params);
  root.dataset.state = 'done';
}

main().catch((e) => fail(e && e.message ? e.message : String(e)));
