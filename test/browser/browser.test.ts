/**
 * The library in a browser: headless Chromium loads dist/ as plain ES modules from a local
 * server, awaits ready() (which compiles the WebAssembly kernels and starts the Web Worker pool
 * asynchronously, as browsers require), reproduces a PyTorch fixture through the public API,
 * and gets identical results from the pool and from one thread.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, normalize, extname } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ROOT } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.json': 'application/json', '.html': 'text/html', '.map': 'application/json' };

const PAGE = `<!doctype html><meta charset="utf-8"><title>recurrent</title>
<script type="module">
import * as R from '/dist/index.js';
window.result = (async () => {
  const before = R.backendInfo().name;
  await R.ready();
  const info = R.backendInfo();
  const fx = await (await fetch('/test/fixtures/torch/lstm_2layer_bidir_h0.json')).json();
  const t = (a, req) => R.tensor(Float32Array.from(a.data), a.shape, { requiresGrad: !!req });
  const c = fx.config;
  const m = new R.LSTM({ inputSize: c.input_size, hiddenSize: c.hidden_size, numLayers: c.num_layers, bidirectional: c.bidirectional });
  m.loadStateDict(Object.fromEntries(Object.entries(fx.params).map(([k, v]) => [k, t(v)])));
  const x = t(fx.input, true);
  const [out, [hN, cN]] = m.forward(x, [t(fx.h_0), t(fx.c_0)]);
  out.mul(t(fx.r_output)).sum().add(hN.mul(t(fx.r_h_n)).sum()).add(cN.mul(t(fx.r_c_n)).sum()).backward();
  const worst = (a, b) => Math.max(...Array.from(a.data, (v, i) => Math.abs(v - b.data[i]) / (1e-5 + 1e-4 * Math.abs(b.data[i]))));
  const grads = Object.fromEntries(m.namedParameters());
  const ratios = [worst(out, fx.output), worst(hN, fx.h_n), worst(cN, fx.c_n), worst(x.grad, fx.grads.input),
    ...Object.keys(fx.params).map((k) => worst(grads[k].grad, fx.grads[k]))];
  // big enough for the worker pool: the same results on every thread count
  const run = () => {
    R.manualSeed(9);
    const big = new R.LSTM({ inputSize: 32, hiddenSize: 64, numLayers: 2 });
    const xb = R.randn([16, 8, 32], { requiresGrad: true });
    const [o] = big.forward(xb);
    o.mul(o).sum().backward();
    // generation token by token: on several threads the workers compute each next step ahead
    const model = new R.SequenceModel({ embedding: { numEmbeddings: 65, embeddingDim: 64 }, rnn: { kind: 'lstm', inputSize: 64, hiddenSize: 256 }, head: { outFeatures: 65 } });
    const st = model.stepper();
    let s = null;
    const logits = [];
    for (let i = 0; i < 6; i++) {
      const [lg, next] = st.step((i * 7) % 65, s);
      s = next;
      logits.push(...lg.data);
    }
    // and generation in one call, split by hidden units, every thread drawing each token
    const [ids, after] = st.generate(3, 40, s, { temperature: 0.9 }, new R.Generator(4));
    logits.push(...ids, ...after[0].data);
    st.dispose();
    // two stacked layers, in one call too
    const deep = new R.SequenceModel({ embedding: { numEmbeddings: 65, embeddingDim: 64 }, rnn: { kind: 'gru', inputSize: 64, hiddenSize: 256, numLayers: 2 }, head: { outFeatures: 65 } });
    const st2 = deep.stepper();
    const [ids2, after2] = st2.generate(5, 30, null, { temperature: 0.9 }, new R.Generator(5));
    logits.push(...ids2, ...after2.data);
    st2.dispose();
    return [...o.data, ...xb.grad.data, ...big.parameters()[1].grad.data, ...logits];
  };
  const many = run();
  R.setNumThreads(1);
  const one = run();
  R.setNumThreads(info.threads);
  const threadsIdentical = many.length === one.length && many.every((v, i) => v === one[i]);
  return { before, info, worstRatio: Math.max(...ratios), isolated: self.crossOriginIsolated, threadsIdentical };
})();
</script>`;

function serve(): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // cross-origin isolation, so SharedArrayBuffer exists as it would on a real deployment
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    if (url.pathname === '/') {
      res.setHeader('Content-Type', 'text/html');
      res.end(PAGE);
      return;
    }
    const file = normalize(join(ROOT, url.pathname));
    if (!file.startsWith(ROOT) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('in a browser (headless Chromium)', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)` }, () => {
  let server: Server;
  before(async () => {
    server = await serve();
  });
  after(() => server.close());

  it('loads the WebAssembly kernels with ready() and reproduces a PyTorch fixture', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      const r = await page.evaluate(() => (window as unknown as { result: Promise<unknown> }).result) as {
        before: string; info: { name: string; wasm: string | null; threads: number; notes: string[] }; worstRatio: number; isolated: boolean;
        threadsIdentical: boolean;
      };
      console.log(`browser: ${JSON.stringify(r.info)}, crossOriginIsolated=${r.isolated}, worst error ratio ${r.worstRatio.toFixed(3)}`);
      assert.deepEqual(errors, []);
      assert.equal(r.info.name, 'wasm', `backend info: ${JSON.stringify(r.info)}`);
      assert.ok(r.info.wasm === 'simd' || r.info.wasm === 'relaxed-simd');
      assert.ok(r.worstRatio <= 1, `worst |a - b| / (1e-5 + 1e-4 |b|) = ${r.worstRatio}`);
      // a cross-origin-isolated page with several cores gets the Web Worker pool
      assert.ok(r.info.threads >= 2, `threads: ${r.info.threads}`);
      assert.equal(r.threadsIdentical, true, 'results differ between thread counts');
    } finally {
      await browser.close();
    }
  });
});
