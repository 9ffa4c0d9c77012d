/**
 * Synthetic tasks that test memory over long sequences, the reason gated cells exist.
 */
import { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';

/**
 * A batch of the adding problem (Hochreiter & Schmidhuber 1997): each sequence holds `length`
 * random numbers in [0, 1) (channel 0) with two of them marked (channel 1), one in each half;
 * the target is the marked numbers' sum. Answering the mean (1) scores an MSE of 1/6; doing
 * better needs memory across the sequence. Returns x (length, batch, 2), time-first, and y
 * (batch, 1).
 *
 * @example
 * ```ts
 * const { x, y } = addingProblem(100, 64, new Generator(1));
 * const loss = mseLoss(model.forward(x)[0], y); // a SequenceModel with output 'last'
 * ```
 */
export function addingProblem(length: number, batch: number, rng: Generator): { x: Tensor; y: Tensor } {
  const who = 'addingProblem';
  if (!Number.isInteger(length) || length < 2 || length > 1e6) throw new Error(`${who}: length must be a whole number from 2 to 1e6, got ${String(length)}`);
  if (!Number.isInteger(batch) || batch < 1 || batch > 1e6) throw new Error(`${who}: batch must be a whole number from 1 to 1e6, got ${String(batch)}`);
  if (length * batch > 1e8) throw new Error(`${who}: length x batch must be at most 1e8, got ${length * batch}`);
  const T = length, n = batch;
  const half = Math.floor(T / 2);
  const x = new Float32Array(T * n * 2);
  const y = new Float32Array(n);
  for (let b = 0; b < n; b++) {
    const i = rng.int(half);
    const j = half + rng.int(T - half);
    for (let t = 0; t < T; t++) x[(t * n + b) * 2] = rng.random();
    x[(i * n + b) * 2 + 1] = 1;
    x[(j * n + b) * 2 + 1] = 1;
    y[b] = x[(i * n + b) * 2]! + x[(j * n + b) * 2]!;
  }
  return { x: new Tensor(x, [T, n, 2]), y: new Tensor(y, [n, 1]) };
}
