/**
 * Every fast backend matches the reference backend (the specification) kernel by kernel, over a
 * grid of flags and odd sizes: not multiples of 4, T = 1, B = 1, projections, both directions,
 * with and without biases and incoming gradients.
 */
import { describe, it } from 'node:test';
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  referenceBackend, getBackend, setBackend, listBackends, Generator, setWasmPoison, wasmControls, LSTM, GRU, RNN, randn, crossEntropy, Linear, randint, drawToken, tensor, manualSeed, Seq2Seq,
  CELL_RULES, cellRule, paramSpecs,
  type RecurrentDims, type RecurrentKind, type RecurrentWeights, type Tensor,
} from 'recurrent/internal';
import { assertClose } from '../helpers.js';
import { randomWeights } from './weights.js';

const rng = new Generator(2024);
const randomFrom = (g: Generator) => (n: number, scale = 1): Float32Array => Float32Array.from({ length: n }, () => (g.random() * 2 - 1) * scale);
const rand = randomFrom(rng);
const randomArray = rand;
const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
// the kernels on the pool wherever a call is big enough, not only where measured faster
wasmControls()?.setAdaptiveThreads(false);

for (const name of listBackends().filter((b) => b !== 'reference')) {
  describe(`${name} matches reference`, () => {
    // every call starts on NaN-filled scratch: reading memory a kernel did not write shows up
    before(() => setWasmPoison(true));
    after(() => setWasmPoison(false));
    it('gemm over transposes, accumulate, offsets and odd sizes', () => {
      setBackend(name);
      const be = getBackend();
      const sizes = [1, 2, 3, 5, 7, 8, 9, 13, 17, 31, 67];
      for (let c = 0; c < 120; c++) {
        const [ta, tb, acc] = [rng.random() < 0.5, rng.random() < 0.5, rng.random() < 0.5];
        const M = pick(sizes), N = pick(sizes), K = c < 4 ? [1, 300, 513, 0][c]! : pick(sizes);
        const aOff = rng.int(5), bOff = rng.int(5), cOff = rng.int(5);
        const a = rand(aOff + M * K), b = rand(bOff + K * N);
        const c0 = rand(cOff + M * N);
        const want = c0.slice();
        const got = c0.slice();
        referenceBackend.gemm(ta, tb, M, N, K, a, aOff, b, bOff, want, cOff, acc);
        be.gemm(ta, tb, M, N, K, a, aOff, b, bOff, got, cOff, acc);
        assertClose(got, want, `gemm ta=${ta} tb=${tb} acc=${acc} M=${M} N=${N} K=${K}`, 1e-5, 1e-4);
      }
    });

    it('elementwise functions over every op and odd lengths (small ones stay on the reference loops)', () => {
      setBackend(name);
      const be = getBackend();
      for (const op of ['neg', 'exp', 'log', 'tanh', 'sigmoid', 'relu', 'sqrt', 'abs'] as const) {
        for (const n of [1, 7, 4095, 4096, 4097, 10003]) {
          const x = rand(n, 12);
          if (op === 'log' || op === 'sqrt') for (let i = 0; i < n; i++) x[i] = Math.abs(x[i]!) + 1e-3;
          if (op === 'exp') x[0] = 88; // the saturation ends
          if (op === 'tanh' || op === 'sigmoid') x[0] = -40;
          const yr = new Float32Array(n), yb = new Float32Array(n);
          referenceBackend.unary(op, x, yr);
          be.unary(op, x, yb);
          assertClose(yb, yr, `${op} n=${n}`, 1e-6, 2e-6);
        }
      }
    });

    it('same-shape arithmetic is exactly the reference, broadcast shapes too, and out may be an operand', () => {
      setBackend(name);
      const be = getBackend();
      for (const op of ['add', 'sub', 'mul', 'div'] as const) {
        for (const n of [1, 7, 4095, 4096, 4097, 10003]) {
          const a = rand(n, 3), b = rand(n, 3);
          const yr = new Float32Array(n), yb = new Float32Array(n);
          referenceBackend.binary(op, a, [n], b, [n], yr, [n]);
          be.binary(op, a, [n], b, [n], yb, [n]);
          assertClose(yb, yr, `${op} n=${n}`, 0, 0);
          const inPlace = a.slice();
          be.binary(op, inPlace, [n], b, [n], inPlace, [n]);
          assertClose(inPlace, yr, `${op} n=${n} into its first operand`, 0, 0);
        }
        // broadcasting over a middle dimension
        const a = rand(7 * 5 * 131), b = rand(7 * 131);
        const yr = new Float32Array(a.length), yb = new Float32Array(a.length);
        referenceBackend.binary(op, a, [7, 5, 131], b, [7, 1, 131], yr, [7, 5, 131]);
        be.binary(op, a, [7, 5, 131], b, [7, 1, 131], yb, [7, 5, 131]);
        assertClose(yb, yr, `${op} broadcast`, 0, 0);
      }
    });

    it("additive attention's scores and their gradients over odd sizes", () => {
      setBackend(name);
      const be = getBackend();
      for (const [N, S, H] of [[1, 1, 1], [3, 5, 7], [2, 1, 9], [7, 13, 4], [64, 12, 256], [5, 3, 130], [33, 17, 61]]) {
        const q = rand(N * H), k = rand(N * S * H, 2), v = rand(H);
        const sr = new Float32Array(N * S), sb = new Float32Array(N * S);
        const ar = new Float32Array(N * S * H), ab = new Float32Array(N * S * H);
        referenceBackend.additiveScores(q, k, v, N, S, H, sr, ar);
        be.additiveScores(q, k, v, N, S, H, sb, ab);
        const label = `N=${N} S=${S} H=${H}`;
        assertClose(sb, sr, `${label} scores`, 1e-5, 1e-5);
        assertClose(ab, ar, `${label} tanh values`, 1e-6, 1e-6);
        // without the tanh values kept, the same scores
        const sOnly = new Float32Array(N * S);
        be.additiveScores(q, k, v, N, S, H, sOnly, null);
        assertClose(sOnly, sb, `${label} scores without the tanh values`, 0, 0);
        const g = rand(N * S);
        const want = { dq: new Float32Array(N * H), dk: new Float32Array(N * S * H), dv: new Float32Array(H) };
        const got = { dq: new Float32Array(N * H).fill(NaN), dk: new Float32Array(N * S * H).fill(NaN), dv: new Float32Array(H).fill(NaN) };
        referenceBackend.additiveScoresBackward(ar, v, g, N, S, H, want.dq, want.dk, want.dv);
        be.additiveScoresBackward(ar, v, g, N, S, H, got.dq, got.dk, got.dv);
        for (const key of ['dq', 'dk', 'dv'] as const) assertClose(got[key], want[key], `${label} ${key}`, 1e-5, 1e-5);
        // dk and dv left out: dq alone, the same
        const dqOnly = new Float32Array(N * H);
        be.additiveScoresBackward(ar, v, g, N, S, H, dqOnly, null, null);
        assertClose(dqOnly, got.dq, `${label} dq alone`, 0, 0);
      }
    });

    it('a whole additive-attention step and its gradients over odd sizes, masks, keys that are the values', () => {
      setBackend(name);
      const be = getBackend();
      for (const [N, S, H] of [[1, 1, 1], [3, 5, 7], [2, 1, 9], [7, 13, 4], [64, 12, 256], [5, 3, 130], [33, 17, 61]]) {
        for (const variant of ['plain', 'masked', 'shared'] as const) {
          const q = rand(N * H), k = rand(N * S * H, 2), v = rand(H);
          const values = variant === 'shared' ? k : rand(N * S * H);
          const bias = variant === 'masked' ? 0.3 : 0;
          let mask: Int32Array | null = null;
          if (variant === 'masked') {
            // every row keeps its first key; the others masked at random
            mask = Int32Array.from({ length: N * S }, (_, i) => (i % S !== 0 && rng.random() < 0.4 ? 1 : 0));
          }
          const label = `N=${N} S=${S} H=${H} ${variant}`;
          const wr = new Float32Array(N * S), cr = new Float32Array(N * H);
          const wb = new Float32Array(N * S).fill(NaN), cb = new Float32Array(N * H).fill(NaN);
          referenceBackend.additiveAttention(q, k, values, v, bias, mask, N, S, H, wr, cr);
          be.additiveAttention(q, k, values, v, bias, mask, N, S, H, wb, cb);
          assertClose(wb, wr, `${label} weights`, 1e-6, 1e-5);
          assertClose(cb, cr, `${label} context`, 1e-5, 1e-5);
          if (mask) for (let i = 0; i < N * S; i++) if (mask[i]) assert.equal(wb[i], 0, `${label}: a masked key's weight is 0`);
          const dc = rand(N * H), dw = variant === 'plain' ? null : rand(N * S);
          const want = { dq: new Float32Array(N * H), dk: new Float32Array(N * S * H), dvals: new Float32Array(N * S * H), dv: new Float32Array(H) };
          const got = { dq: new Float32Array(N * H).fill(NaN), dk: new Float32Array(N * S * H).fill(NaN), dvals: new Float32Array(N * S * H).fill(NaN), dv: new Float32Array(H).fill(NaN) };
          const dbr = referenceBackend.additiveAttentionBackward(q, k, values, v, wr, dc, dw, N, S, H, want.dq, want.dk, want.dvals, want.dv);
          const dbb = be.additiveAttentionBackward(q, k, values, v, wr, dc, dw, N, S, H, got.dq, got.dk, got.dvals, got.dv);
          for (const key of ['dq', 'dk', 'dvals', 'dv'] as const) assertClose(got[key], want[key], `${label} ${key}`, 1e-5, 1e-4);
          assertClose(Float32Array.of(dbb), Float32Array.of(dbr), `${label} the bias's gradient`, 1e-5, 1e-4);
          // the optional gradients left out: dq alone, the same
          const dqOnly = new Float32Array(N * H);
          be.additiveAttentionBackward(q, k, values, v, wr, dc, dw, N, S, H, dqOnly, null, null, null);
          assertClose(dqOnly, got.dq, `${label} dq alone`, 0, 0);
        }
      }
    });

    it('the attention decoder, forward and backward, over every fused kind, odd sizes, masks and optional inputs', () => {
      setBackend(name);
      const be = getBackend();
      const cases: [RecurrentKind, number, number, number, number, number][] = [
        ['gru', 1, 1, 1, 1, 1], ['lstm', 3, 5, 7, 9, 4], ['rnn_tanh', 4, 7, 3, 6, 5], ['rnn_relu', 2, 3, 5, 11, 2], ['gru', 12, 64, 64, 256, 12], ['lstm', 5, 33, 17, 13, 7],
      ];
      for (const [kind, T, N, E, H, S] of cases) {
        for (const variant of ['plain', 'masked'] as const) {
          // the masked cases copy their caches out instead of keeping them in wasm memory
          wasmControls()?.setResidentBudget(variant === 'masked' ? 0 : 1 << 30);
          const G = kind === 'lstm' ? 4 : kind === 'gru' ? 3 : 1;
          const GH = G * H;
          const full = variant === 'masked';
          // PyTorch's scale of initial weights: a network far from chaos, where float32's rounding stays small over the steps
          const a = 1 / Math.sqrt(H);
          const w = {
            wih: rand(GH * (E + H), a), whh: rand(GH * H, a), bih: full ? rand(GH, a) : null, bhh: rand(GH, a),
            wa: rand(H * H, a), ba: full ? rand(H, a) : null, va: rand(H, a), vb: full ? 0.2 : 0,
          };
          const d = { kind, T, N, E, H, S };
          const x = rand(T * N * E), h0 = rand(N * H), c0 = kind === 'lstm' ? rand(N * H) : null;
          const keys = rand(N * S * H), pk = rand(N * S * H, 2);
          const mask = full ? Int32Array.from({ length: N * S }, (_, i) => (i % S !== 0 && rng.random() < 0.4 ? 1 : 0)) : null;
          const label = `${kind} T=${T} N=${N} E=${E} H=${H} S=${S} ${variant}`;
          const fr = referenceBackend.decoderForward(d, w, x, h0, c0, keys, pk, mask, true);
          const fb = be.decoderForward(d, w, x, h0, c0, keys, pk, mask, true);
          for (const key of ['out', 'hN', 'weights', 'context'] as const) assertClose(fb[key] as Float32Array, fr[key] as Float32Array, `${label} ${key}`, 1e-5, 1e-4);
          if (c0) assertClose(fb.cN as Float32Array, fr.cN as Float32Array, `${label} cN`, 1e-5, 1e-4);
          const dOut = rand(T * N * H), dCtx = full ? rand(T * N * H) : null, dW = full ? rand(T * N * S) : null, dhN = full ? rand(N * H) : null;
          const dcN = c0 && full ? rand(N * H) : null;
          const gr = referenceBackend.decoderBackward(d, w, x, h0, c0, keys, pk, fr, dOut, dCtx, dW, dhN, dcN);
          const gb = be.decoderBackward(d, w, x, h0, c0, keys, pk, fb, dOut, dCtx, dW, dhN, dcN);
          for (const key of ['dx', 'dh0', 'dkeys', 'dpk', 'dwih', 'dwhh', 'dbhh', 'dwa', 'dva'] as const) assertClose(gb[key] as Float32Array, gr[key] as Float32Array, `${label} ${key}`, 1e-4, 1e-3);
          for (const key of ['dbih', 'dba', 'dc0'] as const) {
            assert.equal(gb[key] === null, gr[key] === null, `${label} ${key} given where the reference gives it`);
            if (gr[key]) assertClose(gb[key] as Float32Array, gr[key] as Float32Array, `${label} ${key}`, 1e-4, 1e-3);
          }
          assertClose(Float32Array.of(gb.dvb), Float32Array.of(gr.dvb), `${label} dvb`, 1e-4, 1e-3);
          // a released cache serves no second backward
          fb.cache?.release?.();
          if (variant === 'plain' && name === 'wasm') assert.throws(() => be.decoderBackward(d, w, x, h0, c0, keys, pk, fb, dOut, dCtx, dW, dhN, dcN), /decoderBackward: the cache was already released/);
        }
      }
      wasmControls()?.setResidentBudget(1 << 30);
    });

    it('batched products over transposes and odd sizes, each as one gemm', () => {
      setBackend(name);
      const be = getBackend();
      const sizes = [1, 2, 3, 5, 7, 12, 13, 31, 67];
      for (let c = 0; c < 60; c++) {
        const [ta, tb] = [rng.random() < 0.5, rng.random() < 0.5];
        const batch = c < 2 ? [1, 64][c]! : pick([1, 2, 3, 5, 9, 17]);
        const M = pick(sizes), N = pick(sizes), K = c === 2 ? 0 : pick(sizes);
        const a = rand(batch * M * K), b = rand(batch * K * N);
        const want = new Float32Array(batch * M * N), got = new Float32Array(batch * M * N).fill(NaN);
        referenceBackend.gemmBatched(ta, tb, batch, M, N, K, a, b, want);
        be.gemmBatched(ta, tb, batch, M, N, K, a, b, got);
        assertClose(got, want, `gemmBatched ta=${ta} tb=${tb} batch=${batch} M=${M} N=${N} K=${K}`, 1e-5, 1e-4);
        // each product as the backend's own gemm computes it alone
        for (let i = 0; i < batch; i++) {
          const one = new Float32Array(M * N);
          be.gemm(ta, tb, M, N, K, a, i * M * K, b, i * K * N, one, 0, false);
          assertClose(got.subarray(i * M * N, (i + 1) * M * N), one, `gemmBatched product ${i} of ${batch} against gemm (M=${M} N=${N} K=${K})`, 0, 0);
        }
      }
    });

    it('softmax and log-softmax, forward and backward, over odd row lengths', () => {
      setBackend(name);
      const be = getBackend();
      for (const [outer, n, inner] of [[1, 1, 1], [3, 5, 1], [7, 65, 1], [2, 4, 3], [5, 9, 1], [4, 8, 1], [6, 3, 1]] as const) {
        for (const log of [false, true]) {
          const x = rand(outer * n * inner, 6);
          const g = rand(outer * n * inner);
          const yr = new Float32Array(x.length), yb = new Float32Array(x.length);
          referenceBackend.softmax(x, outer, n, inner, yr, log);
          be.softmax(x, outer, n, inner, yb, log);
          assertClose(yb, yr, `softmax log=${log} (${outer}, ${n}, ${inner})`);
          const dr = new Float32Array(x.length), db = new Float32Array(x.length);
          referenceBackend.softmaxBackward(yr, g, outer, n, inner, dr, log);
          be.softmaxBackward(yr, g, outer, n, inner, db, log);
          assertClose(db, dr, `softmax backward log=${log} (${outer}, ${n}, ${inner})`);
        }
      }
    });

    it("cross-entropy's gradient from the log-softmax, with ignored rows and odd class counts", () => {
      setBackend(name);
      const be = getBackend();
      for (const [rows, n] of [[3, 5], [70, 65], [1100, 4], [500, 9], [4100, 1]] as const) {
        const x = rand(rows * n, 4);
        const lp = new Float32Array(rows * n);
        referenceBackend.softmax(x, rows, n, 1, lp, true);
        const target = Int32Array.from({ length: rows }, () => (rng.random() < 0.1 ? -100 : rng.int(n)));
        const coef = Float64Array.from(target, (t) => (t < 0 ? 0 : rng.random() * 2 - 1));
        const r = new Float32Array(rows * n), b = new Float32Array(rows * n).fill(NaN);
        referenceBackend.logSoftmaxNllBackward(lp, target, coef, rows, n, r);
        be.logSoftmaxNllBackward(lp, target, coef, rows, n, b);
        assertClose(b, r, `logSoftmaxNllBackward (${rows}, ${n})`, 1e-7, 2e-6);
      }
    });

    it('linear backward: dx, dw and db in one call, any of them left out, over odd sizes', () => {
      setBackend(name);
      const be = getBackend();
      for (const [rows, K, O] of [[1, 1, 1], [3, 5, 7], [0, 4, 3], [5, 0, 2], [700, 65, 9], [2048, 13, 65], [33, 300, 17]] as const) {
        for (const skip of ['none', 'dx', 'dw', 'db'] as const) {
          const g = rand(rows * O), x = rand(rows * K), w = rand(O * K);
          const want = { dx: new Float32Array(rows * K), dw: new Float32Array(O * K), db: new Float32Array(O) };
          referenceBackend.linearBackward(g, x, w, rows, K, O, want.dx, want.dw, want.db);
          const got = { dx: new Float32Array(rows * K).fill(NaN), dw: new Float32Array(O * K).fill(NaN), db: new Float32Array(O).fill(NaN) };
          be.linearBackward(g, x, w, rows, K, O, skip === 'dx' ? null : got.dx, skip === 'dw' ? null : got.dw, skip === 'db' ? null : got.db);
          const label = `linearBackward rows=${rows} K=${K} O=${O} without ${skip}`;
          if (skip !== 'dx') assertClose(got.dx, want.dx, `${label} dx`, 2e-5, 2e-4);
          else if (!got.dx.every(Number.isNaN)) throw new Error(`${label}: dx was written`);
          if (skip !== 'dw') assertClose(got.dw, want.dw, `${label} dw`, 2e-5, 2e-4);
          if (skip !== 'db') assertClose(got.db, want.db, `${label} db`, 0, 0);
        }
        // added onto a parameter's gradient so far: dw and db accumulate, dx is written
        const g = rand(rows * O), x = rand(rows * K), w = rand(O * K);
        const prior = { dw: rand(O * K), db: rand(O) };
        const want = { dx: new Float32Array(rows * K), dw: prior.dw.slice(), db: prior.db.slice() };
        referenceBackend.linearBackward(g, x, w, rows, K, O, want.dx, want.dw, want.db, true);
        const fresh = { dw: new Float32Array(O * K), db: new Float32Array(O) };
        referenceBackend.linearBackward(g, x, w, rows, K, O, null, fresh.dw, fresh.db);
        assertClose(want.dw, prior.dw.map((v, i) => v + fresh.dw[i]!), `reference accumulate rows=${rows} dw`, 1e-6, 1e-6);
        const got = { dx: new Float32Array(rows * K).fill(NaN), dw: prior.dw.slice(), db: prior.db.slice() };
        be.linearBackward(g, x, w, rows, K, O, got.dx, got.dw, got.db, true);
        assertClose(got.dx, want.dx, `accumulate rows=${rows} K=${K} O=${O} dx`, 2e-5, 2e-4);
        assertClose(got.dw, want.dw, `accumulate rows=${rows} K=${K} O=${O} dw`, 2e-5, 2e-4);
        assertClose(got.db, want.db, `accumulate rows=${rows} K=${K} O=${O} db`, 0, 0);
      }
    });

    it('sums over leading dimensions (bias gradients) and others, exactly as the reference', () => {
      setBackend(name);
      const be = getBackend();
      const cases: [number[], number[]][] = [
        [[70, 65], [1, 65]], [[3, 50, 33], [1, 1, 33]], [[2, 3001], [1, 3001]], [[5000, 1], [1, 1]], [[65, 70], [65, 1]], [[3, 5], [1, 5]], [[9, 1000], [1, 1]],
      ];
      for (const [xs, os] of cases) {
        const x = rand(xs.reduce((a, b) => a * b, 1), 3);
        const n = os.reduce((a, b) => a * b, 1);
        const r = new Float32Array(n), b = new Float32Array(n);
        referenceBackend.sumTo(x, xs, r, os);
        be.sumTo(x, xs, b, os);
        assertClose(b, r, `sumTo [${xs}] -> [${os}]`, 0, 0);
      }
    });

    it('Adam and AdamW steps over sizes, weight decay, maximize and amsgrad', () => {
      setBackend(name);
      const be = getBackend();
      for (const n of [1, 3, 1023, 1024, 1027, 4099]) {
        for (let c = 0; c < 4; c++) {
          const step = 1 + rng.int(50);
          const lr = 1e-3 * (1 + rng.random());
          const wd = rng.random() < 0.5 ? 0.01 : 0;
          const decoupled = rng.random() < 0.5;
          const s = {
            beta1: 0.9, beta2: 0.999, stepSize: lr / (1 - 0.9 ** step), bc2Sqrt: Math.sqrt(1 - 0.999 ** step), eps: 1e-8,
            sign: rng.random() < 0.3 ? -1 : 1, l2: decoupled ? 0 : wd, shrink: decoupled ? 1 - lr * wd : 1,
          };
          const amsgrad = c === 3;
          const p = rand(n), g = rand(n), m = rand(n, 0.1), v = rand(n, 0.01).map(Math.abs), vmax = amsgrad ? v.map((x) => x * 1.5) : null;
          const [pr, mr, vr, vmr] = [p.slice(), m.slice(), v.slice(), vmax?.slice() ?? null];
          referenceBackend.adamStep(pr, g, mr, vr, vmr, s);
          be.adamStep(p, g, m, v, vmax, s);
          const label = `adam n=${n} step=${step} ${JSON.stringify(s)}${amsgrad ? ' amsgrad' : ''}`;
          // float32 against float64 arithmetic: errors scale with the terms (about 0.1 and 0.01), not the result
          assertClose(m, mr, `${label} m`, 3e-8, 2e-7);
          assertClose(v, vr, `${label} v`, 3e-9, 2e-7);
          if (vmax) assertClose(vmax, vmr!, `${label} vmax`, 0, 0);
          assertClose(p, pr, `${label} p`, 1e-7, 2e-7);
        }
      }
    });

    it('CTC: losses and gradients over odd sizes, repeats, empty and impossible targets, and logits that leave float64 range', () => {
      setBackend(name);
      const be = getBackend();
      const cases: [number, number, number, number][] = [[1, 1, 2, 1], [100, 32, 30, 1], [60, 5, 11, 300], [7, 9, 3, 1], [13, 3, 31, 50], [2, 4, 2, 1]];
      for (let c = 0; c < 40; c++) cases.push([1 + rng.int(40), 1 + rng.int(9), 2 + rng.int(30), pick([1, 3, 20, 300, 400])]);
      for (const [T, N, C, scale] of cases) {
        // log-softmaxed random logits; a large scale makes some alignments tens of thousands of nats apart
        const logits = rand(T * N * C, scale);
        const logProbs = new Float32Array(T * N * C);
        referenceBackend.softmax(logits, T * N, C, 1, logProbs, true);
        const blank = rng.int(C);
        const inputLengths = Int32Array.from({ length: N }, () => rng.int(T + 1));
        inputLengths[0] = T;
        const targetLengths = Int32Array.from({ length: N }, (_, n) => rng.int(Math.min(T, 30) + (n === 1 ? 3 : 1)));
        const offsets = new Int32Array(N);
        const labels: number[] = [];
        for (let n = 0; n < N; n++) {
          offsets[n] = labels.length;
          for (let k = 0; k < targetLengths[n]!; k++) {
            // repeats are common: a blank must come between them
            const prev = labels[labels.length - 1];
            let v = k > 0 && rng.random() < 0.3 ? prev! : rng.int(C - 1);
            if (v >= blank && !(k > 0 && v === prev)) v++;
            labels.push(C === 1 ? 0 : v);
          }
        }
        if (C < 2) continue;
        const batch = { logProbs, T, N, C, targets: Int32Array.from(labels), offsets, targetLengths, inputLengths, blank };
        const redone = wasmControls()?.ctcRecomputed() ?? 0;
        for (const withGrad of [true, false]) {
          const g = withGrad ? new Float32Array(T * N * C) : null;
          const gr = withGrad ? new Float32Array(T * N * C) : null;
          const nll = be.ctc(batch, g);
          const nllr = referenceBackend.ctc(batch, gr);
          const label = `ctc T=${T} N=${N} C=${C} scale=${scale} blank=${blank} lengths ${inputLengths} / ${targetLengths}`;
          for (let n = 0; n < N; n++) {
            if (nllr[n] === Infinity) assert.equal(nll[n], Infinity, `${label} sample ${n}`);
            else assert.ok(Math.abs(nll[n]! - nllr[n]!) <= 1e-9 * (1 + Math.abs(nllr[n]!)), `${label} sample ${n}: ${nll[n]} against ${nllr[n]}`);
          }
          if (g) assertClose(g, gr!, `${label} gradient`, 2e-7, 1e-6);
        }
        // ordinary logits stay in the kernel; only trellises tens of thousands of nats wide go back to log space
        if (scale === 1 && name === 'wasm') assert.equal(wasmControls()!.ctcRecomputed(), redone, `ctc T=${T} N=${N} C=${C}: samples recomputed`);
      }
    });

    // every kind of cell, whichever kernels a backend runs it on
    const kinds = Object.keys(CELL_RULES) as RecurrentKind[];
    const grid: RecurrentDims[] = [];
    for (const kind of kinds) {
      grid.push({ kind, T: 1, B: 1, I: 1, H: 1, P: 0 });
      grid.push({ kind, T: 1, B: 3, I: 5, H: 7, P: 0 });
      grid.push({ kind, T: 7, B: 1, I: 3, H: 9, P: 0 });
      grid.push({ kind, T: 2, B: 1, I: 4, H: 8, P: kind === 'lstm' ? 1 : 0 });
      for (let c = 0; c < 10; c++) {
        const H = pick([1, 2, 3, 4, 5, 6, 8, 9, 12, 13, 16, 17]);
        grid.push({ kind, T: pick([1, 2, 3, 7, 11]), B: pick([1, 2, 3, 5, 9]), I: pick([1, 2, 3, 6, 7, 10]), H, P: kind === 'lstm' && H > 1 && rng.random() < 0.4 ? 1 + rng.int(H - 1) : 0 });
      }
    }
    for (const dims of grid) {
      for (const reverse of [false, true]) {
        const bias = rng.random() < 0.7;
        const withGrads = rng.random() < 0.8;
        // some cases copy their caches out instead of keeping them in wasm memory
        const copied = rng.random() < 0.3;
        // some weights carry a stamp: a backend may keep them prepared between calls
        const stamped = rng.random() < 0.5;
        const label = `${dims.kind} T=${dims.T} B=${dims.B} I=${dims.I} H=${dims.H} P=${dims.P}${reverse ? ' reverse' : ''}${bias ? '' : ' no-bias'}${withGrads ? '' : ' (output gradient only)'}${stamped ? ' (stamped weights)' : ''}`;
        it(`sequence kernel ${label}${copied ? ' (cache copied out)' : ''}`, () => {
          setBackend(name);
          const be = getBackend();
          wasmControls()?.setResidentBudget(copied ? 0 : 1 << 30);
          const { kind, T, B, I, H, P } = dims;
          const Hout = P || H;
          const w0 = randomWeights(kind, I, H, P, bias, (n) => rand(n, 0.6));
          const w = stamped ? { ...w0, stamp: { owner: {}, version: 0 } } : w0;
          const x = rand(T * B * I), h0 = rand(B * Hout), c0 = cellRule(kind).cell ? rand(B * H) : null;
          const fr = referenceBackend.recurrentForward(dims, w, x, h0, c0, reverse, true);
          // stamped: the first call prepares the weights, the one compared reuses them
          if (stamped) be.recurrentForward(dims, w, x, h0, c0, reverse, false);
          const fb = be.recurrentForward(dims, w, x, h0, c0, reverse, true);
          assertClose(fb.out, fr.out, `${label} out`);
          assertClose(fb.hN, fr.hN, `${label} hN`);
          if (fr.cN) assertClose(fb.cN!, fr.cN, `${label} cN`);
          const dOut = rand(T * B * Hout), dhN = withGrads ? rand(B * Hout) : null, dcN = withGrads && c0 ? rand(B * H) : null;
          const gr = referenceBackend.recurrentBackward(dims, w, x, h0, c0, reverse, fr, dOut, dhN, dcN);
          const gb = be.recurrentBackward(dims, w, x, h0, c0, reverse, fb, dOut, dhN, dcN);
          for (const key of ['dx', 'dh0', 'dc0', 'dwih', 'dwhh', 'dbih', 'dbhh', 'dwhr'] as const) {
            const r = gr[key];
            const b = gb[key];
            if (r === null || b === null) {
              if (r !== b) throw new Error(`${label} ${key}: one backend returned null`);
              continue;
            }
            // a layer norm over a few values (I = 1: each gate block's row is one weight column
            // times x) divides by a small deviation: float32's rounding grows by its inverse
            assertClose(b, r, `${label} ${key}`, dims.kind === 'layernorm_lstm' ? 5e-5 : 2e-5, 2e-4);
          }
          for (const [role, r] of Object.entries(gr.dextra ?? {})) assertClose(gb.dextra![role]!, r, `${label} ${role}`, 2e-5, 2e-4);
          // gradients that are not needed are neither computed nor returned; the others do not change
          const needs = pick([{ input: false, params: true }, { input: true, params: false }, { input: false, params: false }]);
          for (const [bk, f, full] of [[referenceBackend, fr, gr], [be, fb, gb]] as const) {
            const part = bk.recurrentBackward(dims, w, x, h0, c0, reverse, f, dOut, dhN, dcN, needs);
            for (const key of ['dx', 'dh0', 'dc0', 'dwih', 'dwhh', 'dbih', 'dbhh', 'dwhr'] as const) {
              const wanted = key === 'dx' ? needs.input : key === 'dh0' || key === 'dc0' ? true : needs.params;
              const got = part[key];
              const want = full[key];
              if (!wanted || want === null) {
                if (got !== null) throw new Error(`${label} ${bk.name} ${key}: expected null with needs ${JSON.stringify(needs)}`);
              } else assertClose(got!, want, `${label} ${bk.name} ${key} with needs ${JSON.stringify(needs)}`, 0, 0);
            }
          }
        });
      }
    }
  });
}

/** Random weights of every role a kind's rule has (with biases, a projection of P). */
/** Weights for a stepper test, scaled by 1/sqrt(H) when H is big enough for the sums to matter. */
function stepperWeights(kind: RecurrentKind, I: number, H: number, P: number, rand = randomArray): { Hout: number; sc: number; w: RecurrentWeights } {
  const G = kind === 'lstm' ? 4 : kind === 'gru' ? 3 : 1;
  const Hout = P || H;
  const sc = H > 16 ? 1 / Math.sqrt(H) : 1;
  return { Hout, sc, w: { wih: rand(G * H * I, sc), whh: rand(G * H * Hout, sc), bih: rand(G * H), bhh: rand(G * H), whr: P ? rand(P * H) : null } };
}

for (const name of listBackends()) {
  describe(`${name} stepper matches the sequence kernel`, () => {
    before(() => setWasmPoison(true));
    after(() => setWasmPoison(false));
    for (const kind of ['lstm', 'gru', 'rnn_tanh', 'rnn_relu'] as const) {
      // one row of a big enough layer runs on every thread, split by blocks of 8 hidden units (evenly or not)
      for (const [B, I, H, P] of [[1, 5, 8, 0], [3, 4, 7, 0], [2, 3, 9, 4], [1, 1, 1, 0], [1, 64, 264, 0], [1, 64, 272, 0], [1, 64, 512, 0]] as const) {
        if (P && kind !== 'lstm') continue;
        it(`${kind} B=${B} I=${I} H=${H} P=${P}: four single steps equal one four-step call`, () => {
          setBackend(name);
          const be = getBackend();
          const { Hout, w } = stepperWeights(kind, I, H, P);
          const T = 4;
          const x = rand(T * B * I), h0 = rand(B * Hout), c0 = kind === 'lstm' ? rand(B * H) : null;
          const dims: RecurrentDims = { kind, T, B, I, H, P };
          const want = referenceBackend.recurrentForward(dims, w, x, h0, c0, false, false);
          const st = be.recurrentStepper(dims, w);
          let h: ArrayLike<number> & Float32Array | Float64Array = h0;
          let c: Float32Array | Float64Array | null = c0;
          const outs: number[] = [];
          for (let t = 0; t < T; t++) {
            const r = st.run(x.subarray(t * B * I, (t + 1) * B * I), 1, B, h as Float32Array, c);
            outs.push(...r.out);
            h = r.hN;
            c = r.cN;
          }
          const whole = st.run(x, T, B, h0, c0);
          st.dispose();
          assertClose(whole.out, want.out, 'four steps in one call');
          assertClose(outs, want.out, 'stepped output');
          assertClose(h, want.hN, 'hN');
          if (want.cN) assertClose(c!, want.cN, 'cN');
        });
      }
      // on several threads the workers compute the next step's recurrent product ahead, from the
      // state a call returns: a state changed in place before it is passed back must not match
      it(`${kind}: a returned state changed in place is stepped from its new values`, () => {
        setBackend(name);
        const be = getBackend();
        const I = 64, H = 512; // big enough for every kind to run on several threads
        const { w } = stepperWeights(kind, I, H, 0);
        const x = rand(2 * I), h0 = rand(H), c0 = kind === 'lstm' ? rand(H) : null;
        const st = be.recurrentStepper({ kind, T: 1, B: 1, I, H, P: 0 }, w);
        const first = st.run(x.subarray(0, I), 1, 1, h0, c0);
        const h1 = first.hN;
        h1[5] = h1[5]! + 0.5;
        h1[400] = -h1[400]!;
        const h1Copy = Float32Array.from(h1);
        const c1Copy = first.cN ? Float32Array.from(first.cN) : null;
        const second = st.run(x.subarray(I), 1, 1, h1, first.cN);
        st.dispose();
        const want = referenceBackend.recurrentForward({ kind, T: 1, B: 1, I, H, P: 0 }, w, x.subarray(I), h1Copy, c1Copy, false, false);
        assertClose(second.hN, want.hN, 'hN after the changed state');
      });
    }
  });
}

for (const name of listBackends()) {
  describe(`${name} stepper with an embedding and a head matches the reference`, () => {
    before(() => setWasmPoison(true));
    after(() => setWasmPoison(false));
    // [kind, B, I, H, P, V, O, head bias]: one row split by units (H % 8 == 0) with the head split
    // by columns, rows split, projection, no head bias, and a vocabulary too big for precomputed
    // input rows (V * 4H * 4 bytes > 16 MiB: rows gathered and projected each step)
    const cases = [
      ['lstm', 1, 64, 256, 0, 65, 65, true], ['gru', 1, 5, 24, 0, 9, 3, true], ['rnn_tanh', 1, 7, 40, 0, 11, 17, false],
      ['lstm', 3, 4, 7, 0, 5, 9, true], ['gru', 2, 3, 9, 0, 6, 1, true], ['lstm', 2, 3, 9, 4, 5, 7, false],
      ['rnn_relu', 1, 1, 1, 0, 2, 2, true], ['lstm', 1, 4, 256, 0, 4200, 5, true],
    ] as const;
    for (const [kind, B, I, H, P, V, O, hb] of cases) {
      it(`${kind} B=${B} I=${I} H=${H} P=${P} V=${V} O=${O}${hb ? '' : ' no head bias'}`, () => {
        setBackend(name);
        const be = getBackend();
        const { Hout, sc, w } = stepperWeights(kind, I, H, P);
        const emb = rand(V * I), hw = rand(O * Hout, sc), hbias = hb ? rand(O) : null;
        const T = 3;
        const ids = Int32Array.from({ length: T * B }, (_, i) => (i * 7 + 1) % V);
        const h0 = rand(B * Hout), c0 = kind === 'lstm' ? rand(B * H) : null;
        // the specification: gather, run the plain reference kernel, then the head row by row
        const x = new Float32Array(T * B * I);
        ids.forEach((id, r) => x.set(emb.subarray(id * I, (id + 1) * I), r * I));
        const want = referenceBackend.recurrentForward({ kind, T, B, I, H, P }, w, x, h0, c0, false, false);
        const wantLogits = new Float64Array(T * B * O);
        for (let r = 0; r < T * B; r++) {
          for (let j = 0; j < O; j++) {
            let s = hbias ? hbias[j]! : 0;
            for (let k = 0; k < Hout; k++) s += want.out[r * Hout + k]! * hw[j * Hout + k]!;
            wantLogits[r * O + j] = s;
          }
        }
        const st = be.recurrentStepper({ kind, T: 1, B: 1, I, H, P }, w, { embedding: { weight: emb, V }, head: { weight: hw, bias: hbias, O } });
        const whole = st.run(ids, T, B, h0, c0);
        // and one step at a time
        let h: Float32Array | Float64Array = h0;
        let c: Float32Array | Float64Array | null = c0;
        const logits: number[] = [];
        for (let t = 0; t < T; t++) {
          const r = st.run(ids.subarray(t * B, (t + 1) * B), 1, B, h, c);
          logits.push(...r.logits!);
          h = r.hN;
          c = r.cN;
        }
        assert.throws(() => st.run(Int32Array.of(V), 1, 1, h0.subarray(0, Hout), c0 ? c0.subarray(0, H) : null), /token id .* outside/);
        st.dispose();
        assertClose(whole.out, want.out, 'out');
        assertClose(whole.hN, want.hN, 'hN');
        if (want.cN) assertClose(whole.cN!, want.cN, 'cN');
        assertClose(whole.logits!, wantLogits, 'logits');
        assertClose(logits, wantLogits, 'stepped logits');
        // a row's logits are the same bits whether its call had one row or many (the head's tiles)
        assert.deepEqual(Array.from(whole.logits!), logits, 'logits of one call against single steps');
      });
    }
  });
}

describe('wasm resident caches', { skip: !listBackends().includes('wasm') }, () => {
  it('are freed when backward releases the graph, and a released cache cannot be reused', () => {
    setBackend('wasm');
    const c = wasmControls()!;
    c.setResidentBudget(1 << 30);
    const before = c.residentBytes();
    const m = new GRU({ inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true });
    const head = new Linear({ inFeatures: 10, outFeatures: 4 });
    for (let i = 0; i < 3; i++) {
      const [out] = m.forward(randn([6, 2, 3]));
      if (c.residentBytes() <= before) throw new Error('the forward kept no resident cache');
      crossEntropy(head.forward(out).reshape([12, 4]), randint(0, 4, [12])).backward();
      if (c.residentBytes() !== before) throw new Error(`${c.residentBytes() - before} bytes still resident after backward`);
    }
    // a Seq2Seq's decoder (all its steps in one node) too
    const s2s = new Seq2Seq({ sourceVocab: 6, sourceEmbedding: 3, targetVocab: 7, targetEmbedding: 3, encoder: { kind: 'gru', hiddenSize: 4, bidirectional: true }, decoder: { kind: 'gru', hiddenSize: 8 }, bos: 1, eos: 2, pad: 0 });
    for (let i = 0; i < 2; i++) {
      const logits = s2s.forward(randint(3, 6, [5, 4]), randint(3, 7, [4, 4]));
      if (c.residentBytes() <= before) throw new Error('the Seq2Seq forward kept no resident cache');
      logits.sum().backward();
      if (c.residentBytes() !== before) throw new Error(`${c.residentBytes() - before} bytes still resident after the Seq2Seq's backward`);
    }
    const [out] = new LSTM({ inputSize: 2, hiddenSize: 3 }).forward(randn([4, 1, 2]));
    const loss = out.sum();
    loss.backward(undefined, { retainGraph: true });
    loss.backward();
    if (c.residentBytes() !== before) throw new Error('retained graph not freed after its last backward');
  });
});

describe('padded batches: row lengths in the kernel against the reference\'s stretches', () => {
  before(() => setWasmPoison(true));
  after(() => setWasmPoison(false));
  const g = new Generator(91);
  const cases: [string, number, number, number, number, number][] = [];
  for (const kind of ['lstm', 'gru', 'rnn_tanh', 'rnn_relu']) {
    for (let c = 0; c < 4; c++) cases.push([kind, 1 + g.int(9), 1 + g.int(7), 1 + g.int(6), 1 + g.int(13), 1 + g.int(2)]);
  }
  for (const name of listBackends().filter((b) => b !== 'reference')) {
    for (const [kind, T, B, I, H, L] of cases) {
      for (const copied of [false, true]) {
        it(`${name} ${kind} T=${T} B=${B} I=${I} H=${H} layers=${L}, both directions, initial states given${copied ? ', caches copied out' : ''}`, () => {
          const Cls = { lstm: LSTM, gru: GRU, rnn_tanh: RNN, rnn_relu: RNN }[kind]!;
          const rnd = randomFrom(new Generator(T * 1000 + B * 100 + H));
          const lengths = Array.from({ length: B }, (_, b) => (b === 0 ? T : 1 + Math.floor(rnd(1)[0]! * 0.5 * T + 0.5 * T) % T));
          const run = (backend: string): Float32Array[] => {
            setBackend(backend);
            wasmControls()?.setResidentBudget(copied ? 0 : 1 << 30);
            manualSeed(7);
            const m = new Cls({ inputSize: I, hiddenSize: H, numLayers: L, bidirectional: true, ...(kind === 'rnn_relu' ? { nonlinearity: 'relu' as const } : {}) }) as unknown as {
              forward(x: Tensor, s: unknown, o: { lengths: number[] }): [Tensor, Tensor | [Tensor, Tensor]]; parameters(): Tensor[];
            };
            const r2 = randomFrom(new Generator(3));
            const x = tensor(r2(T * B * I), [T, B, I], { requiresGrad: true });
            const h0 = tensor(r2(2 * L * B * H), [2 * L, B, H], { requiresGrad: true });
            const c0 = tensor(r2(2 * L * B * H), [2 * L, B, H], { requiresGrad: true });
            const [out, st] = m.forward(x, kind === 'lstm' ? [h0, c0] : h0, { lengths });
            const [hN, cN] = kind === 'lstm' ? (st as [Tensor, Tensor]) : [st as Tensor, null];
            const wo = tensor(r2(out.size), out.shape), wh = tensor(r2(hN.size), hN.shape);
            let loss = out.mul(wo).sum().add(hN.mul(wh).sum());
            if (cN) loss = loss.add(cN.mul(tensor(r2(cN.size), cN.shape)).sum());
            loss.backward();
            return [out.data, hN.data, ...(cN ? [cN.data] : []), x.grad!.data, h0.grad!.data, ...(kind === 'lstm' ? [c0.grad!.data] : []), ...m.parameters().map((p) => p.grad!.data)] as Float32Array[];
          };
          const want = run('reference');
          const got = run(name);
          got.forEach((a, i) => assertClose(a, want[i]!, `${kind} lengths ${JSON.stringify(lengths)} result ${i}`, 2e-5, 2e-4));
          wasmControls()?.setResidentBudget(1 << 30);
        });
      }
    }
  }
});

describe('weights a backend keeps prepared between calls', () => {
  before(() => setWasmPoison(true));
  after(() => setWasmPoison(false));
  for (const name of listBackends()) {
    it(`${name}: a layer's weight as a product's right operand, prepared again after a change`, () => {
      setBackend(name);
      const be = getBackend();
      const r = randomFrom(new Generator(78));
      // the last two: products big enough for the pool, their rows split between threads
      for (const [M, N, K] of [[1, 65, 256], [3, 7, 5], [2, 13, 130], [1, 1, 1], [13, 70, 300], [40, 70, 300]]) {
        const b = r(N * K), stamp = { owner: {}, version: 0 };
        const check = (bb: Float32Array, version: number, what: string): void => {
          for (const accumulate of [false, true]) {
            const a = r(M * K), c0 = r(M * N);
            const want = c0.slice(), got = c0.slice();
            referenceBackend.gemm(false, true, M, N, K, a, 0, bb, 0, want, 0, accumulate);
            be.gemm(false, true, M, N, K, a, 0, bb, 0, got, 0, accumulate, { owner: stamp.owner, version });
            assertClose(got, want, `gemm M=${M} N=${N} K=${K} ${what}${accumulate ? ' accumulate' : ''}`, 1e-5, 1e-5);
          }
        };
        check(b, 0, 'first call');
        check(b, 0, 'reused');
        for (let i = 0; i < b.length; i++) b[i] = 0.5 - b[i]!;
        check(b, 1, 'after an in-place change');
        check(r(N * K), 1, 'other arrays');
      }
    });
    it(`${name}: are prepared again when their version or arrays change, forward and backward`, () => {
      setBackend(name);
      const be = getBackend();
      const g = new Generator(77);
      const r = randomFrom(g);
      // the last: one row of a long sequence split by hidden units, every step's inputs projected
      // in one product per thread (more steps than a block of rows, more inputs than a block of k)
      for (const dims of [{ kind: 'lstm', T: 3, B: 2, I: 5, H: 9, P: 4 }, { kind: 'gru', T: 1, B: 1, I: 7, H: 16, P: 0 }, { kind: 'rnn_tanh', T: 4, B: 3, I: 2, H: 6, P: 0 },
        { kind: 'lstm', T: 67, B: 1, I: 300, H: 40, P: 0 }] as RecurrentDims[]) {
        const { kind, T, B, I, H, P } = dims;
        const Hout = P || H;
        const base = randomWeights(kind, I, H, P, true, (n) => r(n, 0.6));
        const stamp = { owner: {}, version: 0 };
        const x = r(T * B * I), h0 = r(B * Hout), c0 = kind === 'lstm' ? r(B * H) : null, dOut = r(T * B * Hout);
        const check = (w: RecurrentWeights, what: string): void => {
          const want = referenceBackend.recurrentForward(dims, w, x, h0, c0, false, true);
          const got = be.recurrentForward(dims, w, x, h0, c0, false, true);
          assertClose(got.out, want.out, `${kind} ${what}: out`);
          const gw = referenceBackend.recurrentBackward(dims, w, x, h0, c0, false, want, dOut, null, null);
          const gg = be.recurrentBackward(dims, w, x, h0, c0, false, got, dOut, null, null);
          for (const key of ['dx', 'dh0', 'dwih', 'dwhh', 'dwhr'] as const) if (gw[key]) assertClose(gg[key]!, gw[key]!, `${kind} ${what}: ${key}`, 2e-5, 2e-4);
          // the parameters' gradients added onto what a layer's gradients hold so far, in place
          const prior = { dwih: r(w.wih.length), dwhh: r(w.whh!.length), dbih: r(w.bih!.length), dbhh: r(w.bhh!.length), dwhr: w.whr ? r(w.whr.length) : null };
          const into = { dwih: prior.dwih.slice(), dwhh: prior.dwhh.slice(), dbih: prior.dbih.slice(), dbhh: prior.dbhh.slice(), dwhr: prior.dwhr?.slice() ?? null };
          const again = be.recurrentForward(dims, w, x, h0, c0, false, true);
          const gi = be.recurrentBackward(dims, w, x, h0, c0, false, again, dOut, null, null, undefined, null, into);
          for (const key of ['dwih', 'dwhh', 'dbih', 'dbhh', 'dwhr'] as const) {
            if (gi[key] !== null) throw new Error(`${kind} ${what}: ${key} returned although added onto its target`);
            if (!gw[key]) continue;
            const want = prior[key]!.map((v, i) => v + gw[key]![i]!);
            assertClose(into[key]!, want, `${kind} ${what}: ${key} added onto its target`, 2e-5, 2e-4);
          }
          assertClose(gi.dx!, gw.dx!, `${kind} ${what}: dx beside targets`, 2e-5, 2e-4);
        };
        const w: RecurrentWeights = { ...base, stamp };
        check(w, 'first call');
        // written in place, as an optimizer step does, then the version moves on
        for (const a of [w.wih, w.whh!, ...(w.whr ? [w.whr] : [])]) for (let i = 0; i < a.length; i++) a[i] = -0.9 * a[i]! + 0.05;
        check({ ...w, stamp: { owner: stamp.owner, version: 1 } }, 'after an in-place change');
        // new arrays under the same version (a parameter's storage replaced)
        const fresh = randomWeights(kind, I, H, P, true, (n) => r(n, 0.6));
        check({ ...fresh, stamp: { owner: stamp.owner, version: 1 } }, 'with other arrays');
      }
    });
  }
});

for (const name of listBackends()) {
  describe(`${name} stepper generation equals stepping and drawing`, () => {
    before(() => setWasmPoison(true));
    after(() => setWasmPoison(false));
    // [kind, I, H, V, O, head bias, temperature]: one row split by 8-unit blocks over threads
    // (H 256 and 272: even and not), H not a multiple of 8 (one thread), a head narrower than the
    // vocabulary, no head bias, greedy, and a vocabulary too big for precomputed input rows
    const cases = [
      ['lstm', 64, 256, 65, 65, true, 1], ['gru', 16, 272, 33, 33, true, 0.7], ['rnn_tanh', 5, 264, 40, 37, false, 1.3],
      ['rnn_relu', 3, 13, 7, 7, true, 1], ['lstm', 4, 9, 6, 5, false, 0], ['gru', 1, 1, 2, 2, true, 1], ['lstm', 4, 256, 4200, 5, true, 1],
    ] as const;
    for (const [kind, I, H, V, O, hb, temperature] of cases) {
      it(`${kind} I=${I} H=${H} V=${V} O=${O}${hb ? '' : ' no head bias'} temperature ${temperature}`, () => {
        setBackend(name);
        const be = getBackend();
        // values of this case's own, whatever ran before it
        const rng = new Generator(H * 31 + V);
        const rand = randomFrom(rng);
        const { sc, w } = stepperWeights(kind, I, H, 0, rand);
        // a head peaked enough that the draws neither repeat one token nor spread evenly
        const emb = rand(V * I), hw = rand(O * H, H > 16 ? 4 * sc : 0.5), hbias = hb ? rand(O) : null;
        const st = be.recurrentStepper({ kind, T: 1, B: 1, I, H, P: 0 }, w, { embedding: { weight: emb, V }, head: { weight: hw, bias: hbias, O } });
        const h0 = rand(H), c0 = kind === 'lstm' ? rand(H) : null;
        const n = 40;
        const uniforms = Float64Array.from({ length: n }, () => rng.random());
        const got = st.generate(1, n, h0, c0, { temperature, topK: 0, topP: 1 }, uniforms);
        // the specification: one step at a time, each token drawn by drawToken
        const want: number[] = [];
        let h: Float32Array | Float64Array = h0;
        let c: Float32Array | Float64Array | null = c0;
        let logits: ArrayLike<number> = [];
        let token = 1;
        for (let i = 0; i < n; i++) {
          const r = st.run(Int32Array.of(token), 1, 1, h, c);
          h = r.hN;
          c = r.cN;
          logits = r.logits!;
          token = drawToken(logits, temperature, 0, 1, uniforms[i]!);
          want.push(token);
        }
        assert.deepEqual(Array.from(got.ids), want, 'tokens');
        if (temperature > 0) assert.ok(new Set(want).size > Math.min(2, O - 1), `the draws vary: ${want.join(' ')}`);
        assertClose(got.hN, h, 'hN');
        if (c) assertClose(got.cN!, c, 'cN');
        assertClose(got.logits, logits, 'last logits');
        // and the same tokens as the reference backend's generation
        const ref = referenceBackend.recurrentStepper({ kind, T: 1, B: 1, I, H, P: 0 }, w, { embedding: { weight: emb, V }, head: { weight: hw, bias: hbias, O } });
        assert.deepEqual(Array.from(ref.generate(1, n, h0, c0, { temperature, topK: 0, topP: 1 }, uniforms).ids), want, 'the reference backend\'s tokens');
        assert.throws(() => st.generate(V, 2, h0, c0, { temperature, topK: 0, topP: 1 }, uniforms), /token id .* outside/);
        st.dispose();
      });
    }
    // stacked layers: the first with the embedding, the last with the head, all in one call
    // where the backend can (two LSTM layers split over threads; three small GRU layers)
    for (const [kind, L, I, H, V, temperature] of [['lstm', 2, 64, 256, 65, 1], ['gru', 3, 6, 16, 9, 0.8], ['rnn_tanh', 2, 3, 8, 5, 0]] as const) {
      it(`${L} ${kind} layers I=${I} H=${H} V=${V} temperature ${temperature}`, () => {
        setBackend(name);
        const be = getBackend();
        const rng = new Generator(L * 1000 + H);
        const rand = randomFrom(rng);
        const sc = H > 16 ? 1 / Math.sqrt(H) : 1;
        const emb = rand(V * I), hw = rand(V * H, H > 16 ? 4 * sc : 0.5), hbias = rand(V);
        const layers = Array.from({ length: L }, (_, l) => {
          const { w } = stepperWeights(kind, l === 0 ? I : H, H, 0, rand);
          const extras = { ...(l === 0 ? { embedding: { weight: emb, V } } : {}), ...(l === L - 1 ? { head: { weight: hw, bias: hbias, O: V } } : {}) };
          return { w, st: be.recurrentStepper({ kind, T: 1, B: 1, I: l === 0 ? I : H, H, P: 0 }, w, extras), ref: referenceBackend.recurrentStepper({ kind, T: 1, B: 1, I: l === 0 ? I : H, H, P: 0 }, w, extras) };
        });
        const h0 = layers.map(() => rand(H)), c0 = layers.map(() => (kind === 'lstm' ? rand(H) : null));
        const n = 30;
        const uniforms = Float64Array.from({ length: n }, () => rng.random());
        const above = (key: 'st' | 'ref') => layers.slice(1).map((ly, l) => ({ stepper: ly[key], h0: h0[l + 1]!, c0: c0[l + 1]! }));
        const got = layers[0]!.st.generate(1, n, h0[0]!, c0[0]!, { temperature, topK: 0, topP: 1 }, uniforms, above('st'));
        // the specification: every layer one step at a time, each token drawn by drawToken
        const h: (Float32Array | Float64Array)[] = [...h0];
        const c: (Float32Array | Float64Array | null)[] = [...c0];
        const want: number[] = [];
        let token = 1;
        for (let i = 0; i < n; i++) {
          let x: Float32Array | Float64Array | Int32Array = Int32Array.of(token);
          let logits: ArrayLike<number> = [];
          layers.forEach((ly, l) => {
            const r = ly.st.run(x, 1, 1, h[l]!, c[l]!);
            h[l] = r.hN;
            c[l] = r.cN;
            x = r.out;
            logits = r.logits ?? logits;
          });
          token = drawToken(logits, temperature, 0, 1, uniforms[i]!);
          want.push(token);
        }
        assert.deepEqual(Array.from(got.ids), want, 'tokens');
        if (temperature > 0) assert.ok(new Set(want).size > 2, `the draws vary: ${want.join(' ')}`);
        assertClose(got.hN, h[0]!, 'first layer hN');
        got.above.forEach((st, l) => {
          assertClose(st.hN, h[l + 1]!, `layer ${l + 1} hN`);
          if (c[l + 1]) assertClose(st.cN!, c[l + 1]!, `layer ${l + 1} cN`);
        });
        assert.deepEqual(Array.from(layers[0]!.ref.generate(1, n, h0[0]!, c0[0]!, { temperature, topK: 0, topP: 1 }, uniforms, above('ref')).ids), want, 'the reference backend\'s tokens');
        for (const ly of layers) ly.st.dispose();
      });
    }
  });
}
