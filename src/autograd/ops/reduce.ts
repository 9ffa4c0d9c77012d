import { Tensor } from '../../tensor/tensor.js';
import { normDim, numel } from '../../tensor/shape.js';
import type { FloatArray } from '../../tensor/dtype.js';
import { result } from '../engine.js';
import { be, alloc, floatData, floatType } from './util.js';

function normDims(dim: number | number[] | undefined, rank: number, who: string): number[] {
  if (dim === undefined) return Array.from({ length: rank }, (_, i) => i);
  const dims = (Array.isArray(dim) ? dim : [dim]).map((d) => normDim(d, rank, who));
  if (new Set(dims).size !== dims.length) throw new Error(`${who}: dim ${JSON.stringify(dim)} repeats a dimension`);
  return dims;
}

/** Sum over `dim` (all dimensions when omitted). */
export function sum(a: Tensor, dim?: number | number[], keepdim = false): Tensor {
  const who = 'sum';
  const dims = normDims(dim, a.ndim, who);
  const dtype = floatType(a);
  const keepShape = a.shape.map((s, i) => (dims.includes(i) ? 1 : s));
  const outShape = keepdim ? keepShape : a.shape.filter((_, i) => !dims.includes(i));
  const out = alloc(dtype, keepShape);
  be().sumTo(floatData(a, dtype), a.shape, out, keepShape);
  return result(who, out, outShape, [a], (g) => {
    const d = alloc(dtype, a.shape);
    be().broadcastTo(floatData(g, dtype), keepShape, d, a.shape);
    return [new Tensor(d, a.shape)];
  });
}

/** Mean over `dim` (all dimensions when omitted). */
export function mean(a: Tensor, dim?: number | number[], keepdim = false): Tensor {
  const dims = normDims(dim, a.ndim, 'mean');
  const count = dims.reduce((n, d) => n * a.shape[d]!, 1);
  const s = sum(a, dims, keepdim);
  return s.div(count);
}

function argmaxData(a: Tensor, dim: number | undefined, who: string): { idx: Int32Array; vals: FloatArray; outer: number; n: number; inner: number; keepShape: number[] } {
  const x = a.data;
  if (a.size === 0) throw new Error(`${who}: the tensor is empty`);
  const d = dim === undefined ? -1 : normDim(dim, a.ndim, who);
  const outer = d < 0 ? 1 : numel(a.shape.slice(0, d));
  const n = d < 0 ? a.size : a.shape[d]!;
  const inner = d < 0 ? 1 : numel(a.shape.slice(d + 1));
  const keepShape = d < 0 ? a.shape.map(() => 1) : a.shape.map((s, i) => (i === d ? 1 : s));
  const idx = new Int32Array(outer * inner);
  const vals = alloc(floatType(a), [outer * inner]);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let best = -Infinity;
      let bi = 0;
      for (let k = 0; k < n; k++) {
        const v = x[o * n * inner + k * inner + j]!;
        if (v > best || (v !== v && best === best)) {
          best = v;
          bi = k;
          if (v !== v) break; // NaN wins, like PyTorch
        }
      }
      idx[o * inner + j] = bi;
      vals[o * inner + j] = best;
    }
  }
  return { idx, vals, outer, n, inner, keepShape };
}

/** Maximum over `dim` (over everything when omitted); the gradient goes to the first maximum. */
export function max(a: Tensor, dim?: number, keepdim = false): Tensor {
  const who = 'max';
  const { idx, vals, outer, n, inner, keepShape } = argmaxData(a, dim, who);
  const outShape = dim === undefined ? (keepdim ? keepShape : []) : keepdim ? keepShape : a.shape.filter((_, i) => i !== normDim(dim, a.ndim, who));
  return result(who, vals, outShape, [a], (g) => {
    const gd = g.data;
    const d = alloc(floatType(a), a.shape);
    for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) d[o * n * inner + idx[o * inner + j]! * inner + j] = gd[o * inner + j]!;
    return [new Tensor(d, a.shape)];
  });
}

/** Index of the maximum over `dim` (of the flattened tensor when omitted); int32, not differentiable. */
export function argmax(a: Tensor, dim?: number, keepdim = false): Tensor {
  const who = 'argmax';
  const { idx, keepShape } = argmaxData(a, dim, who);
  const outShape = dim === undefined ? (keepdim ? keepShape : []) : keepdim ? keepShape : a.shape.filter((_, i) => i !== normDim(dim, a.ndim, who));
  return new Tensor(idx, outShape);
}
