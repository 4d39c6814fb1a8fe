// The page's UI cases for web/test.mjs: a two-turn chat typed into the page (SmolLM2), the
// benchmark card on SmolLM2, a model dropped onto the page, a model too large for a tab refused before any download, a GGUF of an
// unknown architecture refused from its header, and a browser without WebGPU. Each returns 0 (ok) or 1 and prints one line.
import path from 'node:path';

const finished = () => ['done', 'error'].includes(document.documentElement.dataset.state);
const dataset = (page) => page.evaluate(() => ({ ...document.documentElement.dataset }));

// Waits for the reply being streamed to finish; returns its text (without the meta line) and the
// rate line under the chat.
async function lastReply(page) {
  await page.waitForFunction(() => {
    const m = [...document.querySelectorAll('.msg.assistant')].at(-1);
    return m && !m.classList.contains('streaming') && (m.querySelector('.meta') || m.classList.contains('error'));
  }, null, { timeout: 480000 });
  return page.evaluate(() => {
    const m = [...document.querySelectorAll('.msg.assistant')].at(-1);
    return { text: m.firstChild ? m.firstChild.textContent : '', rate: document.getElementById('rate').textContent };
  });
}

// SmolLM2-135M-Instruct (Q4_1 GGUF) answers a chat prompt through the contract, as it does
// natively, then a follow-up typed into the page, which reuses the first turn's KV cache.
export async function smollm2Chat(t) {
  const page = await t.browser.newPage({ viewport: { width: 1280, height: 860 } });
  await page.addInitScript(t.watchLongTasks);
  const t0 = Date.now();
  const prompt = encodeURIComponent('What is the capital of France?');
  await page.goto(`${t.origin}/index.html?model=/cache/SmolLM2-135M-Instruct.Q4_1.gguf&prompt=${prompt}&chat=1&max_tokens=24`);
  await page.waitForFunction(finished, null, { timeout: 480000 });
  const state = await dataset(page);
  const result = await page.evaluate(() => window.llama4Result);
  let second = { text: '', rate: '' };
  if (state.state === 'done') {
    await page.fill('#prompt', 'And the capital of Italy?');
    await page.press('#prompt', 'Enter');
    second = await lastReply(page);
  }
  const longest = await t.longestTask(page);
  await page.screenshot({ path: path.join(t.artifacts, 'smollm2-chat.png') });
  await page.close();
  const ok = state.state === 'done' && result && result.text.includes('Paris') && second.text.includes('Rome') &&
    /reused from the previous turn/.test(second.rate) && longest < t.MAX_TASK_MS;
  console.log(`smollm2-chat: ${ok ? 'ok' : 'FAIL'} in ${((Date.now() - t0) / 1000).toFixed(1)} s; longest page-thread task ${longest.toFixed(0)} ms; ` +
    (result ? `${JSON.stringify(result.text)}; prefill ${result.prefill_tok_s.toFixed(1)} tok/s, decode ${result.decode_tok_s.toFixed(1)} tok/s; ` : `state ${state.state} ${state.error || ''}; `) +
    `follow-up ${JSON.stringify(second.text)} (${second.rate})`);
  return ok ? 0 : 1;
}

// The fixture GGUF dropped onto the page as a file, then a message sent from the compose box.
export async function dropGguf(t) {
  const page = await t.browser.newPage();
  await page.goto(`${t.origin}/index.html`);
  await page.waitForFunction(finished);
  await page.evaluate(async (url) => {
    const blob = await (await fetch(url)).blob();
    const dt = new DataTransfer();
    dt.items.add(new File([blob], 'model-f32.gguf'));
    window.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt }));
    window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt }));
  }, '/fixtures/llama4_gguf/model-f32.gguf');
  await page.waitForFunction(() => /Loaded|rror/.test(document.getElementById('load-status').textContent), null, { timeout: 120000 });
  const loadStatus = await page.textContent('#load-status');
  let reply = { text: '' };
  if (loadStatus.startsWith('Loaded')) {
    await page.fill('#max-tokens', '6');
    await page.uncheck('#chat');
    await page.fill('#prompt', 'hello');
    await page.click('#generate');
    reply = await lastReply(page);
  }
  const overlayHidden = await page.evaluate(() => document.getElementById('drop-overlay').hidden);
  await page.close();
  const ok = loadStatus.startsWith('Loaded model-f32.gguf') && reply.text.length > 0 && overlayHidden;
  console.log(`drop-gguf: ${ok ? 'ok' : 'FAIL'}; ${loadStatus}; reply ${JSON.stringify(reply.text)}`);
  return ok ? 0 : 1;
}

// A 5 GiB GGUF (the test server answers HEAD with that size): refused with a message naming the
// limit before a single byte of it is requested.
export async function tooBig(t) {
  const page = await t.browser.newPage();
  t.counts.get = 0;
  await page.goto(`${t.origin}/index.html?model=/huge/model.gguf&prompt_ids=1&max_tokens=1`);
  await page.waitForFunction(finished, null, { timeout: 60000 });
  const state = await dataset(page);
  const shown = await page.textContent('#load-status');
  await page.close();
  const ok = state.state === 'error' && /5\.00 GiB .* exceed the 3\.00 GiB a browser tab can hold/.test(state.error) &&
    shown === state.error && t.counts.get === 0;
  console.log(`too-big: ${ok ? 'ok' : 'FAIL'}; ${t.counts.get} downloads; ${JSON.stringify(state.error)}`);
  return ok ? 0 : 1;
}

// A 512 MiB GGUF of an architecture the runtime does not run: refused from its header (a Range
// request of 1 MiB) with the runtime's own message, not after the whole download.
export async function unknownArch(t) {
  const page = await t.browser.newPage();
  t.counts.mambaBytes = 0;
  await page.goto(`${t.origin}/index.html?model=/mamba/model.gguf&prompt_ids=1&max_tokens=1`);
  await page.waitForFunction(finished, null, { timeout: 60000 });
  const state = await dataset(page);
  await page.close();
  const ok = state.state === 'error' && state.error.includes('unknown architecture `mamba4` (supported: llama, llama4)') &&
    t.counts.mambaBytes <= 2 ** 20;
  console.log(`unknown-arch: ${ok ? 'ok' : 'FAIL'}; ${t.counts.mambaBytes} of 536870912 bytes sent; ${JSON.stringify(state.error)}`);
  return ok ? 0 : 1;
}

// A browser without WebGPU: the page says so in a banner instead of failing silently.
export async function noWebgpu(t) {
  const page = await t.browser.newPage();
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
  await page.goto(`${t.origin}/index.html`);
  await page.waitForFunction(finished, null, { timeout: 60000 });
  const state = await dataset(page);
  const banner = await page.evaluate(() => { const b = document.getElementById('fatal'); return b.hidden ? '' : b.textContent; });
  await page.screenshot({ path: path.join(t.artifacts, 'no-webgpu.png') });
  await page.close();
  const ok = state.state === 'error' && banner.includes('no WebGPU') && state.error === banner;
  console.log(`no-webgpu: ${ok ? 'ok' : 'FAIL'}; ${JSON.stringify(banner.slice(0, 80))}`);
  return ok ? 0 : 1;
}

// The benchmark card through the contract (?bench=P,N,R) on SmolLM2: llama-bench's pp32 and tg8
// rows, two samples each, with the rates they were timed at, shown in the table.
export async function benchCard(t) {
  const page = await t.browser.newPage({ viewport: { width: 1280, height: 900 } });
  const t0 = Date.now();
  await page.goto(`${t.origin}/index.html?model=/cache/SmolLM2-135M-Instruct.Q4_1.gguf&bench=32,8,2`);
  await page.waitForFunction(finished, null, { timeout: 480000 });
  const state = await dataset(page);
  const r = await page.evaluate(() => window.llama4Bench);
  const rows = await page.evaluate(() => [...document.querySelectorAll('#bench-rows tr')].map((tr) => tr.textContent));
  await page.screenshot({ path: path.join(t.artifacts, 'bench.png'), fullPage: true });
  await page.close();
  const tests = r ? r.tests : [];
  const [pp, tg] = [tests.find((x) => x.test === 'pp32'), tests.find((x) => x.test === 'tg8')];
  // each sample's rate is its tokens over its time; the average is theirs
  const consistent = (x, tokens) => x && x.samples_ns.length === 2 && x.samples_ts.length === 2 &&
    x.samples_ns.every((ns, i) => ns > 0 && Math.abs(x.samples_ts[i] - tokens * 1e9 / ns) <= 1e-9 * x.samples_ts[i]) &&
    Math.abs(x.avg_ts - (x.samples_ts[0] + x.samples_ts[1]) / 2) <= 1e-9 * x.avg_ts;
  const ok = state.state === 'done' && tests.length === 2 && pp && pp.n_prompt === 32 && pp.n_gen === 0 &&
    tg && tg.n_gen === 8 && tg.n_prompt === 0 && consistent(pp, 32) && consistent(tg, 8) &&
    r.dispatches_per_token > 0 && rows.length === 2 && rows[0].startsWith('pp32') && rows[1].startsWith('tg8');
  console.log(`bench-card: ${ok ? 'ok' : 'FAIL'} in ${((Date.now() - t0) / 1000).toFixed(1)} s; ` +
    (r ? tests.map((x) => `${x.test} ${x.avg_ts.toFixed(2)} ± ${x.stddev_ts.toFixed(2)} tok/s`).join(', ') +
      `; ${r.dispatches_per_token} dispatches a decode step; table ${JSON.stringify(rows)}` : `state ${state.state} ${state.error || ''}`));
  return ok ? 0 : 1;
}
