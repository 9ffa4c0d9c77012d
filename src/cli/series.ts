/// <reference types="node" />
/**
 * `recurrent train series` and `recurrent forecast`: an LSTM forecaster of one CSV column
 * (optionally on its differences), scaled with training statistics only, with a backtest
 * against the naive and seasonal-naive forecasts, and recursive multi-step forecasts with a plot.
 */
import { parseArgs } from 'node:util';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Tensor } from '../tensor/tensor.js';
import { Generator, manualSeed } from '../tensor/random.js';
import { noGrad } from '../autograd/engine.js';
import { SequenceModel } from '../nn/sequence-model.js';
import { mseLoss } from '../nn/losses.js';
import { Adam } from '../optim/optimizers.js';
import { readCsvColumn, Scaler, difference, randomSeriesWindows } from '../data/series.js';
import { fit } from '../train/fit.js';
import { rmse, mae } from '../train/metrics.js';
import { lineChartSvg } from '../train/plot.js';
import { saveModelFile, loadModelFile } from '../io/files.js';
import { UsageError, num, positive as pos } from './args.js';

export const TRAIN_SERIES_USAGE = `Usage: recurrent train series --data CSV --column NAME --out MODEL [options]

Trains an LSTM to predict the next value of a CSV column from the previous --window values (of
its differences unless --no-difference), scaled with statistics of the training part only; the
last --test values are held out and forecast --horizon steps ahead from every origin in them,
against the naive and seasonal-naive forecasts.

Options:
  --data CSV          a CSV file with a header row
  --column NAME       the column to forecast
  --out MODEL         the model file to write
  --window W          input length (default 36)
  --horizon H         steps ahead in the backtest (default 12)
  --season S          the seasonal-naive lag (default 12)
  --test N            values held out at the end (default 120)
  --hidden H          hidden size (default 64)
  --steps N           optimizer steps (default 2000)
  --lr LR             Adam's learning rate (default 0.003)
  --no-difference     model the values themselves
  --seed S            seed (default 1)
  --json              print the backtest's figures on stdout
`;

export const FORECAST_USAGE = `Usage: recurrent forecast --model MODEL --data CSV [--horizon H] [--plot FILE.svg] [--json]

Forecasts the model's column of the CSV --horizon steps beyond its last row.
`;


export async function readSeries(path: string, column: string): Promise<Float64Array> {
  if (!existsSync(path)) throw new Error(`the data file ${path} does not exist`);
  const text = readFileSync(path, 'utf8');
  if (text.trim().length === 0) throw new Error(`the data file ${path} is empty`);
  return readCsvColumn(text, column, path);
}

/** Recursive forecasts of `horizon` steps for every history (model space values), in one batch. */
function forecastModelSpace(model: SequenceModel, histories: number[][], W: number, horizon: number): number[][] {
  const O = histories.length;
  const hist = histories.map((h) => [...h]);
  const out: number[][] = histories.map(() => []);
  model.eval();
  noGrad(() => {
    for (let h = 0; h < horizon; h++) {
      const x = new Float32Array(W * O);
      hist.forEach((w, b) => w.slice(-W).forEach((v, t) => (x[t * O + b] = v)));
      const [pred] = model.forward(new Tensor(x, [W, O, 1]));
      hist.forEach((w, b) => {
        w.push(pred.data[b]!);
        out[b]!.push(pred.data[b]!);
      });
    }
  });
  return out;
}

export interface SeriesExtras {
  task: 'series';
  column: string;
  window: number;
  difference: boolean;
  scaler: ReturnType<Scaler['toJSON']>;
  /** The seasonal-naive lag of training (absent in older files). */
  season?: number;
}

/** Forecasts `horizon` values after y[origin - 1] from the values before `origin`. */
export function forecastFrom(model: SequenceModel, ex: SeriesExtras, y: Float64Array, origins: number[], horizon: number): number[][] {
  const scaler = Scaler.fromJSON(ex.scaler);
  const W = ex.window;
  const series = ex.difference ? difference(y) : y;
  const scaled = Array.from(series, (v) => scaler.transform(v));
  // the model's inputs end just before `origin`: differences d[o - 1 - W .. o - 2] or values y[o - W .. o - 1]
  const histories = origins.map((o) => (ex.difference ? scaled.slice(o - 1 - W, o - 1) : scaled.slice(o - W, o)));
  const preds = forecastModelSpace(model, histories, W, horizon);
  return preds.map((p, b) => {
    let level = y[origins[b]! - 1]!;
    return p.map((v) => {
      const u = scaler.inverse(v);
      if (!ex.difference) return u;
      level += u;
      return level;
    });
  });
}

/** Figures of a backtest: forecasts of H steps from every origin in [start, N - H]. */
export interface BacktestResult {
  origins: number;
  horizon: number;
  rmse: number;
  mae: number;
  seasonal_naive_rmse: number;
  naive_rmse: number;
}

/**
 * Forecasts H steps ahead from every origin from `start` (at least the season and the window
 * back) to N - H, against the naive (last value) and seasonal-naive (the value S steps back)
 * forecasts. Null when there is no such origin.
 */
export function backtest(model: SequenceModel, ex: SeriesExtras, y: Float64Array, start: number, H: number, S: number): BacktestResult | null {
  const N = y.length;
  const origins: number[] = [];
  for (let o = Math.max(start, S, ex.window + 2); o + H <= N; o++) origins.push(o);
  if (origins.length === 0) return null;
  const preds = forecastFrom(model, ex, y, origins, H).flat();
  const actual = origins.flatMap((o) => Array.from({ length: H }, (_, h) => y[o + h]!));
  const seasonal = origins.flatMap((o) => Array.from({ length: H }, (_, h) => y[o + h - S * Math.ceil((h + 1) / S)]!));
  const naive = origins.flatMap((o) => Array.from({ length: H }, () => y[o - 1]!));
  return { origins: origins.length, horizon: H, rmse: rmse(preds, actual), mae: mae(preds, actual), seasonal_naive_rmse: rmse(seasonal, actual), naive_rmse: rmse(naive, actual) };
}

export async function trainSeries(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args, strict: true, options: {
      data: { type: 'string' }, column: { type: 'string' }, out: { type: 'string' }, window: { type: 'string' }, horizon: { type: 'string' },
      season: { type: 'string' }, test: { type: 'string' }, hidden: { type: 'string' }, steps: { type: 'string' }, lr: { type: 'string' },
      'no-difference': { type: 'boolean' }, seed: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(TRAIN_SERIES_USAGE);
    return;
  }
  for (const k of ['data', 'column', 'out'] as const) if (!values[k]) throw new UsageError(`train series: --${k} is required\n\n${TRAIN_SERIES_USAGE}`);
  const W = num(values.window, 'window', 36, pos, 'a positive integer');
  const H = num(values.horizon, 'horizon', 12, pos, 'a positive integer');
  const S = num(values.season, 'season', 12, pos, 'a positive integer');
  const TEST = num(values.test, 'test', 120, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');
  const hidden = num(values.hidden, 'hidden', 64, pos, 'a positive integer');
  const steps = num(values.steps, 'steps', 2000, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');
  const lr = num(values.lr, 'lr', 3e-3, (x) => x > 0, 'a positive number');
  const seed = num(values.seed, 'seed', 1, Number.isInteger, 'an integer');
  const diff = !values['no-difference'];
  const y = await readSeries(values.data!, values.column!);
  const N = y.length;
  const trainEnd = N - TEST;
  if (trainEnd < W + 3) throw new Error(`${values.data}: ${N} values leave ${trainEnd} for training, fewer than a window of ${W} and its targets; lower --test or --window`);
  const series = diff ? difference(y) : y;
  const trainPart = series.subarray(0, diff ? trainEnd - 1 : trainEnd);
  const scaler = Scaler.fit(trainPart);
  const scaled = Float64Array.from(trainPart, (v) => scaler.transform(v));
  manualSeed(seed);
  const model = new SequenceModel({ rnn: { kind: 'lstm', inputSize: 1, hiddenSize: hidden }, head: { outFeatures: 1 }, output: 'last' });
  const optimizer = new Adam(model.parameters(), { lr });
  process.stderr.write(`${values.data}: ${N} values of '${values.column}'; training on the first ${trainEnd}, ${TEST} held out\n`);
  fit({
    model, optimizer, steps, rng: new Generator(seed + 1), clipNorm: 1, progress: true, reportEvery: 250, itemsPerStep: 64,
    batch: (_s, rng) => randomSeriesWindows(scaled, W, 64, rng),
    loss: ({ x, y: t }) => mseLoss(model.forward(x)[0], t),
  });
  const extras: SeriesExtras = { task: 'series', column: values.column!, window: W, difference: diff, scaler: scaler.toJSON(), season: S };
  let result: Record<string, unknown> = { steps, out: values.out };
  const bt = backtest(model, extras, y, trainEnd, H, S);
  if (bt) {
    result = { ...result, ...bt };
    process.stderr.write(`backtest, ${H} steps ahead from ${bt.origins} origins: RMSE ${bt.rmse.toFixed(4)} (seasonal naive ${bt.seasonal_naive_rmse.toFixed(4)}, naive ${bt.naive_rmse.toFixed(4)})\n`);
  }
  saveModelFile(values.out!, model, extras as unknown as Record<string, unknown>);
  process.stderr.write(`saved ${values.out}; forecast with: npx recurrent forecast --model ${values.out} --data ${values.data} --plot forecast.svg\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
}

export async function forecast(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args, strict: true, options: { model: { type: 'string' }, data: { type: 'string' }, horizon: { type: 'string' }, plot: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(FORECAST_USAGE);
    return;
  }
  for (const k of ['model', 'data'] as const) if (!values[k]) throw new UsageError(`forecast: --${k} is required\n\n${FORECAST_USAGE}`);
  const H = num(values.horizon, 'horizon', 12, pos, 'a positive integer');
  if (!existsSync(values.model!)) throw new Error(`the model file ${values.model} does not exist`);
  const { model, extras } = loadModelFile(values.model!);
  if (extras['task'] !== 'series') throw new Error(`${values.model} is not a series model (trained with 'recurrent train series')`);
  const ex = extras as unknown as SeriesExtras;
  const y = await readSeries(values.data!, ex.column);
  if (y.length < ex.window + 2) throw new Error(`${values.data}: ${y.length} values, fewer than the model's window of ${ex.window} (+2)`);
  const preds = forecastFrom(model, ex, y, [y.length], H)[0]!;
  process.stdout.write(values.json ? `${JSON.stringify({ column: ex.column, horizon: H, forecast: preds })}\n` : `${preds.map((v) => v.toFixed(4)).join('\n')}\n`);
  if (values.plot) {
    const N = y.length;
    const start = Math.max(0, N - 4 * H);
    const pts = [
      ...Array.from({ length: N - start }, (_, i) => ({ series: 'history', x: start + i, y: y[start + i]! })),
      { series: 'forecast', x: N - 1, y: y[N - 1]! },
      ...preds.map((v, h) => ({ series: 'forecast', x: N + h, y: v })),
    ];
    writeFileSync(values.plot, await lineChartSvg(pts, { title: `${ex.column}: ${H}-step forecast`, xTitle: 'row', yTitle: ex.column }));
    process.stderr.write(`plot: ${values.plot}\n`);
  }
}
