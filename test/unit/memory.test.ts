/**
 * The kernels' memory when a program drops what it made without disposing of it: steppers never
 * disposed, forwards with gradients on whose graphs are never used, and memory that cannot grow.
 * Packed weights past their budget are evicted and packed again; training caches past theirs are
 * copied out; a call that meets a full memory releases what it does not use and starts over.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  LSTM, GRU, Embedding, Linear, randn, noGrad, manualSeed, Generator, setBackend, listBackends, wasmControls, referenceBackend, createWasmTestBackend,
  type RecurrentDims,
} from 'recurrent/internal';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

const hasWasm = listBackends().includes('wasm');

describe('steppers that are never disposed', { skip: !hasWasm }, () => {
  it('5,000 of an LSTM(64, 256), no forced garbage collection: RSS stays under 500 MB and the process works', () => {
    const script = `
      const { LSTM, randn, noGrad, matmul, referenceBackend, getBackend } = await import('recurrent/internal');
      const lstm = new LSTM({ inputSize: 64, hiddenSize: 256 });
      const x = randn([64]);
      let peak = 0;
      for (let i = 0; i < 5000; i++) {
        const s = lstm.stepper();
        noGrad(() => s.step(x));
        if (i % 250 === 0) peak = Math.max(peak, process.memoryUsage().rss);
      }
      peak = Math.max(peak, process.memoryUsage().rss);
      const [out] = lstm.forward(randn([5, 3, 64]));
      const a = randn([300, 300]), b = randn([300, 300]);
      const c = matmul(a, b);
      const want = new Float32Array(300 * 300);
      referenceBackend.gemm(false, false, 300, 300, 300, a.data, 0, b.data, 0, want, 0, false);
      const worst = c.data.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);
      console.log(JSON.stringify({ peakMB: peak / 2 ** 20, shape: out.shape, worst }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim()) as { peakMB: number; shape: number[]; worst: number };
    assert.ok(res.peakMB < 500, `peak RSS ${res.peakMB.toFixed(0)} MB`);
    assert.deepEqual(res.shape, [5, 3, 256]);
    assert.ok(res.worst < 1e-3, `matmul differs by ${res.worst}`);
  });

  it('evicted packed weights are packed again when used: the same numbers, stepping, generating and stacked', () => {
    setBackend('wasm');
    const controls = wasmControls()!;
    manualSeed(4);
    const emb = new Embedding({ numEmbeddings: 30, embeddingDim: 16 });
    const lower = new GRU({ inputSize: 16, hiddenSize: 32, numLayers: 2 });
    const head = new Linear({ inFeatures: 32, outFeatures: 30 });
    const other = new LSTM({ inputSize: 16, hiddenSize: 24 });
    /** The most bytes packed at once while it ran. */
    let peak = 0;
    const run = (): number[][] => {
      const out: number[][] = [];
      peak = 0;
      const a = lower.stepperAround({ embedding: emb.weight, head: { weight: head.weight, bias: head.bias } });
      const b = other.stepper();
      noGrad(() => {
        let s = null;
        for (let t = 0; t < 6; t++) {
          const r = a.run(Int32Array.of((t * 7) % 30), 1, true, s, 'test');
          s = r.state;
          out.push(Array.from(r.logits!));
          out.push(Array.from(b.step(emb.weight.slice(0, t, t + 1).reshape([16]))[0].data));
          peak = Math.max(peak, controls.packedBytes());
        }
        const g = a.generate(3, 20, s, { temperature: 1, topK: 0, topP: 1 }, new Generator(9), 'test');
        out.push(Array.from(g.ids), Array.from(g.logits));
      });
      a.dispose();
      b.dispose();
      return out;
    };
    const roomy = run();
    const both = peak;
    const old = controls.setPackedBudget(1); // every use evicts every other stepper's weights
    try {
      assert.deepEqual(run(), roomy);
      assert.ok(peak > 0 && peak < both, `packed at most ${peak} bytes at once, against ${both}: the other stepper's were evicted`);
    } finally {
      controls.setPackedBudget(old);
    }
  });
});

describe('memory that cannot grow', { skip: !hasWasm || createWasmTestBackend(1 << 24) === null }, () => {
  const r = new Generator(3);
  const rnd = (n: number): Float32Array => Float32Array.from({ length: n }, () => r.random() * 2 - 1);
  /** The largest difference, relative to the largest value expected. */
  const worst = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
    let m = 0;
    let top = 0;
    for (let i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i]! - b[i]!));
      top = Math.max(top, Math.abs(b[i]!));
    }
    return m / top;
  };
  it('a call that meets it releases the packed weights and caches it does not use and starts over; too big a call fails, and the next one works', () => {
    const be = createWasmTestBackend(16 * 2 ** 20)!; // 16 MiB at most
    be.setPackedBudget(1 << 30);
    be.setResidentBudget(1 << 30);
    const dims: RecurrentDims = { kind: 'lstm', T: 1, B: 1, I: 64, H: 128, P: 0 };
    const steppers = Array.from({ length: 20 }, () => {
      const w = { wih: rnd(512 * 64), whh: rnd(512 * 128), bih: rnd(512), bhh: rnd(512), whr: null };
      return { w, st: be.recurrentStepper(dims, w) };
    });
    const x = rnd(64), h = rnd(128), c = rnd(128);
    const first = steppers.map(({ st }) => Array.from(st.run(x, 1, 1, h, c).hN)); // 20 x 400 KiB packed: most of the memory
    assert.ok(be.packedBytes() > 7 * 2 ** 20, `${be.packedBytes()} bytes packed`);
    // a training cache too, resident
    const fd: RecurrentDims = { kind: 'gru', T: 20, B: 8, I: 16, H: 64, P: 0 };
    const fw = { wih: rnd(192 * 16), whh: rnd(192 * 64), bih: rnd(192), bhh: rnd(192), whr: null };
    const fx = rnd(20 * 8 * 16), fh = rnd(8 * 64);
    const f = be.recurrentForward(fd, fw, fx, fh, null, false, true);
    assert.ok(be.residentBytes() > 0);
    // a product whose scratch (about 9 MiB) does not fit beside them
    const M = 700, K = 1000, N = 700;
    const a = rnd(M * K), b = rnd(K * N);
    const got = new Float32Array(M * N), want = new Float32Array(M * N);
    be.gemm(false, false, M, N, K, a, 0, b, 0, got, 0, false);
    referenceBackend.gemm(false, false, M, N, K, a, 0, b, 0, want, 0, false);
    assert.ok(worst(got, want) < 1e-5);
    assert.equal(be.residentBytes(), 0, 'the cache was copied out');
    // the cache still serves its backward, and the steppers their steps (packed again)
    const dOut = rnd(20 * 8 * 64);
    const g = be.recurrentBackward(fd, fw, fx, fh, null, false, f, dOut, null, null);
    const gr = referenceBackend.recurrentBackward(fd, fw, fx, fh, null, false, referenceBackend.recurrentForward(fd, fw, fx, fh, null, false, true), dOut, null, null);
    assert.ok(worst(g.dwhh!, gr.dwhh!) < 1e-4 && worst(g.dx!, gr.dx!) < 1e-4, `${worst(g.dwhh!, gr.dwhh!)} ${worst(g.dx!, gr.dx!)}`);
    steppers.forEach(({ st }, i) => assert.deepEqual(Array.from(st.run(x, 1, 1, h, c).hN), first[i]));
    // more than the memory can ever hold: a clear error, and the backend goes on
    const big = new Float32Array(3000 * 3000);
    assert.throws(() => be.gemm(false, false, 3000, 3000, 3000, big, 0, big, 0, new Float32Array(9e6), 0, false), /wasm backend: cannot grow memory to \d+ MiB \(the most is 16 MiB/);
    const small = new Float32Array(9);
    be.gemm(false, false, 3, 3, 3, Float32Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1), 0, Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9), 0, small, 0, false);
    assert.deepEqual(Array.from(small), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    steppers.forEach(({ st }) => st.dispose());
    assert.equal(be.packedBytes(), 0);
  });
});

describe('forwards with gradients on whose graphs are dropped (evaluation without noGrad)', { skip: !hasWasm }, () => {
  it('keep at most the cache budget resident; the wasm memory stays bounded', () => {
    setBackend('wasm');
    const controls = wasmControls()!;
    manualSeed(5);
    const lstm = new LSTM({ inputSize: 64, hiddenSize: 256 });
    const x = randn([64, 32, 64]);
    for (let i = 0; i < 40; i++) lstm.forward(x); // about 15 MB of cache each: 600 MB were all kept
    assert.ok(controls.residentBytes() <= 256 * 2 ** 20, `${controls.residentBytes()} bytes resident`);
    assert.ok(controls.heap.size() < 450 * 2 ** 20, `the memory grew to ${controls.heap.size() / 2 ** 20} MiB`);
    // training still works: a forward's cache, spilled or not, serves its backward
    const [out] = lstm.forward(x);
    out.sum().backward();
    assert.ok(lstm.parameters().every((p) => p.grad && Number.isFinite(p.grad.data[0]!)));
  });
});

describe('a soak (bench/soak.mjs at a smaller count)', { skip: !hasWasm }, () => {
  // what a leak keeps shows in the JavaScript heap after a full collection (objects) or in the
  // RSS (the kernels' memory); the RSS also moves with the collector's own rhythm, hence the margin
  it('3,000 lstm-ts training steps, then 30,000 T=1 forwards with and without gradients: nothing kept, RSS flat', () => {
    const r = spawnSync(process.execPath, ['--expose-gc', join(ROOT, 'bench', 'soak.mjs'), '3000', '30000', '0.5'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim()) as Record<'train' | 'infer', { driftPct: number; warmMB: number; peakMB: number; heapGrowthMB: number }>;
    for (const phase of ['train', 'infer'] as const) {
      const p = res[phase];
      assert.ok(p.heapGrowthMB < 1, `${phase}: the heap kept ${p.heapGrowthMB} MB more over the second half`);
      assert.ok(p.driftPct < 10, `${phase}: RSS ${p.warmMB} MB once warmed up, ${p.peakMB} MB at most after`);
    }
  });
});
