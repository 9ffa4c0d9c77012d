/** Forecast and regression metrics over paired values. */
function check(a: ArrayLike<number>, b: ArrayLike<number>, who: string): void {
  if (a.length !== b.length || a.length === 0) throw new Error(`${who}: needs two non-empty series of one length, got ${a.length} and ${b.length}`);
}

/** Mean absolute error. */
export function mae(pred: ArrayLike<number>, actual: ArrayLike<number>): number {
  check(pred, actual, 'mae');
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += Math.abs(pred[i]! - actual[i]!);
  return s / pred.length;
}

/** Root mean squared error. */
export function rmse(pred: ArrayLike<number>, actual: ArrayLike<number>): number {
  check(pred, actual, 'rmse');
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += (pred[i]! - actual[i]!) ** 2;
  return Math.sqrt(s / pred.length);
}

/** Mean absolute percentage error, in percent (actual values must be non-zero). */
export function mape(pred: ArrayLike<number>, actual: ArrayLike<number>): number {
  check(pred, actual, 'mape');
  let s = 0;
  for (let i = 0; i < pred.length; i++) {
    if (actual[i] === 0) throw new Error(`mape: actual value ${i} is 0`);
    s += Math.abs((pred[i]! - actual[i]!) / actual[i]!);
  }
  return (100 * s) / pred.length;
}

/** The share of predictions equal to the actual classes. */
export function accuracy(pred: ArrayLike<number>, actual: ArrayLike<number>): number {
  check(pred, actual, 'accuracy');
  let n = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === actual[i]) n++;
  return n / pred.length;
}

/** counts[actual][predicted] over `numClasses` classes. */
export function confusionMatrix(pred: ArrayLike<number>, actual: ArrayLike<number>, numClasses: number): number[][] {
  check(pred, actual, 'confusionMatrix');
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`confusionMatrix: numClasses must be a positive integer, got ${numClasses}`);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < pred.length; i++) {
    const a = actual[i]!;
    const p = pred[i]!;
    if (!(Number.isInteger(a) && a >= 0 && a < numClasses) || !(Number.isInteger(p) && p >= 0 && p < numClasses)) {
      throw new Error(`confusionMatrix: item ${i} has classes ${a} (actual) and ${p} (predicted), expected integers in [0, ${numClasses})`);
    }
    m[a]![p]!++;
  }
  return m;
}

/** Levenshtein distance between two sequences of tokens (insertions, deletions and substitutions each cost 1). */
export function editDistance(a: ArrayLike<number | string>, b: ArrayLike<number | string>): number {
  if (a.length < b.length) [a, b] = [b, a];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Array<number>(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}
