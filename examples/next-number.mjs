#!/usr/bin/env node
// The first LSTM example: given 1, 2, 3, 4, 5, predict 6. The LSTM learns from arithmetic
// progressions (random start and step, scaled by 1/100) to predict the next number, then
// continues sequences it has never seen.
//
//   node examples/next-number.mjs [--steps 3000] [--json]
import { SequenceModel, Adam, CosineAnnealingLR, mseLoss, tensor, manualSeed, Generator, fit, noGrad } from 'recurrent';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : 'true']);
  return acc;
}, []));
const STEPS = Number(args.steps ?? 3000);
const T = 5;
const B = 64;
const SCALE = 100;

/** B progressions of T numbers, start in [-20, 60), step in [-2, 12); targets: the next number. */
function batch(rng) {
  const x = new Float32Array(T * B);
  const y = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    const start = -20 + rng.random() * 80;
    const step = -2 + rng.random() * 14;
    for (let t = 0; t < T; t++) x[t * B + b] = (start + step * t) / SCALE;
    y[b] = (start + step * T) / SCALE;
  }
  return { x: tensor(x, [T, B, 1]), y: tensor(y, [B, 1]) };
}

manualSeed(1);
const model = new SequenceModel({ rnn: { kind: 'lstm', inputSize: 1, hiddenSize: 32 }, head: { outFeatures: 1 }, output: 'last' });
const optimizer = new Adam(model.parameters(), { lr: 1e-2 });
fit({
  model, optimizer, steps: STEPS, scheduler: new CosineAnnealingLR(optimizer, { tMax: STEPS }), rng: new Generator(2), progress: !args.json, reportEvery: 250, itemsPerStep: B,
  batch: (_s, rng) => batch(rng),
  loss: ({ x, y }) => mseLoss(model.forward(x)[0], y),
});

const predict = (seq) => noGrad(() => model.eval().forward(tensor(Float32Array.from(seq, (v) => v / SCALE), [seq.length, 1, 1]))[0].item() * SCALE);
const cases = [[1, 2, 3, 4, 5], [10, 20, 30, 40, 50], [7, 10, 13, 16, 19], [42, 44, 46, 48, 50]];
const results = cases.map((c) => ({ input: c, expected: 2 * c[4] - c[3], predicted: predict(c) }));
for (const r of results) console.error(`${r.input.join(', ')} -> ${r.predicted.toFixed(2)} (next: ${r.expected})`);
if (args.json) console.log(JSON.stringify({ results }));
