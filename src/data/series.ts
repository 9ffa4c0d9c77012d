/**
 * Time series: a column of a CSV file, scalers fitted on the training part only (saved with the
 * model), differencing, and sliding windows. Layout: windows x (W, B, 1), targets y (B, 1).
 */
import { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';
import { readCsvRows } from './labelled.js';

/** A plain decimal number (after trimming): no hex, no blanks, no words. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Column names read as a row's time: a series has one row per value of it. */
const TIME_COLUMN = /^(date|time|timestamp|datetime|ds|period)$/i;

/** Options of `readCsvColumn`. */
export interface CsvColumnOptions {
  /** Keep only the rows where each of these columns holds this value (one series of several). */
  where?: Record<string, string>;
}

/**
 * The numbers of column `column` of a CSV text with a header row; errors name the row and value.
 * A file holding several series side by side (a time column such as 'date' whose values repeat)
 * is refused, with a hint to pick one with `where`.
 */
export async function readCsvColumn(text: string, column: string, who = 'readCsvColumn', options: CsvColumnOptions = {}): Promise<Float64Array> {
  const all = await readCsvRows(text, who, { trim: true });
  const columns = Object.keys(all[0]!);
  if (!columns.includes(column)) throw new Error(`${who}: no column '${column}' (columns: ${columns.join(', ')})`);
  const where = Object.entries(options.where ?? {});
  for (const [k] of where) if (!columns.includes(k)) throw new Error(`${who}: where names no column '${k}' (columns: ${columns.join(', ')})`);
  // row numbers as in the file (the header is row 1)
  const picked = all.map((r, i) => ({ r, row: i + 2 })).filter(({ r }) => where.every(([k, v]) => r[k] === v));
  if (picked.length === 0) throw new Error(`${who}: no row has ${where.map(([k, v]) => `${k}=${v}`).join(' and ')}`);
  const time = columns.find((c) => TIME_COLUMN.test(c) && c !== column);
  if (time) {
    const seen = new Map<string, number>();
    for (const { r, row } of picked) {
      const t = r[time]!;
      const first = seen.get(t);
      if (first !== undefined) {
        const others = columns.filter((c) => c !== column && c !== time && !where.some(([k]) => k === c));
        const group = others.find((c) => new Set(picked.map((p) => p.r[c])).size > 1);
        const hint = group ? `; keep one by its '${group}' (for example ${group}=${picked[0]!.r[group]})` : '';
        throw new Error(`${who}: column '${time}' holds '${t}' in rows ${first} and ${row}: the file holds several series${hint}`);
      }
      seen.set(t, row);
    }
  }
  const out = new Float64Array(picked.length);
  picked.forEach(({ r, row }, i) => {
    const raw = r[column] ?? '';
    const v = DECIMAL.test(raw) ? Number(raw) : NaN;
    if (!Number.isFinite(v)) throw new Error(`${who}: row ${row}, column '${column}' holds '${raw}', not a number`);
    out[i] = v;
  });
  return out;
}

export interface ScalerJSON {
  kind: 'standard' | 'minmax';
  a: number;
  b: number;
}

/** x -> (x - a) / b: standard (a mean, b std) or min-max (a min, b range); fitted on training data. */
export class Scaler {
  constructor(readonly kind: 'standard' | 'minmax', readonly a: number, readonly b: number) {
    if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) throw new Error(`Scaler: invalid parameters ${a}, ${b}`);
  }
  static fit(values: ArrayLike<number>, kind: 'standard' | 'minmax' = 'standard'): Scaler {
    const n = values.length;
    if (n < 2) throw new Error(`Scaler.fit: need at least 2 values, got ${n}`);
    if (kind === 'minmax') {
      let lo = Infinity, hi = -Infinity;
      for (let i = 0; i < n; i++) {
        lo = Math.min(lo, values[i]!);
        hi = Math.max(hi, values[i]!);
      }
      if (hi === lo) throw new Error('Scaler.fit: the values are constant');
      return new Scaler(kind, lo, hi - lo);
    }
    let mean = 0;
    for (let i = 0; i < n; i++) mean += values[i]!;
    mean /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (values[i]! - mean) ** 2;
    const sd = Math.sqrt(v / n);
    if (sd === 0) throw new Error('Scaler.fit: the values are constant');
    return new Scaler(kind, mean, sd);
  }
  transform(v: number): number {
    return (v - this.a) / this.b;
  }
  inverse(v: number): number {
    return v * this.b + this.a;
  }
  toJSON(): ScalerJSON {
    return { kind: this.kind, a: this.a, b: this.b };
  }
  static fromJSON(j: unknown): Scaler {
    const s = j as ScalerJSON;
    if (!s || (s.kind !== 'standard' && s.kind !== 'minmax')) throw new Error('Scaler.fromJSON: not a saved scaler');
    return new Scaler(s.kind, s.a, s.b);
  }
}

/** First differences: out[i] = v[i + 1] - v[i]. */
export function difference(v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(Math.max(0, v.length - 1));
  for (let i = 0; i < out.length; i++) out[i] = v[i + 1]! - v[i]!;
  return out;
}

/** B random windows of W values and the value after each: x (W, B, 1), y (B, 1). */
export function randomSeriesWindows(v: ArrayLike<number>, W: number, B: number, rng: Generator): { x: Tensor; y: Tensor } {
  if (v.length < W + 1) throw new Error(`randomSeriesWindows: the series has ${v.length} values, fewer than a window of ${W} and its target`);
  const x = new Float32Array(W * B);
  const y = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    const s = rng.int(v.length - W);
    for (let t = 0; t < W; t++) x[t * B + b] = v[s + t]!;
    y[b] = v[s + W]!;
  }
  return { x: new Tensor(x, [W, B, 1]), y: new Tensor(y, [B, 1]) };
}
