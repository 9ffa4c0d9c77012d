import { Tensor, type TensorLike } from '../../tensor/tensor.js';
import { type DType, type FloatArray, allocate, convert, promoteFloat } from '../../tensor/dtype.js';
import { numel, type Shape, shapeEquals } from '../../tensor/shape.js';
import { getBackend } from '../../backend/backend.js';

export const be = getBackend;

/** The data of `t` as a float array of `dtype` (shared when it already is, else converted). */
export function floatData(t: Tensor, dtype: 'float32' | 'float64' = t.dtype === 'float64' ? 'float64' : 'float32'): FloatArray {
  if (t.dtype === dtype) return t.data as FloatArray;
  return convert(t.data, dtype) as FloatArray;
}

/** The result dtype of a float operation on `t`. */
export function floatType(t: Tensor): 'float32' | 'float64' {
  return t.dtype === 'float64' ? 'float64' : 'float32';
}

export function alloc(dtype: 'float32' | 'float64', shape: Shape): FloatArray {
  return allocate(dtype, numel(shape));
}

/** A number becomes a 0-d tensor of `like`'s float type; a tensor is returned as is. */
export function asTensor(x: TensorLike, like: Tensor, who: string): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x !== 'number') throw new Error(`${who}: expected a Tensor or a number, got ${typeof x}`);
  const d = allocate(floatType(like), 1);
  d[0] = x;
  return new Tensor(d, []);
}

export function resultType(a: Tensor, b: Tensor): 'float32' | 'float64' {
  return promoteFloat(a.dtype, b.dtype);
}

/** Requires a floating-point tensor, naming the operation otherwise. */
export function requireFloat(t: Tensor, who: string, what = 'input'): void {
  if (t.dtype === 'int32') throw new Error(`${who}: ${what} must be a floating-point tensor, got int32`);
}

/** Requires an int32 index tensor, naming the operation otherwise. */
export function requireInt(t: Tensor, who: string, what = 'index'): void {
  if (t.dtype !== 'int32') throw new Error(`${who}: ${what} must be an int32 tensor (e.g. tensor(new Int32Array(...), shape)), got ${t.dtype}`);
}

/** Wraps float data as a constant tensor. */
export function constant(data: FloatArray, shape: Shape): Tensor {
  return new Tensor(data, shape);
}

/** Sums a broadcast gradient back to `shape` and the dtype of the input it belongs to. */
export function reduceTo(g: Tensor, shape: Shape, dtype: DType): Tensor {
  let out = g;
  if (!shapeEquals(g.shape, shape)) {
    const padded = [...new Array<number>(g.shape.length - shape.length).fill(1), ...shape];
    const data = alloc(floatType(g), padded);
    be().sumTo(g.data as FloatArray, g.shape, data, padded);
    out = new Tensor(data, shape);
  }
  if (dtype !== out.dtype && dtype !== 'int32') out = new Tensor(convert(out.data, dtype), shape);
  return out;
}
