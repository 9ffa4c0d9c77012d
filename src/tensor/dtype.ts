import { checkMemory } from './memory.js';
/** Element types a tensor can hold. `float64` exists for gradient checks and exact comparisons. */
export type DType = 'float32' | 'float64' | 'int32';
/** Storage of a floating-point tensor. */
export type FloatArray = Float32Array | Float64Array;
/** Storage of any tensor. */
export type TypedArray = Float32Array | Float64Array | Int32Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32'];

/** A zero-filled array of `n` elements of `dtype`. */
export function allocate(dtype: 'int32', n: number): Int32Array;
export function allocate(dtype: 'float32' | 'float64', n: number): FloatArray;
export function allocate(dtype: DType, n: number): TypedArray;
export function allocate(dtype: DType, n: number): TypedArray {
  checkMemory('allocate', n * (dtype === 'float64' ? 8 : 4), `${n} ${dtype} elements`);
  switch (dtype) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'int32': return new Int32Array(n);
  }
}

/** A zero-filled array of the same element type as `like`. */
export function allocLike<A extends TypedArray>(like: A, n: number): A {
  return new (like.constructor as new (n: number) => A)(n);
}

export function dtypeOf(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  return 'int32';
}

/** The floating-point type of a result: float64 if either side is float64, else float32 (PyTorch's promotion). */
export function promoteFloat(a: DType, b: DType): 'float32' | 'float64' {
  return a === 'float64' || b === 'float64' ? 'float64' : 'float32';
}

export function isFloat(d: DType): d is 'float32' | 'float64' {
  return d !== 'int32';
}

/** Copies `src` into a new array of `dtype` (rounding to 32-bit float or truncating to int where asked). */
export function convert(src: ArrayLike<number>, dtype: DType): TypedArray {
  const out = allocate(dtype, src.length);
  if (dtype === 'int32') {
    for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]!);
  } else {
    out.set(src as ArrayLike<number>);
  }
  return out;
}
