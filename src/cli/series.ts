/// <reference types="node" />
/**
 * `recurrent train series` and `recurrent forecast`: an LSTM forecaster of one CSV column
 * (optionally on its differences), scaled with training statistics only, with a backtest
 * against the naive and seasonal-naive forecasts, and recursive multi-step forecasts with a plot.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { Generator, manualSeed } from '../tensor/random.js';
import { SequenceModel } from '../nn/sequence-model.js';
import { mseLoss } from '../nn/losses.js';
import { Adam } from '../optim/optimizers.js';
import { readCsvColumn, Scaler, difference, randomSeriesWindows } from '../data/series.js';
import { fit } from '../train/fit.js';
import { lineChartSvg } from '../train/plot.js';
import { forecastFrom, backtest, noBacktestReason, type SeriesExtras } from '../train/forecast.js';
import { saveModelFile, loadModelFile, writeFileAtomic } from '../io/files.js';
import { UsageError, intOpt, trainingOptions, regulariserOptions, regulariserUsage, REGULARISER_OPTIONS } from './args.js';
import { checkOutputs, checkInput } from './paths.js';
import { planResume, namedOptions, remedy, reportResult } from './run.js';

export const TRAIN_SERIES_USAGE = `Usage: recurrent train series --data CSV --column NAME --out MODEL [options]

Trains an LSTM to predict the next value of a CSV column from the previous --window values (of
its differences unless --no-difference), scaled with statistics of the training part only; the
last --test values are held out and forecast --horizon steps ahead from every origin in them,
against the naive and seasonal-naive forecasts. Training that diverges (a loss that is not
finite or 3 times the naive forecast's, or a backtest 3 times worse than naive) stops with exit
code 1 and writes no model.

Options:
  --data CSV          a CSV file with a header row
  --column NAME       the column to forecast
  --where COL=VALUE   keep only the rows where column COL holds VALUE (one series of a file that
                      holds several, such as symbol=AAPL); may be repeated
  --out MODEL         the model file to write (atomically; a link is followed; never --data)
  --window W          input length, 1-100000 (default 36)
  --horizon H         steps ahead in the backtest, 1-10000 (default 12; also forecast's default)
  --season S          the seasonal-naive lag, 1-100000 (default 12)
  --test N            values held out at the end, 0-1e9 (default 120)
  --hidden H          hidden size, 1-16384 (default 64)
${regulariserUsage(20)}  --steps N           optimizer steps, 0-1e9 (default 2000)
  --lr LR             Adam's learning rate, above 0, at most 1000 (default 0.003)
  --clip C            gradient norm clip, above 0, at most 1e6 (default 1)
  --no-difference     model the values themselves
  --checkpoint PATH   write a checkpoint there (every --checkpoint-every steps, 1-1e9, default 500)
  --resume            continue from --checkpoint with its settings (--lr, --clip, --steps and
                      --checkpoint-every may change; the others must match)
  --seed S            seed, 0 to 2^53 - 1 (default 1)
  --json              print the backtest's figures on stdout
`;

export const FORECAST_USAGE = `Usage: recurrent forecast --model MODEL --data CSV [options]

Forecasts the model's column of the CSV --horizon steps beyond its last row, one value per line
on stdout (or, with --json, one line {"column", "horizon", "forecast"}).

Options:
  --model MODEL       a model file trained with 'recurrent train series'
  --data CSV          the CSV (the rows of its series, as in training)
  --where COL=VALUE   keep only these rows (default: the model's own --where)
  --horizon H         steps ahead, 1-10000 (default: the model's training --horizon)
  --plot FILE.svg     draw the history and the forecast (written atomically; a link is followed)
  --json              one JSON line on stdout
`;


/** The rows a --where option keeps: COL=VALUE pairs. */
export function parseWhere(values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of values ?? []) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new UsageError(`--where must be COLUMN=VALUE, got '${w}'`);
    out[w.slice(0, eq)] = w.slice(eq + 1);
  }
  return out;
}

export async function readSeries(path: string, column: string, where: Record<string, string> = {}): Promise<Float64Array> {
  checkInput(path, 'data file');
  const text = readFileSync(path, 'utf8');
  if (text.trim().length === 0) throw new Error(`the data file ${path} is empty`);
  return readCsvColumn(text, column, path, { where });
}

/** The naive forecast's mean squared error on the next value of every window: the trivial predictor's loss. */
function naiveMse(scaled: Float64Array, zero: number, W: number, diff: boolean): number {
  let sum = 0;
  let n = 0;
  for (let t = W; t < scaled.length; t++, n++) sum += (scaled[t]! - (diff ? zero : scaled[t - 1]!)) ** 2;
  return sum / n;
}

export async function trainSeries(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args, strict: true, options: {
      data: { type: 'string' }, column: { type: 'string' }, where: { type: 'string', multiple: true }, out: { type: 'string' }, window: { type: 'string' },
      horizon: { type: 'string' }, season: { type: 'string' }, test: { type: 'string' }, hidden: { type: 'string' }, steps: { type: 'string' },
      lr: { type: 'string' }, clip: { type: 'string' }, 'no-difference': { type: 'boolean' }, checkpoint: { type: 'string' }, 'checkpoint-every': { type: 'string' },
      resume: { type: 'boolean' }, seed: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
      ...REGULARISER_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(TRAIN_SERIES_USAGE);
    return;
  }
  for (const k of ['data', 'column', 'out'] as const) if (!values[k]) throw new UsageError(`train series: --${k} is required\n\n${TRAIN_SERIES_USAGE}`);
  const where = parseWhere(values.where);
  const given = {
    ...trainingOptions(values, { lr: 3e-3, clip: 1, steps: 2000 }),
    column: values.column!,
    where: JSON.stringify(where),
    window: intOpt(values.window, 'window', 36, 'window'),
    horizon: intOpt(values.horizon, 'horizon', 12, 'horizon'),
    season: intOpt(values.season, 'season', 12, 'season'),
    test: intOpt(values.test, 'test', 120, 'rows'),
    hidden: intOpt(values.hidden, 'hidden', 64, 'size'),
    ...regulariserOptions(values),
    'no-difference': !!values['no-difference'],
  };
  if (values.resume && !values.checkpoint) throw new UsageError('--resume needs --checkpoint PATH');
  checkOutputs([{ flag: 'out', path: values.out }, { flag: 'checkpoint', path: values.checkpoint }], [{ flag: 'data', path: values.data }]);
  const explicit = namedOptions(values);
  const plan = planResume(values.checkpoint, values.resume, given, explicit, ['lr', 'clip', 'steps', 'checkpoint-every']);
  const c = plan.config;
  const W = c.window, H = c.horizon, S = c.season, TEST = c.test;
  const diff = !c['no-difference'];
  const y = await readSeries(values.data!, c.column, where);
  const N = y.length;
  const trainEnd = N - TEST;
  if (trainEnd < W + 3) throw new Error(`${values.data}: ${N} values leave ${trainEnd} for training, fewer than a window of ${W} and its targets; lower --test or --window`);
  const series = diff ? difference(y) : y;
  const trainPart = series.subarray(0, diff ? trainEnd - 1 : trainEnd);
  const scaler = Scaler.fit(trainPart);
  const scaled = Float64Array.from(trainPart, (v) => scaler.transform(v));
  manualSeed(c.seed);
  const model = new SequenceModel({ rnn: { kind: 'lstm', inputSize: 1, hiddenSize: c.hidden, recurrentDropout: c['recurrent-dropout'], zoneout: c.zoneout }, head: { outFeatures: 1 }, output: 'last' });
  const optimizer = new Adam(model.parameters(), { lr: c.lr });
  const skipped = noBacktestReason(N, trainEnd, W, H, S);
  process.stderr.write(`${values.data}: ${N} values of '${c.column}'${Object.keys(where).length ? ` where ${Object.entries(where).map(([k, v]) => `${k}=${v}`).join(', ')}` : ''}; training on the first ${trainEnd}, ${TEST} held out\n`);
  if (skipped) process.stderr.write(`no backtest: ${skipped}\n`);
  const baseline = naiveMse(scaled, scaler.transform(0), W, diff);
  fit({
    model, optimizer, steps: c.steps, rng: new Generator(c.seed + 1), clipNorm: c.clip, progress: true, reportEvery: 250, itemsPerStep: 64,
    batch: (_s, rng) => randomSeriesWindows(scaled, W, 64, rng),
    loss: ({ x, y: t }) => mseLoss(model.forward(x)[0], t),
    checkpoint: values.checkpoint ? { every: c['checkpoint-every'], write: (b) => writeFileAtomic(values.checkpoint!, b), extras: () => ({ config: c }) } : undefined,
    resumeFrom: plan.bytes,
    onResume: () => (optimizer.lr = c.lr),
    // the naive forecast's error (in the model's scaled units), when it has one
    divergence: baseline > 0 ? { baseline } : undefined,
    remedy: remedy(c.lr, c.clip),
  });
  const extras: SeriesExtras = { task: 'series', column: c.column, window: W, difference: diff, scaler: scaler.toJSON(), season: S, horizon: H, ...(Object.keys(where).length ? { where } : {}) };
  let result: Record<string, unknown> = { steps: c.steps, out: values.out };
  let human = `saved ${values.out}`;
  if (!skipped) {
    const bt = backtest(model, extras, y, trainEnd, H, S)!;
    result = { ...result, ...bt };
    human = `backtest, ${H} steps ahead from ${bt.origins} origins: RMSE ${bt.rmse.toFixed(4)} (seasonal naive ${bt.seasonal_naive_rmse.toFixed(4)}, naive ${bt.naive_rmse.toFixed(4)}); ${human}`;
    if (!(bt.rmse <= 3 * bt.naive_rmse)) {
      throw new Error(`training diverged: the backtest's RMSE ${bt.rmse.toPrecision(5)} is more than 3 times the naive forecast's ${bt.naive_rmse.toPrecision(4)}; ${remedy(c.lr, c.clip)}`);
    }
  } else result = { ...result, backtest: null, backtest_skipped: skipped };
  saveModelFile(values.out!, model, extras as unknown as Record<string, unknown>);
  process.stderr.write(`forecast with: npx recurrent forecast --model ${values.out} --data ${values.data} --plot forecast.svg\n`);
  reportResult(values.json, human, result);
}

export async function forecast(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args, strict: true, options: {
      model: { type: 'string' }, data: { type: 'string' }, where: { type: 'string', multiple: true }, horizon: { type: 'string' }, plot: { type: 'string' },
      json: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(FORECAST_USAGE);
    return;
  }
  for (const k of ['model', 'data'] as const) if (!values[k]) throw new UsageError(`forecast: --${k} is required\n\n${FORECAST_USAGE}`);
  const hGiven = values.horizon === undefined ? undefined : intOpt(values.horizon, 'horizon', 12, 'horizon');
  checkInput(values.model!, 'model file');
  checkOutputs([{ flag: 'plot', path: values.plot }], [{ flag: 'data', path: values.data }, { flag: 'model', path: values.model }]);
  const { model, extras } = loadModelFile(values.model!);
  if (extras['task'] !== 'series') throw new Error(`${values.model} is not a series model (trained with 'recurrent train series')`);
  const ex = extras as unknown as SeriesExtras;
  const H = hGiven ?? ex.horizon ?? 12;
  const y = await readSeries(values.data!, ex.column, values.where ? parseWhere(values.where) : ex.where ?? {});
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
    writeFileAtomic(values.plot, new TextEncoder().encode(await lineChartSvg(pts, { title: `${ex.column}: ${H}-step forecast`, xTitle: 'row', yTitle: ex.column })));
    process.stderr.write(`plot: ${values.plot}\n`);
  }
}
