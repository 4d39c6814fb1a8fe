// Drives web/dist/ in Debian's headless Chromium (WebGPU on SwiftShader: no shader-f16) through the
// page's test contract, on a fixture model served from the same origin, and checks the greedy
// tokens against the fixture's reference (transformers' tokens, which the native runtime also
// gives). Saves a screenshot in web/test-artifacts/. Exit status 1 on any failure.
import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { smollm2Chat, benchCard, dropGguf, tooBig, unknownArch, noWebgpu } from './test-ui.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const dist = path.join(here, 'dist');
// the fixture folders (FIXTURES: another folder of transformers checkpoints, e.g. held-out ones)
const fixtures = path.resolve(process.env.FIXTURES || path.join(repo, 'tests', 'fixtures'));
// where tools/fetch_smollm2.sh puts SmolLM2 (for the chat case)
const cache = process.env.LLAMA4_WGPU_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(process.env.HOME, '.cache'), 'llama4-wgpu');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json' };

// "/" serves web/dist, "/fixtures/" the test fixtures, "/cache/" SmolLM2, "/huge/model.gguf" a
// 5 GiB file that only answers HEAD, "/mamba/model.gguf" a 512 MiB GGUF of an architecture the
// runtime does not run (the fixture GGUF's header, patched, then zeros); model requests, GETs of
// model files and the bytes sent of the mamba file counted. Range requests are honoured.
let modelRequests = 0;
const counts = { get: 0, mambaBytes: 0 };
const mamba = (() => {
  const b = fs.readFileSync(path.join(repo, 'tests', 'fixtures', 'llama4_gguf', 'model-f32.gguf'));
  const key = b.indexOf('general.architecture');
  b.write('mamba4', b.indexOf('llama4', key)); // the value, 12 bytes after the key
  return b;
})();
const MAMBA_SIZE = 512 * 2 ** 20;

// The [start, end] a Range header asks for, or the whole [0, size - 1].
function range(req, size) {
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || '');
  if (!m) return null;
  return [Number(m[1]), Math.min(size - 1, m[2] ? Number(m[2]) : size - 1)];
}
const server = http.createServer((req, res) => {
  const url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  if (url.startsWith('/fixtures/') || url.startsWith('/cache/') || url.startsWith('/huge/')) {
    modelRequests++;
    if (req.method === 'GET') counts.get++;
  }
  if (url === '/mamba/model.gguf') {
    const [a, b] = range(req, MAMBA_SIZE) || [0, MAMBA_SIZE - 1];
    if (req.method === 'HEAD') { res.writeHead(200, { 'content-length': MAMBA_SIZE }).end(); return; }
    const body = Buffer.alloc(b - a + 1);
    if (a < mamba.length) mamba.copy(body, 0, a, Math.min(mamba.length, b + 1));
    counts.mambaBytes += body.length;
    res.writeHead(206, { 'content-length': body.length, 'content-range': `bytes ${a}-${b}/${MAMBA_SIZE}` }).end(body);
    return;
  }
  if (url === '/huge/model.gguf') {
    res.writeHead(req.method === 'HEAD' ? 200 : 500, { 'content-length': req.method === 'HEAD' ? 5 * 2 ** 30 : 0 }).end();
    return;
  }
  const file = url.startsWith('/fixtures/') ? path.join(fixtures, url.slice(10))
    : url.startsWith('/cache/') ? path.join(cache, url.slice(7))
    : path.join(dist, url === '/' ? 'index.html' : url);
  if (!(file.startsWith(repo) || file.startsWith(fixtures) || file.startsWith(cache)) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
    res.writeHead(404).end();
    return;
  }
  const size = fs.statSync(file).size;
  const type = types[path.extname(file)] || 'application/octet-stream';
  const r = req.method === 'GET' && range(req, size);
  if (r) {
    res.writeHead(206, { 'content-type': type, 'content-length': r[1] - r[0] + 1, 'content-range': `bytes ${r[0]}-${r[1]}/${size}` });
    fs.createReadStream(file, { start: r[0], end: r[1] }).pipe(res);
    return;
  }
  res.writeHead(200, { 'content-type': type, 'content-length': size });
  if (req.method === 'HEAD') res.end(); else fs.createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu'],
});
let failed = 0;

// The page's thread must never be blocked this long (inference runs in a worker).
const MAX_TASK_MS = 200;

// Runs in the page before its scripts: a 20 ms heartbeat on the page's thread; the longest gap
// beyond its period is the longest the thread was blocked. (Chromium's "longtask" entries do not
// reach a headless page here; the heartbeat does: a 300 ms busy loop reads as 285 ms.)
function watchLongTasks() {
  window.__longestTask = 0;
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    window.__longestTask = Math.max(window.__longestTask, now - last - 20);
    last = now;
  }, 20);
}

// The longest block seen, once the heartbeat has had a tick after the run.
async function longestTask(page) {
  await new Promise((r) => setTimeout(r, 200));
  return page.evaluate(() => window.__longestTask);
}

const artifacts = path.join(here, 'test-artifacts');
fs.mkdirSync(artifacts, { recursive: true });
// what the UI cases (test-ui.mjs) share with this driver
const t = { browser, origin, counts, artifacts, watchLongTasks, longestTask, MAX_TASK_MS };
const cases = { 'smollm2-chat': smollm2Chat, 'bench-card': benchCard, 'drop-gguf': dropGguf, 'too-big': tooBig, 'unknown-arch': unknownArch, 'no-webgpu': noWebgpu };

try {
  for (const name of (process.argv[2] || 'scout,dense').split(',')) {
    if (cases[name]) {
      failed += await cases[name](t);
      continue;
    }
    // a folder name, or a .gguf file inside a fixture folder (its reference.json beside it)
    const gguf = name.endsWith('.gguf');
    const ref = JSON.parse(fs.readFileSync(path.join(fixtures, gguf ? path.dirname(name) : name, 'reference.json')));
    const page = await browser.newPage();
    await page.addInitScript(watchLongTasks);
    const logs = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(String(e)));
    const url = `${origin}/index.html?model=/fixtures/${name}${gguf ? '' : '/'}&prompt_ids=${ref.prompt_ids.join(',')}&max_tokens=${ref.greedy_tokens.length}`;
    const t0 = Date.now();
    // first visit: downloads and caches; second: the cache alone, no model request
    const runs = [];
    for (const visit of ['first', 'reload']) {
      modelRequests = 0;
      if (visit === 'first') await page.goto(url); else await page.reload();
      await page.waitForFunction(() => ['done', 'error'].includes(document.documentElement.dataset.state), null, { timeout: 240000 });
      runs.push({
        state: await page.evaluate(() => ({ ...document.documentElement.dataset })),
        result: await page.evaluate(() => window.llama4Result),
        cache: await page.evaluate(() => window.llama4Load && window.llama4Load.cache),
        longest: await longestTask(page),
        requests: modelRequests,
      });
    }
    await page.screenshot({ path: path.join(artifacts, `${name.replace(/\//g, '_')}.png`), fullPage: true });
    const good = (r) => r.state.state === 'done' && r.state.progress === '100' && r.longest < MAX_TASK_MS &&
      JSON.stringify(r.result.tokens) === JSON.stringify(ref.greedy_tokens);
    const [first, again] = runs;
    const cached = first.cache === 'cached in this browser' && again.cache === 'from the browser cache' && again.requests === 0;
    const ok = good(first) && good(again) && cached;
    const { state, result } = first;
    console.log(`${name}: ${ok ? 'ok' : 'FAIL'} in ${((Date.now() - t0) / 1000).toFixed(1)} s; state ${state.state}; ` +
      `longest page-thread task ${Math.max(first.longest, again.longest).toFixed(0)} ms; reload: ${again.cache}, ${again.requests} model requests` +
      (state.error ? ` (${state.error})` : '') + `; tokens ${JSON.stringify(result && result.tokens)} vs ${JSON.stringify(ref.greedy_tokens)}` +
      (result ? `; prefill ${result.prefill_tok_s.toFixed(1)} tok/s, decode ${result.decode_tok_s.toFixed(1)} tok/s` : ''));
    if (!ok) { failed++; console.log(logs.join('\n'), JSON.stringify(runs.map((r) => ({ ...r, result: undefined })))); }
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
process.exit(failed ? 1 : 0);
