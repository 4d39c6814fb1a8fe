// The benchmark card: `llama4-wgpu bench`'s tests (llama-bench's ppN prefill and tgN decode) on
// the loaded model, run by the worker, shown as a table of tokens per second.

const $ = (id) => document.getElementById(id);

export class Bench {
  constructor(call) {
    this.call = call; // one request to the worker
  }

  // A test started (`warm-up`, `pp128`, `tg32`, ...).
  onTest(name) {
    $('bench-status').textContent = name === 'warm-up' ? 'Compiling every pipeline (warm-up)…' : `Running ${name}…`;
  }

  options() {
    const list = (id) => $(id).value.split(',').map((v) => Number(v.trim())).filter((v) => Number.isInteger(v) && v >= 0);
    return { n_prompt: list('bench-p'), n_gen: list('bench-n'), repetitions: Number($('bench-r').value) };
  }

  // Runs `options` and fills the table; resolves to the worker's report.
  async run(options) {
    $('bench-run').disabled = true;
    $('bench-rows').replaceChildren();
    $('bench-table').hidden = true;
    try {
      const r = await this.call('bench', { options });
      for (const t of r.tests) {
        const tr = document.createElement('tr');
        const cells = [t.test, `${t.avg_ts.toFixed(2)} ± ${t.stddev_ts.toFixed(2)}`, `${(t.avg_ns / 1e6).toFixed(1)}`];
        for (const c of cells) {
          const td = document.createElement('td');
          td.textContent = c;
          tr.append(td);
        }
        $('bench-rows').append(tr);
      }
      $('bench-table').hidden = false;
      $('bench-status').textContent = `${r.adapter || 'WebGPU adapter'} · ${r.backend} · ${r.dispatches_per_token ?? '?'} ` +
        `dispatches per decode step, one submit · ${options.repetitions} repetitions`;
      return r;
    } catch (e) {
      $('bench-status').textContent = String(e.message || e);
      throw e;
    } finally {
      $('bench-run').disabled = false;
    }
  }
}
