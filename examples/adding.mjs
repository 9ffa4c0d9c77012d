#!/usr/bin/env node
// The adding problem (Hochreiter & Schmidhuber 1997): a sequence of random numbers in [0, 1) with
// two of them marked; the target is their sum. The marks sit far apart (one in each half), so
// the answer needs memory across the whole sequence: a vanilla RNN's gradients vanish and it
// learns only to answer the mean (1, MSE 1/6 = 0.167); LSTM and GRU learn the task.
//
//   node examples/adding.mjs [--length 100] [--steps 4000] [--hidden 64] [--plot adding.svg] [--json]
import { SequenceModel, Adam, mseLoss, addingProblem, noGrad, manualSeed, Generator, fit, lineChartSvg, checkWritable, writeFileAtomic } from 'recurrent';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : 'true']);
  return acc;
}, []));
// the plot's path checked before training, not after
try {
  if (args.plot) checkWritable(args.plot, '--plot');
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
const T = Number(args.length ?? 100);
const STEPS = Number(args.steps ?? 4000);
const H = Number(args.hidden ?? 64);
const B = 64;

const batch = (rng, n = B) => addingProblem(T, n, rng);
const test = batch(new Generator(999), 1000);
const results = {};
const curves = [];
for (const kind of ['rnn', 'lstm', 'gru']) {
  manualSeed(1);
  const model = new SequenceModel({ rnn: { kind, inputSize: 2, hiddenSize: H }, head: { outFeatures: 1 }, output: 'last' });
  const optimizer = new Adam(model.parameters(), { lr: 2e-3 });
  const t0 = performance.now();
  fit({
    model, optimizer, steps: STEPS, rng: new Generator(2), clipNorm: 1, reportEvery: 50,
    batch: (_s, rng) => batch(rng),
    loss: ({ x, y }) => mseLoss(model.forward(x)[0], y),
    onEvent: (e) => { if (e.type === 'step') curves.push({ series: kind.toUpperCase(), x: e.step, y: e.meanLoss }); },
  });
  const mse = noGrad(() => mseLoss(model.eval().forward(test.x)[0], test.y).item());
  results[kind] = { testMse: mse, seconds: (performance.now() - t0) / 1000 };
  console.error(`${kind.toUpperCase().padEnd(4)} test MSE ${mse.toFixed(4)}  (${results[kind].seconds.toFixed(1)} s)`);
}
console.error(`always answering 1: MSE ${(1 / 6).toFixed(4)}`);
if (args.plot) {
  writeFileAtomic(args.plot, new TextEncoder().encode(await lineChartSvg(curves, { title: `The adding problem, length ${T}: training MSE`, xTitle: 'step', yTitle: 'MSE (log scale)', logY: true })));
  console.error(`plot: ${args.plot}`);
}
if (args.json) console.log(JSON.stringify({ length: T, steps: STEPS, hidden: H, ...results }));
