/**
 * Forecasting with a model trained on one series (as `recurrent train series` and the
 * playground train it): recursive multi-step forecasts from any origins, and a backtest against
 * the naive and seasonal-naive forecasts.
 */
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/engine.js';
import type { SequenceModel } from '../nn/sequence-model.js';
import { Scaler, difference } from '../data/series.js';
import { rmse, mae } from './metrics.js';

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

/** What a forecaster's model file carries beside its weights (its `extras`). */
export interface SeriesExtras {
  task: 'series';
  column: string;
  window: number;
  difference: boolean;
  scaler: ReturnType<Scaler['toJSON']>;
  /** The seasonal-naive lag of training (absent in older files). */
  season?: number;
  /** The backtest's horizon in training: forecast's default (absent in older files). */
  horizon?: number;
  /** The rows of the CSV the series was read from (absent: all). */
  where?: Record<string, string>;
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

/** Why a backtest of these sizes has no origin, or null when it has one. */
export function noBacktestReason(N: number, start: number, window: number, H: number, S: number): string | null {
  const first = Math.max(start, S, window + 2);
  if (first + H <= N) return null;
  return `a forecast from row ${first} (at least the season ${S} and the window ${window} + 2 in, and after the training part) needs ${H} values after it (--horizon), and the series has ${N}; lower --horizon or --season, or raise --test`;
}

