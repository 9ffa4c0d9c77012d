#!/usr/bin/env node
// Matrix-product harness: every backend's gemm on the shapes the lstm-lm workload uses,
// GFLOP/s and the largest difference from the reference backend.
//   node bench/gemm.mjs [--json]
import { referenceBackend } from '../dist/backend/index.js';
import { getBackend, setBackend, listBackends, backendInfo } from '../dist/internal.js';

const json = process.argv.includes('--json');
// [label, transA, transB, M, N, K]
const shapes = [
  ['input projection x @ Wih^T', false, true, 2048, 1024, 64],
  ['recurrent step h @ Whh^T', false, true, 32, 1024, 256],
  ['head seq @ W^T', false, true, 2048, 65, 256],
  ['dWhh = dA^T @ Hprev', true, false, 1024, 256, 2048],
  ['dx = dA @ Wih', false, false, 2048, 64, 1024],
  ['square 512', false, false, 512, 512, 512],
];
const rand = (n) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
const rows = [];
for (const [label, ta, tb, M, N, K] of shapes) {
  const a = rand(M * K), b = rand(K * N);
  const want = new Float32Array(M * N);
  referenceBackend.gemm(ta, tb, M, N, K, a, 0, b, 0, want, 0, false);
  for (const name of listBackends()) {
    setBackend(name);
    const be = getBackend();
    const c = new Float32Array(M * N);
    const flops = 2 * M * N * K;
    const reps = Math.max(1, Math.min(200, Math.round((name === 'reference' ? 2e8 : 3e9) / flops)));
    be.gemm(ta, tb, M, N, K, a, 0, b, 0, c, 0, false);
    let maxDiff = 0;
    for (let i = 0; i < c.length; i++) maxDiff = Math.max(maxDiff, Math.abs(c[i] - want[i]));
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) be.gemm(ta, tb, M, N, K, a, 0, b, 0, c, 0, false);
    const s = (performance.now() - t0) / 1000 / reps;
    rows.push({ shape: label, M, N, K, backend: name, gflops: +(flops / s / 1e9).toFixed(2), ms: +(s * 1e3).toFixed(3), maxDiff });
  }
}
if (json) for (const r of rows) console.log(JSON.stringify(r));
else {
  console.log(`backend info: ${JSON.stringify(backendInfo())}`);
  console.table(rows);
}
