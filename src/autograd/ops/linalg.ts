import { Tensor } from '../../tensor/tensor.js';
import { broadcastShapes, formatShape, numel } from '../../tensor/shape.js';
import type { FloatArray } from '../../tensor/dtype.js';
import { gradSink, result } from '../engine.js';
import { be, alloc, floatData, resultType, reduceTo, requireFloat } from './util.js';
import { reshape } from './shape.js';

/**
 * Matrix product with PyTorch's `matmul` rules: 1-D operands become a row (left) or a column
 * (right) vector and that dimension is dropped again; leading (batch) dimensions broadcast.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const who = 'matmul';
  if (!(b instanceof Tensor)) throw new Error(`${who}: the right operand must be a Tensor`);
  requireFloat(a, who, 'left operand');
  requireFloat(b, who, 'right operand');
  if (a.ndim === 0 || b.ndim === 0) throw new Error(`${who}: both operands need at least one dimension, got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  if (a.ndim === 1) {
    const r = matmul(reshape(a, [1, a.shape[0]!]), b);
    return reshape(r, [...r.shape.slice(0, -2), r.shape[r.ndim - 1]!]);
  }
  if (b.ndim === 1) {
    const r = matmul(a, reshape(b, [b.shape[0]!, 1]));
    return reshape(r, r.shape.slice(0, -1));
  }
  const n = a.shape[a.ndim - 2]!;
  const k = a.shape[a.ndim - 1]!;
  const k2 = b.shape[b.ndim - 2]!;
  const m = b.shape[b.ndim - 1]!;
  if (k !== k2) {
    throw new Error(`${who}: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} do not chain (${k} columns on the left, ${k2} rows on the right)`);
  }
  const dtype = resultType(a, b);
  const ad = floatData(a, dtype);
  const bd = floatData(b, dtype);
  const bk = be();
  if (b.ndim === 2) {
    // every leading dimension of a folds into rows: one product
    const rows = numel(a.shape.slice(0, -1));
    const shape = [...a.shape.slice(0, -1), m];
    const out = alloc(dtype, shape);
    bk.gemm(false, false, rows, m, k, ad, 0, bd, 0, out, 0, false);
    return result(who, out, shape, [a, b], (g) => {
      const gd = floatData(g, dtype);
      let da: Tensor | null = null;
      let db: Tensor | null = null;
      if (a.requiresGrad) {
        const d = alloc(dtype, a.shape);
        bk.gemm(false, true, rows, k, m, gd, 0, bd, 0, d, 0, false);
        da = reduceTo(new Tensor(d, a.shape), a.shape, a.dtype);
      }
      if (b.requiresGrad) {
        const d = alloc(dtype, b.shape);
        bk.gemm(true, false, k, m, rows, ad, 0, gd, 0, d, 0, false);
        db = reduceTo(new Tensor(d, b.shape), b.shape, b.dtype);
      }
      return [da, db];
    });
  }
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), who);
  const nb = numel(batch);
  const aFull = [...batch, n, k];
  const bFull = [...batch, k, m];
  const ae = expandData(ad, a.shape, aFull);
  const bE = expandData(bd, b.shape, bFull);
  const shape = [...batch, n, m];
  const out = alloc(dtype, shape);
  // the batch's products in one backend call
  bk.gemmBatched(false, false, nb, n, m, k, ae, bE, out);
  return result(who, out, shape, [a, b], (g) => {
    const gd = floatData(g, dtype);
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    if (a.requiresGrad) {
      const d = alloc(dtype, aFull);
      bk.gemmBatched(false, true, nb, n, k, m, gd, bE, d);
      da = reduceTo(new Tensor(d, aFull), a.shape, a.dtype);
    }
    if (b.requiresGrad) {
      const d = alloc(dtype, bFull);
      bk.gemmBatched(true, false, nb, k, m, n, ae, gd, d);
      db = reduceTo(new Tensor(d, bFull), b.shape, b.dtype);
    }
    return [da, db];
  });
}

/** The data of a (shape) repeated to full (a's shape right-aligned in it). */
function expandData(d: FloatArray, shape: readonly number[], full: readonly number[]): FloatArray {
  if (numel(shape) === numel(full)) return d;
  const padded = [...new Array<number>(full.length - shape.length).fill(1), ...shape];
  const out = new (d.constructor as new (n: number) => FloatArray)(numel(full));
  be().broadcastTo(d, padded, out, full);
  return out;
}

/**
 * x (..., in) @ weight (out, in)^T + bias (out): PyTorch's `F.linear`, one node, the weight
 * read in place (no transposed copy).
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null, who = 'linear'): Tensor {
  requireFloat(x, who, 'input');
  if (weight.ndim !== 2) throw new Error(`${who}: weight must be 2-D (out, in), got shape ${formatShape(weight.shape)}`);
  const [O, K] = weight.shape as [number, number];
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== K) {
    throw new Error(`${who}: input has ${x.shape[x.ndim - 1] ?? 0} features (shape ${formatShape(x.shape)}), expected ${K}`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== O)) throw new Error(`${who}: bias must have shape [${O}], got ${formatShape(bias.shape)}`);
  const dtype = resultType(x, weight);
  const xd = floatData(x, dtype);
  const wd = floatData(weight, dtype);
  const rows = x.size / K;
  const shape = [...x.shape.slice(0, -1), O];
  const out = alloc(dtype, shape);
  const bk = be();
  if (bias && rows > 0) {
    // every row starts as the bias (copied in doubling blocks) and the product accumulates onto it
    out.set(floatData(bias, dtype));
    for (let filled = O; filled < out.length; filled *= 2) out.copyWithin(filled, 0, Math.min(filled, out.length - filled));
  }
  // the weight's own array: a backend may keep it prepared between calls
  bk.gemm(false, true, rows, O, K, xd, 0, wd, 0, out, 0, bias !== null, wd === weight.data ? { owner: weight, version: weight.version } : undefined);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return result(who, out, shape, inputs, (g) => {
    const gd = floatData(g, dtype);
    // the three products in one backend call (one pass over g, one launch of the threads); a
    // weight and bias that are leaves get theirs added straight onto their gradients
    const dxd = x.requiresGrad ? alloc(dtype, x.shape) : null;
    const wants = (t: Tensor | null): t is Tensor => t !== null && t.requiresGrad;
    let dwd = wants(weight) ? gradSink(weight, dtype) : null;
    let dbd = wants(bias) ? gradSink(bias, dtype) : null;
    const sink = (!wants(weight) || dwd !== null) && (!wants(bias) || dbd !== null);
    if (!sink) {
      dwd = wants(weight) ? alloc(dtype, weight.shape) : null;
      dbd = wants(bias) ? alloc(dtype, [O]) : null;
    }
    bk.linearBackward(gd, xd, wd, rows, K, O, dxd, dwd, dbd, sink);
    const dx = dxd ? reduceTo(new Tensor(dxd, x.shape), x.shape, x.dtype) : null;
    const dw = dwd && !sink ? reduceTo(new Tensor(dwd, weight.shape), weight.shape, weight.dtype) : null;
    const db = dbd && bias && !sink ? reduceTo(new Tensor(dbd, [O]), [O], bias.dtype) : null;
    return bias ? [dx, dw, db] : [dx, dw];
  });
}
