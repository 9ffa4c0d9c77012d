#!/usr/bin/env node
// The machine's ceiling for 128-bit WebAssembly SIMD, and what it allows the lstm-gen workload.
// A loop of twelve independent 4-lane multiply-add chains (nothing read from memory) runs on one
// thread, then on every core at once (worker_threads, each its own instance): multiply-adds per
// second with relaxed SIMD's fused f32x4.relaxed_madd and with plain SIMD's mul + add. Whether
// the cores add up (two cores, or two hyperthreads of one) shows in the ratio.
// lstm-gen's floor follows: every generated token reads the whole 4H x H recurrent matrix once
// (one multiply-add per weight) plus the head, so no float32 kernel can generate faster than
// peak / (4H^2 + H*V) tokens a second on these cores.
//   node bench/ceiling.mjs [--json] [--seconds S]
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import v8 from 'node:v8';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

// one function per variant: twelve accumulators, n iterations, 4 lanes each; `step` updates a
const kernel = (name, step) => `
export function ${name}(n: i32): f32 {
  let a0 = f32x4.splat(1), a1 = f32x4.splat(1), a2 = f32x4.splat(1), a3 = f32x4.splat(1), a4 = f32x4.splat(1), a5 = f32x4.splat(1);
  let a6 = f32x4.splat(1), a7 = f32x4.splat(1), a8 = f32x4.splat(1), a9 = f32x4.splat(1), a10 = f32x4.splat(1), a11 = f32x4.splat(1);
  const m = f32x4.splat(0.9999999), c = f32x4.splat(1e-7);
  for (let i = 0; i < n; i++) {
    ${Array.from({ length: 12 }, (_, i) => `a${i} = ${step(`a${i}`)};`).join('\n    ')}
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  return f32x4.extract_lane(f32x4.add(s, f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11))), 0);
}
`;
const SOURCE = kernel('fused', (a) => `f32x4.relaxed_madd(${a}, m, c)`) + kernel('separate', (a) => `f32x4.add(f32x4.mul(${a}, m), c)`);
const LANES_PER_ITER = 12 * 4;

function instantiate(binary) {
  return new WebAssembly.Instance(new WebAssembly.Module(binary), { env: { abort() {} } }).exports;
}

if (!isMainThread) {
  const ex = instantiate(workerData.binary);
  parentPort.on('message', ({ fn, n }) => {
    ex[fn](n);
    parentPort.postMessage('done');
  });
  parentPort.postMessage('ready');
} else {
  const argv = process.argv.slice(2);
  const json = argv.includes('--json');
  const seconds = Number(argv.includes('--seconds') ? argv[argv.indexOf('--seconds') + 1] : 1);
  const asc = (await import('assemblyscript/asc')).default;
  const { binary, stderr } = await asc.compileString(SOURCE, { optimizeLevel: 3, runtime: 'stub', enable: ['simd', 'relaxed-simd'] });
  if (!binary) throw new Error(`bench/ceiling: compiling the probe failed: ${stderr.toString()}`);
  const ex = instantiate(binary);
  const cores = availableParallelism();
  const workers = await Promise.all(Array.from({ length: cores - 1 }, () => new Promise((resolve) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { binary } });
    w.once('message', () => resolve(w));
  })));
  const job = (w, fn, n) => new Promise((resolve) => {
    w.once('message', resolve);
    w.postMessage({ fn, n });
  });
  // iterations for about `seconds` on one thread
  const t0 = performance.now();
  ex.fused(1e6);
  const n = Math.max(1e6, Math.round((1e6 * seconds * 1000) / Math.max(1e-3, performance.now() - t0) / 5));
  const rows = [];
  for (const fn of ['fused', 'separate']) {
    let one = 0, all = 0;
    for (let rep = 0; rep < 5; rep++) {
      let t = performance.now();
      ex[fn](n);
      one = Math.max(one, (n * LANES_PER_ITER) / ((performance.now() - t) / 1000));
      t = performance.now();
      const others = workers.map((w) => job(w, fn, n));
      ex[fn](n);
      await Promise.all(others);
      all = Math.max(all, (cores * n * LANES_PER_ITER) / ((performance.now() - t) / 1000));
    }
    rows.push({ kernel: fn === 'fused' ? 'relaxed_madd (fused)' : 'mul + add', oneThreadGmacs: +(one / 1e9).toFixed(2), allCoresGmacs: +(all / 1e9).toFixed(2), cores, scaling: +(all / one).toFixed(2) });
  }
  for (const w of workers) w.terminate();
  // lstm-gen (BENCHMARKS.md): LSTM 64 -> 256, head 256 -> 65, the input projection a table lookup
  const H = 256, V = 65;
  const macsPerToken = 4 * H * H + H * V;
  const peak = rows[0].allCoresGmacs * 1e9;
  const gen = { workload: 'lstm-gen', macsPerToken, floorUsPerToken: +((macsPerToken / peak) * 1e6).toFixed(2), ceilingTokensPerS: Math.round(peak / macsPerToken) };
  if (json) {
    for (const r of rows) console.log(JSON.stringify(r));
    console.log(JSON.stringify(gen));
  } else {
    console.log('multiply-adds per second, 4-lane SIMD, no memory traffic (best of 5):');
    console.table(rows);
    console.log(`lstm-gen: ${macsPerToken} multiply-adds a token (4H^2 + H*V) -> at least ${gen.floorUsPerToken} us a token at that peak on ${cores} cores, at most ${gen.ceilingTokensPerS} tokens/s`);
  }
}
