import type { FloatArray } from '../../tensor/dtype.js';
import { type Shape, broadcastStrides, stridesOf } from '../../tensor/shape.js';
import { leadingSumWidth } from '../backend.js';

/**
 * For every element of a row-major walk over `shape`, its offset in an array read with `strides`
 * (0 on broadcast dimensions): the one index walk every strided kernel below shares.
 */
export function stridedOffsets(shape: Shape, strides: readonly number[]): Int32Array {
  const rank = shape.length;
  let n = 1;
  for (const d of shape) n *= d;
  const out = new Int32Array(n);
  const idx = new Array<number>(rank).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    out[i] = off;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      off += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      off -= strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

/** Sums x (xShape) into out (outShape: same rank, 1 on summed dimensions), in double precision. */
export function sumTo(x: FloatArray, xShape: Shape, out: FloatArray, outShape: Shape): void {
  // common case (bias gradients): summing leading dimensions into a trailing row
  const n = leadingSumWidth(xShape, outShape);
  if (n > 0) {
    const accRow = new Float64Array(n);
    for (let r = 0; r < x.length; r += n) for (let j = 0; j < n; j++) accRow[j] += x[r + j]!;
    for (let j = 0; j < n; j++) out[j] = accRow[j]!;
    return;
  }
  const to = stridedOffsets(xShape, broadcastStrides(outShape, xShape));
  const acc = new Float64Array(out.length);
  for (let i = 0; i < x.length; i++) acc[to[i]!] += x[i]!;
  for (let i = 0; i < out.length; i++) out[i] = acc[i]!;
}

/** Repeats x (xShape, same rank as outShape) along its size-1 dimensions. */
export function broadcastTo(x: FloatArray, xShape: Shape, out: FloatArray, outShape: Shape): void {
  const from = stridedOffsets(outShape, broadcastStrides(xShape, outShape));
  for (let i = 0; i < out.length; i++) out[i] = x[from[i]!]!;
}

/** out = x with dimensions reordered (out dim i = x dim perm[i]). */
export function permute(x: FloatArray, shape: Shape, perm: readonly number[], out: FloatArray): void {
  const xs = stridesOf(shape);
  const from = stridedOffsets(perm.map((p) => shape[p]!), perm.map((p) => xs[p]!));
  for (let i = 0; i < out.length; i++) out[i] = x[from[i]!]!;
}

/** Softmax or log-softmax over the middle axis of x viewed as (outer, n, inner), max-shifted. */
export function softmax(x: FloatArray, outer: number, n: number, inner: number, out: FloatArray, log: boolean): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      let m = -Infinity;
      for (let k = 0; k < n; k++) m = Math.max(m, x[base + k * inner]!);
      if (m === -Infinity) m = 0;
      let s = 0;
      for (let k = 0; k < n; k++) s += Math.exp(x[base + k * inner]! - m);
      if (log) {
        const ls = Math.log(s) + m;
        for (let k = 0; k < n; k++) out[base + k * inner] = x[base + k * inner]! - ls;
      } else {
        for (let k = 0; k < n; k++) out[base + k * inner] = Math.exp(x[base + k * inner]! - m) / s;
      }
    }
  }
}

/** softmax: dx = y * (g - sum(g * y)); log-softmax: dx = g - exp(y) * sum(g). */
export function softmaxBackward(y: FloatArray, g: FloatArray, outer: number, n: number, inner: number, out: FloatArray, log: boolean): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      let s = 0;
      if (log) {
        for (let k = 0; k < n; k++) s += g[base + k * inner]!;
        for (let k = 0; k < n; k++) out[base + k * inner] = g[base + k * inner]! - Math.exp(y[base + k * inner]!) * s;
      } else {
        for (let k = 0; k < n; k++) s += g[base + k * inner]! * y[base + k * inner]!;
        for (let k = 0; k < n; k++) out[base + k * inner] = y[base + k * inner]! * (g[base + k * inner]! - s);
      }
    }
  }
}

/** Cross-entropy's gradient from the log-softmax: coef[r] (exp(lp[r, c]) - [c == target[r]]). */
export function logSoftmaxNllBackward(lp: FloatArray, target: Int32Array, coef: Float64Array, rows: number, n: number, out: FloatArray): void {
  for (let r = 0; r < rows; r++) {
    const k = coef[r]!;
    const o = r * n;
    if (k === 0) {
      out.fill(0, o, o + n);
      continue;
    }
    for (let c = 0; c < n; c++) out[o + c] = k * Math.exp(lp[o + c]!);
    const t = target[r]!;
    if (t >= 0 && t < n) out[o + t] = k * (Math.exp(lp[o + t]!) - 1);
  }
}
