#!/usr/bin/env node
// Where one training step of an lm workload goes: mean milliseconds of each phase over 35 steps
// after 5 warm-ups (zeroGrad, recurrent forward, head, loss, backward, optimizer step).
//   node bench/phases.mjs [lstm|gru|rnn]
import { LSTM, GRU, RNN, Linear, crossEntropy, Adam, randn, randint, manualSeed } from '../dist/index.js';

manualSeed(0);
const kind = process.argv[2] ?? 'lstm';
const T = 64, B = 32, I = 64, V = 65, H = 256;
const Cls = kind === 'gru' ? GRU : kind === 'rnn' ? RNN : LSTM;
const rnn = new Cls({ inputSize: I, hiddenSize: H });
const head = new Linear({ inFeatures: H, outFeatures: V });
const opt = new Adam([...rnn.parameters(), ...head.parameters()], { lr: 1e-3 });
const x = randn([T, B, I]);
const y = randint(0, V, [T * B]);
const names = ['zeroGrad', 'recurrent', 'head', 'loss', 'backward', 'step'];
const sums = new Array(names.length).fill(0);
const mins = new Array(names.length).fill(Infinity);
const warm = 5, steps = Number(process.env.STEPS ?? 35);
for (let i = 0; i < warm + steps; i++) {
  const t = [performance.now()];
  opt.zeroGrad();
  t.push(performance.now());
  const [seq] = rnn.forward(x);
  t.push(performance.now());
  const logits = head.forward(seq).reshape([T * B, V]);
  t.push(performance.now());
  const loss = crossEntropy(logits, y);
  t.push(performance.now());
  loss.backward();
  t.push(performance.now());
  opt.step();
  t.push(performance.now());
  if (i >= warm) for (let k = 0; k < names.length; k++) { sums[k] += t[k + 1] - t[k]; mins[k] = Math.min(mins[k], t[k + 1] - t[k]); }
}
console.log(`${kind}-lm, ms per step (mean, min):`, Object.fromEntries(names.map((n, k) => [n, `${(sums[k] / steps).toFixed(2)}, ${mins[k].toFixed(2)}`])));
