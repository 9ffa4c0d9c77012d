import type { FloatArray } from '../../tensor/dtype.js';
import { type Shape, broadcastStrides, shapeEquals, stridesOf } from '../../tensor/shape.js';
import type { BinaryOp, UnaryOp } from '../backend.js';
import { stridedRuns } from './layout.js';

export function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

export function unary(op: UnaryOp, x: FloatArray, out: FloatArray): void {
  const n = x.length;
  switch (op) {
    case 'neg': for (let i = 0; i < n; i++) out[i] = -x[i]!; break;
    case 'exp': for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]!); break;
    case 'log': for (let i = 0; i < n; i++) out[i] = Math.log(x[i]!); break;
    case 'tanh': for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]!); break;
    case 'sigmoid': for (let i = 0; i < n; i++) out[i] = sigmoid(x[i]!); break;
    case 'relu': for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v > 0 ? v : v === v ? 0 : v; } break;
    case 'sqrt': for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]!); break;
    case 'abs': for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]!); break;
  }
}

export function unaryBackward(op: UnaryOp, x: FloatArray, y: FloatArray, g: FloatArray, out: FloatArray): void {
  const n = x.length;
  switch (op) {
    case 'neg': for (let i = 0; i < n; i++) out[i] = -g[i]!; break;
    case 'exp': for (let i = 0; i < n; i++) out[i] = g[i]! * y[i]!; break;
    case 'log': for (let i = 0; i < n; i++) out[i] = g[i]! / x[i]!; break;
    case 'tanh': for (let i = 0; i < n; i++) { const t = y[i]!; out[i] = g[i]! * (1 - t * t); } break;
    case 'sigmoid': for (let i = 0; i < n; i++) { const s = y[i]!; out[i] = g[i]! * s * (1 - s); } break;
    case 'relu': for (let i = 0; i < n; i++) out[i] = x[i]! > 0 ? g[i]! : 0; break;
    case 'sqrt': for (let i = 0; i < n; i++) out[i] = g[i]! / (2 * y[i]!); break;
    case 'abs': for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v > 0 ? g[i]! : v < 0 ? -g[i]! : 0; } break;
  }
}

export function pow(x: FloatArray, e: number, out: FloatArray): void {
  for (let i = 0; i < x.length; i++) out[i] = Math.pow(x[i]!, e);
}

function apply(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case 'add': return a + b;
    case 'sub': return a - b;
    case 'mul': return a * b;
    case 'div': return a / b;
  }
}

/** Elementwise a (op) b with broadcasting; fast paths for equal shapes and scalars. */
export function binary(op: BinaryOp, a: FloatArray, aShape: Shape, b: FloatArray, bShape: Shape, out: FloatArray, outShape: Shape): void {
  const n = out.length;
  if (a.length === n && b.length === n && shapeEquals(aShape, bShape)) {
    switch (op) {
      case 'add': for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!; return;
      case 'sub': for (let i = 0; i < n; i++) out[i] = a[i]! - b[i]!; return;
      case 'mul': for (let i = 0; i < n; i++) out[i] = a[i]! * b[i]!; return;
      case 'div': for (let i = 0; i < n; i++) out[i] = a[i]! / b[i]!; return;
    }
  }
  if (b.length === 1 && a.length === n) {
    const s = b[0]!;
    for (let i = 0; i < n; i++) out[i] = apply(op, a[i]!, s);
    return;
  }
  if (a.length === 1 && b.length === n) {
    const s = a[0]!;
    for (let i = 0; i < n; i++) out[i] = apply(op, s, b[i]!);
    return;
  }
  // general case: each operand read through its broadcast strides, a run at a time
  const { outer: [oo, ao, bo], n: run, inner: [, as, bs] } = stridedRuns(outShape, [stridesOf(outShape), broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
  for (let r = 0; r < oo!.length; r++) {
    const o0 = oo![r]!, a0 = ao![r]!, b0 = bo![r]!;
    switch (op) {
      case 'add': for (let j = 0; j < run; j++) out[o0 + j] = a[a0 + j * as!]! + b[b0 + j * bs!]!; break;
      case 'sub': for (let j = 0; j < run; j++) out[o0 + j] = a[a0 + j * as!]! - b[b0 + j * bs!]!; break;
      case 'mul': for (let j = 0; j < run; j++) out[o0 + j] = a[a0 + j * as!]! * b[b0 + j * bs!]!; break;
      case 'div': for (let j = 0; j < run; j++) out[o0 + j] = a[a0 + j * as!]! / b[b0 + j * bs!]!; break;
    }
  }
}
