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

/**
 * A strided walk over `shape` in runs: adjacent dimensions that every operand reads
 * contiguously with respect to each other are merged, the innermost merged dimension is a run
 * of `n` elements read with each operand's `inner` stride, and `outer[k]` holds operand k's
 * offset at the start of each run. Broadcasts and permutations then cost one offset per run
 * rather than per element.
 */
export function stridedRuns(shape: Shape, strides: readonly (readonly number[])[]): { outer: Int32Array[]; n: number; inner: number[] } {
  const dims = shape.map((d, i) => ({ d, s: strides.map((st) => st[i]!) })).filter((x) => x.d !== 1);
  if (dims.length === 0) return { outer: strides.map(() => Int32Array.of(0)), n: 1, inner: strides.map(() => 0) };
  const merged = [dims[dims.length - 1]!];
  for (let i = dims.length - 2; i >= 0; i--) {
    const cur = merged[0]!;
    const next = dims[i]!;
    if (next.s.every((s, k) => s === cur.s[k]! * cur.d)) merged[0] = { d: next.d * cur.d, s: cur.s };
    else merged.unshift(next);
  }
  const last = merged[merged.length - 1]!;
  const outerShape = merged.slice(0, -1).map((m) => m.d);
  return { outer: strides.map((_, k) => stridedOffsets(outerShape, merged.slice(0, -1).map((m) => m.s[k]!))), n: last.d, inner: last.s };
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
  const { outer: [xo, to], n: run, inner: [, ts] } = stridedRuns(xShape, [stridesOf(xShape), broadcastStrides(outShape, xShape)]);
  const acc = new Float64Array(out.length);
  for (let r = 0; r < to!.length; r++) {
    const x0 = xo![r]!, t0 = to![r]!;
    for (let j = 0; j < run; j++) acc[t0 + j * ts!] += x[x0 + j]!;
  }
  for (let i = 0; i < out.length; i++) out[i] = acc[i]!;
}

/** Repeats x (xShape, same rank as outShape) along its size-1 dimensions. */
export function broadcastTo(x: FloatArray, xShape: Shape, out: FloatArray, outShape: Shape): void {
  const { outer: [oo, xo], n: run, inner: [, xs] } = stridedRuns(outShape, [stridesOf(outShape), broadcastStrides(xShape, outShape)]);
  for (let r = 0; r < oo!.length; r++) {
    const o0 = oo![r]!, x0 = xo![r]!;
    for (let j = 0; j < run; j++) out[o0 + j] = x[x0 + j * xs!]!;
  }
}

/** out = x with dimensions reordered (out dim i = x dim perm[i]). */
export function permute(x: FloatArray, shape: Shape, perm: readonly number[], out: FloatArray): void {
  const xs = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]!);
  const { outer: [oo, xo], n: run, inner: [, step] } = stridedRuns(outShape, [stridesOf(outShape), perm.map((p) => xs[p]!)]);
  for (let r = 0; r < oo!.length; r++) {
    const o0 = oo![r]!, x0 = xo![r]!;
    for (let j = 0; j < run; j++) out[o0 + j] = x[x0 + j * step!]!;
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
