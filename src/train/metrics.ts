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
