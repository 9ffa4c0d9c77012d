import { Tensor, type TensorLike } from '../../tensor/tensor.js';
import { broadcastShapes } from '../../tensor/shape.js';
import { convert, type DType, type FloatArray, allocate } from '../../tensor/dtype.js';
import type { BinaryOp, UnaryOp } from '../../backend/backend.js';
import { result } from '../engine.js';
import { be, alloc, asTensor, floatData, floatType, resultType, reduceTo } from './util.js';

function binary(op: BinaryOp, a: Tensor, bIn: TensorLike): Tensor {
  const b = asTensor(bIn, a, op);
  const dtype = resultType(a, b);
  const shape = broadcastShapes(a.shape, b.shape, op);
  const ad = floatData(a, dtype);
  const bd = floatData(b, dtype);
  const out = alloc(dtype, shape);
  be().binary(op, ad, a.shape, bd, b.shape, out, shape);
  return result(op, out, shape, [a, b], (g) => {
    const ga = a.requiresGrad;
    const gb = b.requiresGrad;
    switch (op) {
      case 'add':
        return [ga ? reduceTo(g, a.shape, a.dtype) : null, gb ? reduceTo(g, b.shape, b.dtype) : null];
      case 'sub':
        return [ga ? reduceTo(g, a.shape, a.dtype) : null, gb ? reduceTo(neg(g), b.shape, b.dtype) : null];
      case 'mul':
        return [ga ? reduceTo(mul(g, b), a.shape, a.dtype) : null, gb ? reduceTo(mul(g, a), b.shape, b.dtype) : null];
      case 'div':
        return [
          ga ? reduceTo(div(g, b), a.shape, a.dtype) : null,
          gb ? reduceTo(neg(div(mul(g, a), mul(b, b))), b.shape, b.dtype) : null,
        ];
    }
  });
}

export const add = (a: Tensor, b: TensorLike): Tensor => binary('add', a, b);
export const sub = (a: Tensor, b: TensorLike): Tensor => binary('sub', a, b);
export const mul = (a: Tensor, b: TensorLike): Tensor => binary('mul', a, b);
export const div = (a: Tensor, b: TensorLike): Tensor => binary('div', a, b);

function unary(op: UnaryOp, a: Tensor): Tensor {
  const dtype = floatType(a);
  const x = floatData(a, dtype);
  const y = alloc(dtype, a.shape);
  be().unary(op, x, y);
  return result(op, y, a.shape, [a], (g) => {
    const dx = alloc(dtype, a.shape);
    be().unaryBackward(op, x, y, floatData(g, dtype), dx);
    return [new Tensor(dx, a.shape)];
  });
}

export const neg = (a: Tensor): Tensor => unary('neg', a);
export const exp = (a: Tensor): Tensor => unary('exp', a);
export const log = (a: Tensor): Tensor => unary('log', a);
export const tanh = (a: Tensor): Tensor => unary('tanh', a);
export const sigmoid = (a: Tensor): Tensor => unary('sigmoid', a);
export const relu = (a: Tensor): Tensor => unary('relu', a);
export const sqrt = (a: Tensor): Tensor => unary('sqrt', a);
export const abs = (a: Tensor): Tensor => unary('abs', a);

export function pow(a: Tensor, exponent: number): Tensor {
  if (typeof exponent !== 'number' || !Number.isFinite(exponent)) {
    throw new Error(`pow: exponent must be a finite number, got ${String(exponent)}`);
  }
  const dtype = floatType(a);
  const x = floatData(a, dtype);
  const y = alloc(dtype, a.shape);
  be().pow(x, exponent, y);
  return result('pow', y, a.shape, [a], (g) => {
    const d = alloc(dtype, a.shape);
    be().pow(x, exponent - 1, d);
    const gd = floatData(g, dtype);
    for (let i = 0; i < d.length; i++) d[i] = gd[i]! * exponent * d[i]!;
    return [new Tensor(d, a.shape)];
  });
}

/** Converts to `dtype`; between float types the gradient is converted back. */
export function cast(a: Tensor, dtype: DType): Tensor {
  if (a.dtype === dtype) return a;
  if (dtype === 'int32') {
    const d = allocate('int32', a.size);
    for (let i = 0; i < d.length; i++) d[i] = Math.trunc(a.data[i]!);
    return new Tensor(d, a.shape);
  }
  const data = convert(a.data, dtype) as FloatArray;
  if (a.dtype === 'int32') return new Tensor(data, a.shape);
  return result('cast', data, a.shape, [a], (g) => [new Tensor(convert(g.data, a.dtype), a.shape)]);
}

export function clone(a: Tensor): Tensor {
  if (a.dtype === 'int32') return new Tensor(Int32Array.from(a.data), a.shape);
  const d = (a.data as FloatArray).slice();
  return result('clone', d, a.shape, [a], (g) => [g]);
}

export function detach(a: Tensor): Tensor {
  return new Tensor(a.data, a.shape);
}


/**
 * x with `value` wherever `mask` (broadcast to x's shape) is nonzero, as PyTorch's
 * `masked_fill`; the gradient passes to x where the mask is zero. `mask` holds 0/1 (int32, or
 * a float tensor of zeros and ones).
 */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  const who = 'maskedFill';
  if (!(mask instanceof Tensor)) throw new Error(`${who}: mask must be a Tensor of 0/1 values`);
  if (typeof value !== 'number') throw new Error(`${who}: value must be a number, got ${typeof value}`);
  if (x.dtype === 'int32') throw new Error(`${who}: input must be a floating-point tensor, got int32`);
  const shape = broadcastShapes(x.shape, mask.shape, who);
  if (shape.length !== x.ndim || shape.some((s, i) => s !== x.shape[i])) {
    throw new Error(`${who}: mask of shape [${mask.shape.join(', ')}] does not broadcast to the input's [${x.shape.join(', ')}]`);
  }
  const m = new Float32Array(mask.size);
  for (let i = 0; i < mask.size; i++) {
    const v = mask.data[i]!;
    if (v !== 0 && v !== 1) throw new Error(`${who}: mask must hold only 0 and 1 (1 = fill), got ${v} at element ${i}`);
    m[i] = v;
  }
  const full = new Float32Array(x.size);
  be().broadcastTo(m, [...new Array<number>(x.ndim - mask.ndim).fill(1), ...mask.shape], full, x.shape);
  const dtype = floatType(x);
  const out = alloc(dtype, x.shape);
  const xd = floatData(x, dtype);
  for (let i = 0; i < out.length; i++) out[i] = full[i] ? value : xd[i]!;
  return result(who, out, x.shape, [x], (g) => {
    const d = alloc(dtype, x.shape);
    const gd = floatData(g, dtype);
    for (let i = 0; i < d.length; i++) d[i] = full[i] ? 0 : gd[i]!;
    return [new Tensor(d, x.shape)];
  });
}
