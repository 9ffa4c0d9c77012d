import { Tensor } from '../../tensor/tensor.js';
import { formatShape, shapeEquals } from '../../tensor/shape.js';
import { result } from '../engine.js';
import { alloc, be, floatData, floatType, requireFloat, requireInt } from './util.js';
import type { FloatArray } from '../../tensor/dtype.js';

/** How a loss reduces over elements: their mean, their sum, or none (one value each). */
export type Reduction = 'mean' | 'sum' | 'none';

export function checkReduction(r: unknown, who: string): Reduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new Error(`${who}: reduction must be 'mean', 'sum' or 'none', got ${String(r)}`);
  return r;
}

/** Per-row weights of the targets (0 where ignored) and their sum, the targets checked. */
function targetWeights(target: Tensor, N: number, C: number, w: FloatArray | null, ignoreIndex: number, who: string): { wn: Float64Array; wsum: number } {
  const t = target.data;
  const wn = new Float64Array(N);
  let wsum = 0;
  for (let n = 0; n < N; n++) {
    const c = t[n]!;
    if (c === ignoreIndex) continue;
    if (c < 0 || c >= C) throw new Error(`${who}: target ${c} at position ${n} is out of range for ${C} classes`);
    wn[n] = w ? w[c]! : 1;
    wsum += wn[n]!;
  }
  return { wn, wsum };
}

/** Checks the shapes of a class loss: logits or log-probabilities (N, C), target (N), weight (C). */
function classShapes(input: Tensor, target: Tensor, weight: Tensor | null, who: string): [number, number] {
  requireFloat(input, who, 'input');
  requireInt(target, who, 'target');
  if (input.ndim !== 2) throw new Error(`${who}: input must be (N, C), got shape ${formatShape(input.shape)}`);
  const [N, C] = input.shape as [number, number];
  if (target.ndim !== 1 || target.shape[0] !== N) throw new Error(`${who}: target must be (N) = [${N}] to match input ${formatShape(input.shape)}, got ${formatShape(target.shape)}`);
  if (weight && !shapeEquals(weight.shape, [C])) throw new Error(`${who}: weight must have shape [${C}], got ${formatShape(weight.shape)}`);
  return [N, C];
}

/** The reduced (or per-row) loss -wn[n] lp[n, t[n]] as a tensor's data. */
function nllValues(lp: FloatArray, t: Int32Array | FloatArray, wn: Float64Array, wsum: number, N: number, C: number, reduction: Reduction, dtype: 'float32' | 'float64'): FloatArray {
  const losses = new Float64Array(N);
  let total = 0;
  for (let n = 0; n < N; n++) {
    if (wn[n] === 0) continue;
    losses[n] = -wn[n]! * lp[n * C + t[n]!]!;
    total += losses[n]!;
  }
  const out = alloc(dtype, reduction === 'none' ? [N] : []);
  if (reduction === 'none') out.set(losses);
  else out[0] = reduction === 'sum' ? total : total / wsum;
  return out;
}

/** The gradient's scale for row n given the output gradient. */
function rowScale(gd: ArrayLike<number>, n: number, wsum: number, reduction: Reduction): number {
  return reduction === 'none' ? gd[n]! : reduction === 'sum' ? gd[0]! : gd[0]! / wsum;
}

/**
 * Negative log-likelihood of int32 `target` (N) under log-probabilities `logp` (N, C),
 * with optional class weights (C) and an ignored target value. 'mean' divides by the summed
 * weights of the targets not ignored, as PyTorch does.
 */
export function nllLossOp(logp: Tensor, target: Tensor, weight: Tensor | null, ignoreIndex: number, reduction: Reduction, who: string): Tensor {
  const [N, C] = classShapes(logp, target, weight, who);
  const dtype = floatType(logp);
  const lp = floatData(logp, dtype);
  const t = target.data;
  const { wn, wsum } = targetWeights(target, N, C, weight ? floatData(weight, dtype) : null, ignoreIndex, who);
  const shape = reduction === 'none' ? [N] : [];
  return result(who, nllValues(lp, t, wn, wsum, N, C, reduction, dtype), shape, [logp], (g) => {
    const gd = g.data;
    const d = alloc(dtype, logp.shape);
    for (let n = 0; n < N; n++) {
      if (wn[n] === 0) continue;
      d[n * C + t[n]!] = -wn[n]! * rowScale(gd, n, wsum, reduction);
    }
    return [new Tensor(d, logp.shape)];
  });
}

/**
 * Cross-entropy of logits `x` (N, C) against int32 `target` (N): log-softmax and negative
 * log-likelihood as one node, whose gradient coef[n] (softmax(x)[n] - onehot(target[n])) is
 * formed in one pass (the same values as the two ops chained).
 */
export function crossEntropyOp(x: Tensor, target: Tensor, weight: Tensor | null, ignoreIndex: number, reduction: Reduction, who: string): Tensor {
  const [N, C] = classShapes(x, target, weight, who);
  const dtype = floatType(x);
  const lp = alloc(dtype, x.shape);
  be().softmax(floatData(x, dtype), N, C, 1, lp, true);
  const t = target.data as Int32Array;
  const { wn, wsum } = targetWeights(target, N, C, weight ? floatData(weight, dtype) : null, ignoreIndex, who);
  const shape = reduction === 'none' ? [N] : [];
  return result(who, nllValues(lp, t, wn, wsum, N, C, reduction, dtype), shape, [x], (g) => {
    const gd = g.data;
    const coef = new Float64Array(N);
    for (let n = 0; n < N; n++) if (wn[n] !== 0) coef[n] = wn[n]! * rowScale(gd, n, wsum, reduction);
    const d = alloc(dtype, x.shape);
    be().logSoftmaxNllBackward(lp, t, coef, N, C, d);
    return [new Tensor(d, x.shape)];
  });
}

/**
 * Binary cross-entropy on logits, computed stably:
 * l = (1 - y) x + (1 + (pw - 1) y) (log(1 + exp(-|x|)) + max(-x, 0)).
 */
export function bceWithLogitsOp(x: Tensor, y: Tensor, posWeight: Tensor | null, reduction: Reduction, who: string): Tensor {
  requireFloat(x, who, 'input');
  requireFloat(y, who, 'target');
  if (!shapeEquals(x.shape, y.shape)) throw new Error(`${who}: target shape ${formatShape(y.shape)} must equal input shape ${formatShape(x.shape)}`);
  const C = x.shape[x.ndim - 1] ?? 1;
  if (posWeight && !(posWeight.size === 1 || posWeight.size === C)) throw new Error(`${who}: posWeight must have 1 or ${C} elements, got shape ${formatShape(posWeight.shape)}`);
  const dtype = floatType(x);
  const xd = floatData(x, dtype);
  const yd = floatData(y, dtype);
  const pw = posWeight ? floatData(posWeight, dtype) : null;
  const n = xd.length;
  const pwAt = (i: number): number => (pw ? (pw.length === 1 ? pw[0]! : pw[i % C]!) : 1);
  const losses = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = xd[i]!;
    const lw = 1 + (pwAt(i) - 1) * yd[i]!;
    losses[i] = (1 - yd[i]!) * v + lw * (Math.log1p(Math.exp(-Math.abs(v))) + Math.max(-v, 0));
    total += losses[i]!;
  }
  const shape = reduction === 'none' ? x.shape : [];
  const out = alloc(dtype, shape);
  if (reduction === 'none') out.set(losses);
  else out[0] = reduction === 'sum' ? total : total / n;
  return result(who, out, shape, [x, y], (g) => {
    const gd = g.data;
    const dx = x.requiresGrad ? alloc(dtype, x.shape) : null;
    const dy = y.requiresGrad ? alloc(dtype, y.shape) : null;
    for (let i = 0; i < n; i++) {
      const scale = reduction === 'none' ? gd[i]! : reduction === 'sum' ? gd[0]! : gd[0]! / n;
      const v = xd[i]!;
      const p = pwAt(i);
      const lw = 1 + (p - 1) * yd[i]!;
      const sig = 1 / (1 + Math.exp(-v));
      if (dx) dx[i] = scale * ((1 - yd[i]!) - lw * (1 - sig));
      if (dy) dy[i] = scale * (-v + (p - 1) * (Math.log1p(Math.exp(-Math.abs(v))) + Math.max(-v, 0)));
    }
    return [dx ? new Tensor(dx, x.shape) : null, dy ? new Tensor(dy, y.shape) : null];
  });
}
