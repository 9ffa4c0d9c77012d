#!/usr/bin/env node
// Sequence-kernel harness: every backend's fused forward and BPTT backward for each layer kind
// on the lstm-lm shapes, GFLOP/s and the largest difference from the reference backend.
//   node bench/recurrent.mjs [--json]
import { referenceBackend, getBackend, setBackend, listBackends, backendInfo, Generator } from '../dist/internal.js';

const json = process.argv.includes('--json');
const g = new Generator(1);
const rand = (n, s = 0.2) => Float32Array.from({ length: n }, () => (g.random() * 2 - 1) * s);
const rows = [];
for (const kind of ['lstm', 'gru', 'rnn_tanh']) {
  const T = 64, B = 32, I = 64, H = 256, P = 0;
  const G = kind === 'lstm' ? 4 : kind === 'gru' ? 3 : 1;
  const dims = { kind, T, B, I, H, P };
  // PyTorch's initial scale: larger weights make a vanilla RNN chaotic, and then float32 rounding
  // differences (the reference sums in double) grow exponentially over the steps
  const k = 1 / Math.sqrt(H);
  const w = { wih: rand(G * H * I, k), whh: rand(G * H * H, k), bih: rand(G * H, k), bhh: rand(G * H, k), whr: null };
  const x = rand(T * B * I, 1), h0 = rand(B * H, 1), c0 = kind === 'lstm' ? rand(B * H, 1) : null, dOut = rand(T * B * H, 1);
  const flopsF = 2 * T * B * (I + H) * G * H;
  const ref = referenceBackend.recurrentForward(dims, w, x, h0, c0, false, true);
  const refG = referenceBackend.recurrentBackward(dims, w, x, h0, c0, false, ref, dOut, null, null);
  for (const name of listBackends()) {
    setBackend(name);
    const be = getBackend();
    const reps = name === 'reference' ? 1 : 10;
    let f = be.recurrentForward(dims, w, x, h0, c0, false, true);
    let gr = be.recurrentBackward(dims, w, x, h0, c0, false, f, dOut, null, null);
    const diff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    const maxDiff = Math.max(diff(f.out, ref.out), diff(gr.dx, refG.dx), diff(gr.dwhh, refG.dwhh), diff(gr.dwih, refG.dwih));
    let tf = 0, tb = 0;
    for (let r = 0; r < reps; r++) {
      f.cache?.release?.();
      let t = performance.now();
      f = be.recurrentForward(dims, w, x, h0, c0, false, true);
      tf += performance.now() - t;
      t = performance.now();
      gr = be.recurrentBackward(dims, w, x, h0, c0, false, f, dOut, null, null);
      tb += performance.now() - t;
    }
    rows.push({ kind, backend: name, fwdMs: +(tf / reps).toFixed(2), fwdGflops: +(flopsF / (tf / reps) / 1e6).toFixed(1), bwdMs: +(tb / reps).toFixed(2), bwdGflops: +((2 * flopsF) / (tb / reps) / 1e6).toFixed(1), maxDiff });
  }
}
if (json) for (const r of rows) console.log(JSON.stringify(r));
else {
  console.log(`backend info: ${JSON.stringify(backendInfo())}`);
  console.table(rows);
}
