#!/usr/bin/env node
// Forecasting monthly CO2 at Mauna Loa (vega-datasets): an LSTM on the month-to-month changes
// (scaled with statistics of the training years only) forecasts 12 months ahead, recursively,
// from every month of the last 10 years; its RMSE is compared with the naive forecast (the last
// value) and the seasonal-naive one (the value 12 months earlier).
//
//   node examples/co2.mjs [--steps 2000] [--plot co2.svg] [--json]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  SequenceModel, Adam, mseLoss, tensor, noGrad, manualSeed, Generator, fit, readCsvColumn, Scaler, difference, randomSeriesWindows,
  rmse, mae, mape, lineChartSvg, checkWritable, writeFileAtomic,
} from 'recurrent';

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
const STEPS = Number(args.steps ?? 2000);
const W = 36, HORIZON = 12, TEST = 120, B = 64;

const require = createRequire(import.meta.url);
const pkgDir = (() => {
  // the package exports no data paths: find its folder from the main entry
  let d = dirname(require.resolve('vega-datasets'));
  while (!d.endsWith('vega-datasets')) d = dirname(d);
  return d;
})();
const csv = readFileSync(join(pkgDir, 'data', 'co2-concentration.csv'), 'utf8');
const y = await readCsvColumn(csv, 'CO2');
const N = y.length;
const trainEnd = N - TEST; // months before this train
const d = difference(y); // d[i] = y[i + 1] - y[i]
const scaler = Scaler.fit(d.subarray(0, trainEnd - 1)); // training changes only
const ds = Float64Array.from(d, (v) => scaler.transform(v));

manualSeed(3);
const model = new SequenceModel({ rnn: { kind: 'lstm', inputSize: 1, hiddenSize: 64 }, head: { outFeatures: 1 }, output: 'last' });
const optimizer = new Adam(model.parameters(), { lr: 3e-3 });
fit({
  model, optimizer, steps: STEPS, rng: new Generator(4), clipNorm: 1, progress: !args.json, reportEvery: 250,
  batch: (_s, rng) => randomSeriesWindows(ds.subarray(0, trainEnd - 1), W, B, rng),
  loss: ({ x, y: t }) => mseLoss(model.forward(x)[0], t),
});

// every origin o in the test years: forecast y[o .. o + 11] from y[0 .. o - 1], all origins in one batch
const origins = [];
for (let o = trainEnd; o + HORIZON <= N; o++) origins.push(o);
const O = origins.length;
const hist = origins.map((o) => Array.from(ds.subarray(o - 1 - W, o - 1))); // the W changes before o
const preds = origins.map(() => []);
model.eval();
noGrad(() => {
  for (let h = 0; h < HORIZON; h++) {
    const x = new Float32Array(W * O);
    hist.forEach((w, b) => w.slice(-W).forEach((v, t) => (x[t * O + b] = v)));
    const [out] = model.forward(tensor(x, [W, O, 1]));
    hist.forEach((w, b) => {
      w.push(out.data[b]);
      preds[b].push(scaler.inverse(out.data[b]));
    });
  }
});
const ours = [], naive = [], seasonal = [], actual = [];
origins.forEach((o, b) => {
  let level = y[o - 1];
  for (let h = 0; h < HORIZON; h++) {
    level += preds[b][h];
    ours.push(level);
    naive.push(y[o - 1]);
    seasonal.push(y[o + h - 12]);
    actual.push(y[o + h]);
  }
});
const result = {
  origins: O, horizon: HORIZON,
  lstm: { rmse: rmse(ours, actual), mae: mae(ours, actual), mape: mape(ours, actual) },
  naive: { rmse: rmse(naive, actual), mae: mae(naive, actual), mape: mape(naive, actual) },
  seasonalNaive: { rmse: rmse(seasonal, actual), mae: mae(seasonal, actual), mape: mape(seasonal, actual) },
};
console.error(`12-month-ahead forecasts from ${O} origins in the last ${TEST / 12} years (ppm):`);
for (const [k, v] of Object.entries(result).filter(([, v]) => typeof v === 'object')) console.error(`  ${k.padEnd(14)} RMSE ${v.rmse.toFixed(3)}  MAE ${v.mae.toFixed(3)}  MAPE ${v.mape.toFixed(3)}%`);
if (args.plot) {
  const last = origins.length - 1, o = origins[last];
  const pts = [];
  for (let i = o - 48; i < o + HORIZON; i++) pts.push({ series: 'actual', x: i, y: y[i] });
  for (let h = 0; h < HORIZON; h++) {
    pts.push({ series: 'LSTM forecast', x: o + h, y: ours[last * HORIZON + h] });
    pts.push({ series: 'seasonal naive', x: o + h, y: seasonal[last * HORIZON + h] });
  }
  writeFileAtomic(args.plot, new TextEncoder().encode(await lineChartSvg(pts, { title: 'CO2 at Mauna Loa: the last 12-month forecast', xTitle: 'month index', yTitle: 'CO2 (ppm)' })));
  console.error(`plot: ${args.plot}`);
}
if (args.json) console.log(JSON.stringify(result));
