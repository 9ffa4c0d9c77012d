import type { FloatArray } from '../../tensor/dtype.js';
import { type Shape, broadcastStrides, stridesOf } from '../../tensor/shape.js';

/** Sums x (xShape) into out (outShape: same rank, 1 on summed dimensions), in double precision. */
export function sumTo(x: FloatArray, xShape: Shape, out: FloatArray, outShape: Shape): void {
  const rank = xShape.length;
  const so = broadcastStrides(outShape, xShape);
  const acc = new Float64Array(out.length);
  const idx = new Array<number>(rank).fill(0);
  let io = 0;
  for (let i = 0; i < x.length; i++) {
    acc[io] += x[i]!;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      io += so[d]!;
      if (idx[d]! < xShape[d]!) break;
      io -= so[d]! * xShape[d]!;
      idx[d] = 0;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = acc[i]!;
}

/** Repeats x (xShape, same rank as outShape) along its size-1 dimensions. */
export function broadcastTo(x: FloatArray, xShape: Shape, out: FloatArray, outShape: Shape): void {
  const rank = outShape.length;
  const sx = broadcastStrides(xShape, outShape);
  const idx = new Array<number>(rank).fill(0);
  let ix = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = x[ix]!;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      ix += sx[d]!;
      if (idx[d]! < outShape[d]!) break;
      ix -= sx[d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
}

/** out = x with dimensions reordered (out dim i = x dim perm[i]). */
export function permute(x: FloatArray, shape: Shape, perm: readonly number[], out: FloatArray): void {
  const rank = shape.length;
  const xs = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]!);
  const st = perm.map((p) => xs[p]!);
  const idx = new Array<number>(rank).fill(0);
  let ix = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = x[ix]!;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      ix += st[d]!;
      if (idx[d]! < outShape[d]!) break;
      ix -= st[d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
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
