/** The wasm kernels give bit-identical results whatever the thread count. */
import { describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { getBackend, setBackend, listBackends, backendInfo, setNumThreads, wasmControls, Generator, ThreadPool, gateCount, cellRule, CELL_RULES, type RecurrentDims } from 'recurrent/internal';
import { randomWeights } from './weights.js';


/**
 * Runs `runAll` on 1, 2 and 3 threads and asserts every output bit-identical; `name(i)` names
 * output i. The sequences are small: without lowering the threshold they would run on one
 * thread whatever the count, and every call big enough goes to the pool, as asked (not where
 * measured faster).
 */
function sameOnEveryThreadCount(runAll: () => Float32Array[], name: (i: number) => string): void {
  const threads = backendInfo().threads;
  const minWork = wasmControls()!.setSequenceMinStepWork(0);
  const adaptive = wasmControls()!.setAdaptiveThreads(false);
  try {
    setNumThreads(1);
    const one = runAll();
    for (const n of [2, 3]) {
      setNumThreads(n);
      const many = runAll();
      one.forEach((a, i) => assert.deepEqual(many[i], a, `${name(i)} differs with ${n} threads`));
    }
  } finally {
    setNumThreads(threads);
    wasmControls()!.setSequenceMinStepWork(minWork);
    wasmControls()!.setAdaptiveThreads(adaptive);
  }
}

describe('thread count does not change results', { skip: !listBackends().includes('wasm') || backendInfo().threads < 2 }, () => {
  it('gemm, the sequence kernels, stepping (with embedding and head too) and generation, 1 vs 2 vs 3 threads', () => {
    setBackend('wasm');
    const be = getBackend();
    const runAll = (): Float32Array[] => {
      const outs: Float32Array[] = [];
      const r = new Generator(5);
      const rnd = (n: number): Float32Array => Float32Array.from({ length: n }, () => r.random() * 2 - 1);
      // the last two: one row split by columns, and rows split so that one thread gets a single row
      for (const [ta, tb, M, N, K] of [[false, true, 301, 517, 67], [true, false, 130, 45, 900], [false, false, 9, 700, 200], [false, true, 1, 1024, 300], [false, true, 13, 8, 2600]] as const) {
        const c = new Float32Array(M * N);
        be.gemm(ta, tb, M, N, K, rnd(M * K), 0, rnd(K * N), 0, c, 0, false);
        outs.push(c);
      }
      // a layer's weight, packed once: its rows split between threads (13 rows: one thread's share
      // a single row on three), added onto C, then a second call on the same packed weight
      {
        const stamp = { owner: {}, version: 0 };
        const w = rnd(70 * 300);
        for (const M of [13, 40]) {
          const c = rnd(M * 70);
          be.gemm(false, true, M, 70, 300, rnd(M * 300), 0, w, 0, c, 0, true, stamp);
          outs.push(c);
        }
      }
      for (const kind of ['lstm', 'gru', 'rnn_tanh'] as const) {
        const dims: RecurrentDims = { kind, T: 9, B: 37, I: 30, H: 61, P: kind === 'lstm' ? 13 : 0 };
        const G = kind === 'lstm' ? 4 : kind === 'gru' ? 3 : 1;
        const Hout = dims.P || dims.H;
        const w = { wih: rnd(G * 61 * 30), whh: rnd(G * 61 * Hout), bih: rnd(G * 61), bhh: rnd(G * 61), whr: dims.P ? rnd(dims.P * 61) : null };
        const x = rnd(9 * 37 * 30), h0 = rnd(37 * Hout), c0 = kind === 'lstm' ? rnd(37 * 61) : null;
        for (const reverse of [false, true]) {
          const f = be.recurrentForward(dims, w, x, h0, c0, reverse, true);
          const g = be.recurrentBackward(dims, w, x, h0, c0, reverse, f, rnd(9 * 37 * Hout), rnd(37 * Hout), c0 ? rnd(37 * 61) : null);
          outs.push(f.out as Float32Array, g.dx as Float32Array, g.dwih as Float32Array, g.dwhh as Float32Array, g.dbih as Float32Array, g.dh0 as Float32Array);
          if (g.dwhr) outs.push(g.dwhr as Float32Array);
        }
      }
      // an input wider than the products' K blocks (256), five rows: on three threads one gets a
      // single row, whose input projection then takes the one-row path (each thread projects its own rows)
      {
        const dims: RecurrentDims = { kind: 'lstm', T: 6, B: 5, I: 300, H: 9, P: 0 }; // 334K multiply-adds: enough for threads
        const w = { wih: rnd(36 * 300), whh: rnd(36 * 9), bih: rnd(36), bhh: rnd(36), whr: null };
        const x = rnd(6 * 5 * 300), h0 = rnd(5 * 9), c0 = rnd(5 * 9);
        const f = be.recurrentForward(dims, w, x, h0, c0, false, true);
        const g = be.recurrentBackward(dims, w, x, h0, c0, false, f, rnd(6 * 5 * 9), null, null);
        outs.push(f.out as Float32Array, g.dx as Float32Array, g.dwih as Float32Array, g.dwhh as Float32Array);
      }
      // additive attention's scores: rows split between threads, v's gradient summed in row order
      {
        const N = 64, S = 12, H = 256;
        const q = rnd(N * H), k = rnd(N * S * H), v = rnd(H), g = rnd(N * S);
        const scores = new Float32Array(N * S), act = new Float32Array(N * S * H);
        be.additiveScores(q, k, v, N, S, H, scores, act);
        const dq = new Float32Array(N * H), dk = new Float32Array(N * S * H), dv = new Float32Array(H);
        be.additiveScoresBackward(act, v, g, N, S, H, dq, dk, dv);
        outs.push(scores, act, dq, dk, dv);
      }
      // a whole attention step (masked, its bias's gradient summed in row order) and a batch of products
      {
        const N = 67, S = 12, H = 130;
        const q = rnd(N * H), k = rnd(N * S * H), values = rnd(N * S * H), v = rnd(H);
        const mask = Int32Array.from({ length: N * S }, (_, i) => (i % 5 === 3 ? 1 : 0));
        const w = new Float32Array(N * S), c = new Float32Array(N * H);
        be.additiveAttention(q, k, values, v, 0.25, mask, N, S, H, w, c);
        const dq = new Float32Array(N * H), dk = new Float32Array(N * S * H), dvals = new Float32Array(N * S * H), dv = new Float32Array(H);
        const db = be.additiveAttentionBackward(q, k, values, v, w, rnd(N * H), rnd(N * S), N, S, H, dq, dk, dvals, dv);
        const prod = new Float32Array(N * H);
        be.gemmBatched(false, false, N, 1, H, S, w, values, prod);
        outs.push(w, c, dq, dk, dvals, dv, Float32Array.of(db), prod);
      }
      // the attention decoder: rows split between threads, the weight gradients' products and row sums after
      for (const kind of ['gru', 'lstm'] as const) {
        const T = 7, N = 37, E = 19, H = 48, S = 9, GH = (kind === 'lstm' ? 4 : 3) * H;
        const w = { wih: rnd(GH * (E + H)), whh: rnd(GH * H), bih: rnd(GH), bhh: rnd(GH), wa: rnd(H * H), ba: rnd(H), va: rnd(H), vb: 0.1 };
        const x = rnd(T * N * E), h0 = rnd(N * H), c0 = kind === 'lstm' ? rnd(N * H) : null, keys = rnd(N * S * H), pk = rnd(N * S * H);
        const mask = Int32Array.from({ length: N * S }, (_, i) => (i % S > 6 ? 1 : 0));
        const d = { kind, T, N, E, H, S };
        const f = be.decoderForward(d, w, x, h0, c0, keys, pk, mask, true);
        const g = be.decoderBackward(d, w, x, h0, c0, keys, pk, f, rnd(T * N * H), rnd(T * N * H), rnd(T * N * S), rnd(N * H), c0 ? rnd(N * H) : null);
        outs.push(f.out as Float32Array, f.weights as Float32Array, f.context as Float32Array);
        for (const a of [g.dx, g.dh0, g.dkeys, g.dpk, g.dwih, g.dwhh, g.dbih, g.dbhh, g.dwa, g.dba, g.dva]) outs.push(a as Float32Array);
        outs.push(Float32Array.of(g.dvb));
      }
      // a padded batch (row lengths in the kernel), both directions, the gradients added onto targets
      for (const kind of ['lstm', 'gru'] as const) {
        const G = kind === 'lstm' ? 4 : 3;
        const dims: RecurrentDims = { kind, T: 17, B: 9, I: 40, H: 64, P: 0 };
        const w = { wih: rnd(G * 64 * 40), whh: rnd(G * 64 * 64), bih: rnd(G * 64), bhh: rnd(G * 64), whr: null };
        const x = rnd(17 * 9 * 40), h0 = rnd(9 * 64), c0 = kind === 'lstm' ? rnd(9 * 64) : null;
        const lengths = Int32Array.from([17, 3, 9, 1, 17, 12, 5, 16, 8]);
        for (const reverse of [false, true]) {
          const f = be.recurrentForward(dims, w, x, h0, c0, reverse, true, lengths);
          const into = { dwih: rnd(G * 64 * 40), dwhh: rnd(G * 64 * 64), dbih: rnd(G * 64), dbhh: rnd(G * 64), dwhr: null };
          const g = be.recurrentBackward(dims, w, x, h0, c0, reverse, f, rnd(17 * 9 * 64), rnd(9 * 64), c0 ? rnd(9 * 64) : null, undefined, lengths, into);
          outs.push(f.out as Float32Array, f.hN as Float32Array, g.dx as Float32Array, g.dh0 as Float32Array, into.dwih, into.dwhh, into.dbih, into.dbhh);
        }
      }
      // a layer's weights prepared once (stamped) and reused: one row and several
      for (const B of [1, 6]) {
        const dims: RecurrentDims = { kind: 'gru', T: 5, B, I: 70, H: 256, P: 0 };
        const w = { wih: rnd(768 * 70), whh: rnd(768 * 256), bih: rnd(768), bhh: rnd(768), whr: null, stamp: { owner: {}, version: 0 } };
        const x = rnd(5 * B * 70), h0 = rnd(B * 256);
        be.recurrentForward(dims, w, x, h0, null, false, false);
        const f = be.recurrentForward(dims, w, x, h0, null, false, true);
        const g = be.recurrentBackward(dims, w, x, h0, null, false, f, rnd(5 * B * 256), null, null);
        outs.push(f.out as Float32Array, g.dx as Float32Array, g.dwih as Float32Array, g.dwhh as Float32Array, g.dh0 as Float32Array);
      }
      // one row of a long sequence, prepared: every step's input projection in one product per
      // thread, over more steps than a block of rows (60) and more inputs than a block of k (256)
      {
        const dims: RecurrentDims = { kind: 'lstm', T: 67, B: 1, I: 300, H: 40, P: 0 };
        const w = { wih: rnd(160 * 300), whh: rnd(160 * 40), bih: rnd(160), bhh: rnd(160), whr: null, stamp: { owner: {}, version: 0 } };
        const f = be.recurrentForward(dims, w, rnd(67 * 300).map((v) => v * 0.06), rnd(40), rnd(40), false, false);
        outs.push(f.out as Float32Array, f.hN as Float32Array, f.cN as Float32Array);
      }
      // one row stepped (generation): split by hidden units on several threads, a row split for more rows
      for (const kind of ['lstm', 'gru', 'rnn_tanh'] as const) {
        const H = kind === 'rnn_tanh' ? 520 : 272;
        const G = kind === 'lstm' ? 4 : kind === 'gru' ? 3 : 1;
        const sc = 1 / Math.sqrt(H);
        const w = { wih: rnd(G * H * 64).map((v) => v * sc), whh: rnd(G * H * H).map((v) => v * sc), bih: rnd(G * H), bhh: rnd(G * H), whr: null };
        const st = be.recurrentStepper({ kind, T: 1, B: 1, I: 64, H, P: 0 }, w);
        for (const [T, B] of [[1, 1], [3, 1], [2, 3]] as const) {
          const r = st.run(rnd(T * B * 64), T, B, rnd(B * H), kind === 'lstm' ? rnd(B * H) : null);
          outs.push(r.out as Float32Array, r.hN as Float32Array);
          if (r.cN) outs.push(r.cN as Float32Array);
        }
        st.dispose();
        // with an embedding (precomputed input rows) and a head split by columns (65: uneven)
        const V = 70, O = 65;
        const fused = be.recurrentStepper({ kind, T: 1, B: 1, I: 64, H, P: 0 }, w, { embedding: { weight: rnd(V * 64), V }, head: { weight: rnd(O * H).map((v) => v * sc), bias: rnd(O), O } });
        for (const [T, B] of [[1, 1], [3, 1], [2, 3]] as const) {
          const ids = Int32Array.from({ length: T * B }, (_, i) => (i * 29 + 3) % V);
          const r = fused.run(ids, T, B, rnd(B * H), kind === 'lstm' ? rnd(B * H) : null);
          outs.push(r.out as Float32Array, r.hN as Float32Array, r.logits as Float32Array);
        }
        // token by token, each call given the state the last one returned: on several threads the
        // workers compute each next step's recurrent product ahead, at the end of the call before
        let h: Float32Array | Float64Array = rnd(H);
        let c: Float32Array | Float64Array | null = kind === 'lstm' ? rnd(H) : null;
        for (let t = 0; t < 4; t++) {
          const r = fused.run(Int32Array.of((t * 13 + 5) % V), 1, 1, h, c);
          outs.push(r.hN as Float32Array, r.logits as Float32Array);
          h = r.hN;
          c = r.cN;
        }
        // a longer call from that state: the units split otherwise, what was computed ahead for
        // the last split must not be read
        {
          const r = fused.run(Int32Array.of(4, 9, 2), 3, 1, h, c);
          outs.push(r.out as Float32Array, r.logits as Float32Array);
        }
        // generation, whole in one call: every thread draws each token (the same one) itself
        for (const temperature of [1, 0]) {
          const u = Float64Array.from({ length: 50 }, () => r.random());
          const g = fused.generate(4, 50, rnd(H), kind === 'lstm' ? rnd(H) : null, { temperature, topK: 0, topP: 1 }, u);
          outs.push(Float32Array.from(g.ids), g.hN as Float32Array, g.logits as Float32Array);
        }
        // two layers stacked, in one call
        const upper = be.recurrentStepper({ kind, T: 1, B: 1, I: H, H, P: 0 }, { ...w, wih: rnd(G * H * H).map((v) => v * sc) }, { head: { weight: rnd(O * H).map((v) => v * sc), bias: rnd(O), O } });
        const lower = be.recurrentStepper({ kind, T: 1, B: 1, I: 64, H, P: 0 }, w, { embedding: { weight: rnd(V * 64), V } });
        const u2 = Float64Array.from({ length: 30 }, () => r.random());
        const two = lower.generate(5, 30, rnd(H), kind === 'lstm' ? rnd(H) : null, { temperature: 1, topK: 0, topP: 1 }, u2, [{ stepper: upper, h0: rnd(H), c0: kind === 'lstm' ? rnd(H) : null }]);
        outs.push(Float32Array.from(two.ids), two.hN as Float32Array, two.above[0]!.hN as Float32Array, two.logits as Float32Array);
        upper.dispose();
        lower.dispose();
        fused.dispose();
      }
      return outs;
    };
    sameOnEveryThreadCount(runAll, (i) => `output ${i}`);
  });
});

describe('thread count does not change gradients at any input width', { skip: !listBackends().includes('wasm') || backendInfo().threads < 2 }, () => {
  // A product with at most four columns (dW_ih for inputSize <= 4) takes the skinny path; split
  // by rows, a thread's share used to end in scalar (unfused) lanes where one thread used fused
  // ones. A series model (inputSize 1) then trained differently on 1, 2 and 3 threads.
  it('forward and every gradient, inputSize 1..8, every kind of cell, 1 vs 2 vs 3 threads', () => {
    setBackend('wasm');
    const be = getBackend();
    const runAll = (): Float32Array[] => {
      const outs: Float32Array[] = [];
      const r = new Generator(11);
      const rnd = (n: number): Float32Array => Float32Array.from({ length: n }, () => r.random() * 2 - 1);
      for (const kind of Object.keys(CELL_RULES) as RecurrentDims['kind'][]) {
        for (let I = 1; I <= 8; I++) {
          const T = 7, B = 29, H = 37;
          const dims: RecurrentDims = { kind, T, B, I, H, P: 0 };
          const w = randomWeights(kind, I, H, 0, true, rnd);
          const x = rnd(T * B * I), h0 = rnd(B * H), c0 = cellRule(kind).cell ? rnd(B * H) : null;
          const f = be.recurrentForward(dims, w, x, h0, c0, false, true);
          const g = be.recurrentBackward(dims, w, x, h0, c0, false, f, rnd(T * B * H), rnd(B * H), c0 ? rnd(B * H) : null);
          const none = new Float32Array(0);
          outs.push(f.out as Float32Array, g.dx as Float32Array, g.dwih as Float32Array, (g.dwhh ?? none) as Float32Array, (g.dbih ?? none) as Float32Array,
            (g.dbhh ?? none) as Float32Array, g.dh0 as Float32Array, (g.dc0 ?? none) as Float32Array,
            ...Object.values(g.dextra ?? {}).map((a) => a as Float32Array));
        }
      }
      return outs;
    };
    sameOnEveryThreadCount(runAll, (i) => `output ${i}`);
  });
});

describe('barriers', { skip: !listBackends().includes('wasm') || backendInfo().threads < 2 }, () => {
  // A thread that waits long at a kernel's barrier (a worker still waking, or booting) sleeps in
  // memory.atomic.wait; compiled by V8's baseline compiler (Liftoff), an inlined wait lost the
  // barrier loop's registers and that thread slept for good. The pool starts on first use: the
  // first calls run while the worker boots, the later ones wake it from its sleep between calls.
  it('kernels run while the worker boots and after, under the baseline compiler too, and finish', () => {
    const script = `
      const { getBackend, wasmControls } = await import('recurrent/internal');
      const be = getBackend();
      wasmControls().setAdaptiveThreads(false);
      const T = 24, B = 64, I = 1, H = 32;
      const dims = { kind: 'lstm', T, B, I, H, P: 0 };
      const f32 = (n) => new Float32Array(n).fill(0.01);
      const w = { wih: f32(4 * H * I), whh: f32(4 * H * H), bih: f32(4 * H), bhh: f32(4 * H), whr: null };
      wasmControls().setSequenceMinStepWork(0);
      const t0 = Date.now();
      for (let i = 0; i < 200 && Date.now() - t0 < 3000; i++) {
        const f = be.recurrentForward(dims, w, f32(T * B * I), f32(B * H), f32(B * H), false, true);
        be.recurrentBackward(dims, w, f32(T * B * I), f32(B * H), f32(B * H), false, f, f32(T * B * H), null, null);
        const until = Date.now() + 1; while (Date.now() < until); // the worker goes to sleep between calls
      }
      console.log('done');`;
    for (const flags of [[], ['--liftoff-only']]) {
      const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], {
        encoding: 'utf8', timeout: 30000, env: { ...process.env, RECURRENT_NUM_THREADS: '2' },
      });
      assert.equal(r.signal, null, `hung (killed by ${r.signal}) with flags [${flags.join(' ')}]`);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'done');
    }
  });
});

describe('a pool whose workers never start', () => {
  it('starts them on first use, runs jobs on the calling thread meanwhile, and gives up on them after its time limit', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
    let spawned = 0;
    let terminated = 0;
    const spawn = (): { terminate(): void } => {
      spawned++;
      return { terminate: () => void terminated++ };
    };
    const pool = new ThreadPool(spawn, null as unknown as WebAssembly.Module, memory, 0, 3, true, false, 200);
    assert.equal(spawned, 0, 'nothing started before it is needed');
    assert.equal(pool.size, 3);
    const t0 = Date.now();
    assert.equal(pool.threadsNow(), 1, 'while they boot, the calling thread alone');
    assert.equal(spawned, 2);
    assert.ok(Date.now() - t0 < 100, 'without waiting for them');
    assert.equal(pool.waitStarted(), false);
    assert.ok(Date.now() - t0 >= 190, 'waited for them up to the time limit');
    assert.match(pool.failed ?? '', /2 of 2 pool workers did not start within 0.2 s/);
    assert.equal(terminated, 2);
    assert.equal(pool.size, 1);
    assert.equal(pool.threadsNow(), 1);
    let ran = 0;
    pool.run('gemm', [], (n) => (ran = n));
    assert.equal(ran, 1);
  });
});

describe('a pool on a busy machine (Node: the cores\' idle time)', () => {
  it('starts its workers only once a core is seen free', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
    let spawned = 0;
    const spawn = (): { terminate(): void } => {
      spawned++;
      return { terminate: () => undefined };
    };
    let idleMs = 0; // the machine's idle CPU time so far, summed over its cores
    const pool = new ThreadPool(spawn, null as unknown as WebAssembly.Module, memory, 0, 2, true, false, 200, () => idleMs);
    const wait = (ms: number): void => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    // every core busy: nothing idles, no worker starts, look after look
    for (let i = 0; i < 4; i++) {
      assert.equal(pool.threadsNow(), 1);
      wait(60);
    }
    assert.equal(pool.threadsNow(), 1);
    assert.equal(spawned, 0, 'no worker started while every core was busy');
    // then a core idles: the next look (it takes longer after each busy one) starts the worker
    const t0 = performance.now();
    let last = t0;
    while (spawned === 0 && performance.now() - t0 < 5000) {
      wait(10);
      // a whole core idle: as much idle time as time passed, however long this process was descheduled
      const now = performance.now();
      idleMs += now - last;
      last = now;
      pool.threadsNow();
    }
    assert.equal(spawned, 1);
  });
});

describe('the thread chooser', { skip: !listBackends().includes('wasm') || backendInfo().threads < 2 }, () => {
  it('times both of its choices on the calls it decides (a product, a layer weight\'s product)', () => {
    const threads = backendInfo().threads;
    const adaptive = wasmControls()!.setAdaptiveThreads(true);
    try {
      setNumThreads(2);
      setBackend('wasm');
      const be = getBackend();
      const r = new Generator(9);
      const rnd = (n: number): Float32Array => Float32Array.from({ length: n }, () => r.random() * 2 - 1);
      const stamp = { owner: {}, version: 0 };
      const w = rnd(70 * 300);
      // short calls: the chooser tries the pool, then one thread, within a few of them (later,
      // within a fraction of a second of calls, where a busy machine made the first ones long)
      const ours = (m: Record<string, [number, number]>): string[] => Object.keys(m).filter((k) => k.startsWith('gemmPrepacked:') || k.startsWith('gemm:'));
      const timed = (m: Record<string, [number, number]>): boolean => ours(m).length >= 2 && ours(m).every((k) => m[k]!.every((v) => Number.isFinite(v)));
      const t0 = performance.now();
      do {
        be.gemm(false, true, 40, 70, 300, rnd(40 * 300), 0, w, 0, new Float32Array(40 * 70), 0, false, stamp);
        be.gemm(false, false, 40, 70, 300, rnd(40 * 300), 0, rnd(300 * 70), 0, new Float32Array(40 * 70), 0, false);
      } while (!timed(wasmControls()!.threadMeasurements()) && performance.now() - t0 < 5000);
      const m = wasmControls()!.threadMeasurements();
      const keys = ours(m);
      assert.ok(keys.length >= 2, `the products' kinds: ${keys.join(', ')}`);
      for (const key of keys) assert.ok(m[key]!.every((v) => Number.isFinite(v)), `${key}: one thread, the pool: ${JSON.stringify(m[key])}`);
    } finally {
      setNumThreads(threads);
      wasmControls()!.setAdaptiveThreads(adaptive);
    }
  });
});

describe('a pool thread that fails in the middle of a job', { skip: !listBackends().includes('wasm') || backendInfo().threads < 2 }, () => {
  // in a child process: were the others to wait for the failed thread, it would hang for good
  it('makes the call throw (the others stop at their barrier, no hang) and the pool goes on', () => {
    const script = `
      const { getBackend, wasmControls, referenceBackend, Generator, setNumThreads } = await import('recurrent/internal');
      const be = getBackend();
      const c = wasmControls();
      setNumThreads(2); // the workers started (they start on first use otherwise)
      c.setAdaptiveThreads(false);
      const r = new Generator(9);
      const rnd = (n) => Float32Array.from({ length: n }, () => r.random() - 0.5);
      // big enough for two threads; the forward waits at a barrier after projecting the inputs
      const dims = { kind: 'lstm', T: 6, B: 48, I: 40, H: 64, P: 0 };
      const w = { wih: rnd(256 * 40), whh: rnd(256 * 64), bih: rnd(256), bhh: rnd(256), whr: null };
      const x = rnd(6 * 48 * 40), h0 = rnd(48 * 64), c0 = rnd(48 * 64);
      const want = referenceBackend.recurrentForward(dims, w, x, h0, c0, false, false).out;
      const worst = (a) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);
      for (const tid of [1, 0]) {
        c.injectPoolFailure(tid);
        try {
          be.recurrentForward(dims, w, x, h0, c0, false, false);
          console.log('no error');
        } catch (e) {
          console.log(e.message);
        }
        console.log('then', worst(be.recurrentForward(dims, w, x, h0, c0, false, false).out) < 1e-4 ? 'ok' : 'wrong');
      }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8', timeout: 60000, env: { ...process.env, RECURRENT_NUM_THREADS: '2' },
    });
    assert.equal(r.signal, null, `hung (killed by ${r.signal})`);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      "wasm backend: pool thread 1 failed while running 'recurrentForward' (the job was abandoned; the pool goes on)",
      'then ok',
      'injected failure',
      'then ok',
    ]);
  });
});
