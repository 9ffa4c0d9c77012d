#!/usr/bin/env node
// examples/digits-ctc.mjs's model trained here and in PyTorch from the same initial weights on
// the same batches of digit lines: the per-step CTC losses and gradient norms side by side, and
// their largest relative difference. The whole training step is compared at once: padded
// bidirectional LSTM over lines of different lengths (PyTorch: packed sequences), log-softmax,
// ctc_loss with 'mean', the gradient, its norm clipped at 5, Adam.
//
//   npm run build && node bench/digits-torch.mjs [--steps 40] [--augment 0] [--json]
//
// Needs /usr/bin/python3 with torch and numpy (BENCHMARKS.md); bench/digits_torch.py is the
// PyTorch side.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LSTM, Linear, Module, Adam, ctcLoss, clipGradNorm, manualSeed, Generator, saveSafetensors } from '../dist/index.js';
import { splitDigits, composeLine, batchOf } from '../examples/digit-lines.mjs';
import { mnistImages } from '../examples/mnist.mjs';

const argv = process.argv.slice(2);
const opt = (f, d) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : d);
const STEPS = Number(opt('--steps', '40'));
const AUGMENT = Number(opt('--augment', '0'));
if (!Number.isInteger(STEPS) || STEPS < 1 || STEPS > 10000) throw new Error(`--steps: expected an integer from 1 to 10000, got ${opt('--steps')}`);
const here = dirname(fileURLToPath(import.meta.url));

class Reader extends Module {
  constructor() {
    super();
    this.rnn = this.registerModule('rnn', new LSTM({ inputSize: 28, hiddenSize: 128, numLayers: 2, bidirectional: true }));
    this.head = this.registerModule('head', new Linear({ inFeatures: 256, outFeatures: 11 }));
  }
  forward(x, lengths) {
    return this.head.forward(this.rnn.forward(x, null, { lengths })[0]).logSoftmax(2);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'digits-torch-'));
try {
  const { trainImages } = splitDigits(mnistImages());
  manualSeed(3);
  const model = new Reader();
  writeFileSync(join(dir, 'init.safetensors'), saveSafetensors(model.stateDict()));
  const optimizer = new Adam(model.parameters(), { lr: 2e-3 });
  const lineRng = new Generator(12);
  const fd = openSync(join(dir, 'batches.bin'), 'w');
  const ours = [];
  for (let step = 0; step < STEPS; step++) {
    const lines = Array.from({ length: 32 }, () => composeLine(trainImages, lineRng, AUGMENT));
    const b = batchOf(lines);
    const S = b.y.shape[1];
    for (const p of [Int32Array.from([b.x.shape[0], lines.length, S]), b.x.data, Int32Array.from(b.lengths), b.y.data, Int32Array.from(b.targetLengths)]) {
      writeSync(fd, new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
    }
    optimizer.zeroGrad();
    const loss = ctcLoss(model.forward(b.x, b.lengths), b.y, b.lengths, b.targetLengths);
    loss.backward();
    const norm = clipGradNorm(model.parameters(), 5);
    optimizer.step();
    ours.push([loss.item(), Number(norm)]);
  }
  closeSync(fd);
  const r = spawnSync('/usr/bin/python3', [join(here, 'digits_torch.py'), dir, String(STEPS)], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } });
  if (r.status !== 0) throw new Error(`bench/digits_torch.py failed (${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n').slice(-1)[0]}`);
  const theirs = r.stdout.trim().split('\n').map((l) => l.split(' ').map(Number));
  let worstLoss = 0, worstNorm = 0;
  const rel = (a, b) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
  console.error('step  loss (recurrent)  loss (PyTorch)  grad norm (recurrent)  grad norm (PyTorch)');
  ours.forEach(([l, n], i) => {
    const [l2, n2] = theirs[i];
    worstLoss = Math.max(worstLoss, rel(l, l2));
    worstNorm = Math.max(worstNorm, rel(n, n2));
    console.error(`${String(i).padStart(4)}  ${l.toFixed(6).padStart(16)}  ${l2.toFixed(6).padStart(14)}  ${n.toFixed(5).padStart(21)}  ${n2.toFixed(5).padStart(19)}`);
  });
  const result = { task: 'digits-torch', steps: STEPS, augment: AUGMENT, max_rel_loss: worstLoss, max_rel_grad_norm: worstNorm };
  console.log(argv.includes('--json') ? JSON.stringify(result) : `largest relative difference over ${STEPS} steps: loss ${worstLoss.toExponential(2)}, gradient norm ${worstNorm.toExponential(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
