/**
 * Text for language models: a train/validation split, random windows (inputs and next-token
 * targets) drawn with a seeded generator, contiguous windows for carried state, and the
 * non-overlapping validation windows.
 * Layout: time-first, x (T, B) int32 ids, y (T*B) the next ids.
 */
import { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';

/** The first (1 - fraction) of the ids train, the rest validate. */
export function splitIds(ids: Int32Array, valFraction: number): { train: Int32Array; val: Int32Array } {
  if (!(valFraction >= 0 && valFraction < 1)) throw new Error(`splitIds: valFraction must be in [0, 1), got ${valFraction}`);
  const cut = Math.floor(ids.length * (1 - valFraction));
  return { train: ids.subarray(0, cut), val: ids.subarray(cut) };
}

/** B random windows of T + 1 ids: x (T, B) and the next-id targets y (T*B). */
export function randomWindows(ids: Int32Array, T: number, B: number, rng: Generator): { x: Tensor; y: Tensor } {
  if (ids.length < T + 1) throw new Error(`randomWindows: the text has ${ids.length} tokens, fewer than a window of ${T + 1}`);
  const x = new Int32Array(T * B);
  const y = new Int32Array(T * B);
  for (let b = 0; b < B; b++) {
    const start = rng.int(ids.length - T);
    for (let t = 0; t < T; t++) {
      x[t * B + b] = ids[start + t]!;
      y[t * B + b] = ids[start + t + 1]!;
    }
  }
  return { x: new Tensor(x, [T, B]), y: new Tensor(y, [T * B]) };
}

/** A batch of consecutive windows: x (T, B), y (T*B), and whether its rows start their stretches. */
export interface ContiguousBatch {
  x: Tensor;
  y: Tensor;
  /** true where every row starts its stretch again: a carried state is dropped before it */
  reset: boolean;
}

/**
 * Batches for truncated BPTT with carried state (Keras's stateful training, PyTorch's batchify
 * and detach loop): the ids are cut into B contiguous stretches, one per batch row; step s reads
 * window s mod W of every stretch (W windows of T ids, and their next ids, fit in each), so each
 * row carries on where its window of the step before ended, and the first window of each pass
 * is marked `reset`. Nothing is random: the same step gives the same batch.
 */
export class ContiguousWindows {
  /** ids per stretch */
  readonly stretch: number;
  /** windows per stretch: the steps of one pass over the ids */
  readonly windows: number;

  constructor(private readonly ids: Int32Array, readonly T: number, readonly B: number) {
    const who = 'ContiguousWindows';
    for (const [name, v] of [['T', T], ['B', B]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`${who}: ${name} must be a positive integer, got ${v}`);
    }
    this.stretch = Math.floor(ids.length / B);
    if (this.stretch < T + 1) {
      throw new Error(`${who}: ${ids.length} tokens make ${B} stretches of ${this.stretch}, shorter than one window of ${T + 1}; lower the batch or the window length`);
    }
    this.windows = Math.floor((this.stretch - 1) / T);
  }

  /** The batch of step `step` (0, 1, ...): window step mod `windows` of each stretch. */
  at(step: number): ContiguousBatch {
    if (!Number.isInteger(step) || step < 0) throw new Error(`ContiguousWindows.at: step must be a non-negative integer, got ${step}`);
    const { T, B } = this;
    const k = step % this.windows;
    const x = new Int32Array(T * B);
    const y = new Int32Array(T * B);
    for (let b = 0; b < B; b++) {
      const start = b * this.stretch + k * T;
      for (let t = 0; t < T; t++) {
        x[t * B + b] = this.ids[start + t]!;
        y[t * B + b] = this.ids[start + t + 1]!;
      }
    }
    return { x: new Tensor(x, [T, B]), y: new Tensor(y, [T * B]), reset: k === 0 };
  }
}

/** Non-overlapping windows of T + 1 ids over `ids`, each a batch of one: x (T, 1), y (T). */
export function* sequentialWindows(ids: Int32Array, T: number): IterableIterator<{ x: Tensor; y: Tensor }> {
  for (let start = 0; start + T + 1 <= ids.length; start += T) {
    yield { x: new Tensor(ids.slice(start, start + T), [T, 1]), y: new Tensor(ids.slice(start + 1, start + T + 1), [T]) };
  }
}

/** Right-pads token sequences into x (T, B) with `padId`, T the longest; returns their lengths. */
export function padBatch(seqs: readonly ArrayLike<number>[], padId = 0): { x: Tensor; lengths: number[] } {
  if (seqs.length === 0) throw new Error('padBatch: no sequences');
  const lengths = seqs.map((s) => s.length);
  if (lengths.some((l) => l === 0)) throw new Error(`padBatch: sequence ${lengths.indexOf(0)} is empty`);
  const T = Math.max(...lengths);
  const B = seqs.length;
  const x = new Int32Array(T * B).fill(padId);
  seqs.forEach((s, b) => {
    for (let t = 0; t < s.length; t++) x[t * B + b] = s[t]!;
  });
  return { x: new Tensor(x, [T, B]), lengths };
}
