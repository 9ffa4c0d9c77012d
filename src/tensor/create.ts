import { type DType, type TypedArray, allocate, convert, dtypeOf, DTYPES } from './dtype.js';
import { type Shape, numel, formatShape, checkShape } from './shape.js';
import { Tensor, type NestedArray } from './tensor.js';
import { defaultGenerator, type Generator } from './random.js';

/** Options shared by the creation functions. */
export interface CreateOptions {
  /** Element type; float32 unless the data says otherwise. */
  dtype?: DType;
  /** Track gradients for this leaf. */
  requiresGrad?: boolean;
}

/** Options of the random creation functions. */
export interface RandomOptions extends CreateOptions {
  /** Draw from this generator instead of the default one. */
  generator?: Generator;
}

function checkDtype(dtype: DType | undefined, who: string): void {
  if (dtype !== undefined && !DTYPES.includes(dtype)) {
    throw new Error(`${who}: dtype must be one of ${DTYPES.join(', ')}, got ${String(dtype)}`);
  }
}

function inferShape(data: NestedArray, who: string): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0]!;
  }
  return shape;
}

function flattenNested(data: NestedArray, shape: number[], who: string): number[] {
  const out: number[] = [];
  const walk = (v: NestedArray, dim: number): void => {
    if (dim === shape.length) {
      if (typeof v !== 'number') throw new Error(`${who}: nested data is ragged (expected a number at depth ${dim})`);
      out.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) {
      throw new Error(`${who}: nested data is ragged (expected ${shape[dim]} entries at depth ${dim})`);
    }
    for (const x of v) walk(x, dim + 1);
  };
  walk(data, 0);
  return out;
}

/**
 * Makes a tensor from a typed array (its type gives the dtype: `Int32Array` -> int32,
 * `Float64Array` -> float64, `Float32Array` -> float32), a nested array of numbers or a number.
 * The data are copied. `shape` defaults to the nesting of the data, or 1-D for a flat array.
 */
export function tensor(data: TypedArray | NestedArray, shape?: Shape, options: CreateOptions = {}): Tensor {
  const who = 'tensor';
  checkDtype(options.dtype, who);
  let flat: ArrayLike<number>;
  let inferred: number[];
  let dtype: DType;
  if (ArrayBuffer.isView(data)) {
    flat = data;
    inferred = [data.length];
    dtype = options.dtype ?? dtypeOf(data);
  } else if (typeof data === 'number') {
    flat = [data];
    inferred = [];
    dtype = options.dtype ?? 'float32';
  } else if (Array.isArray(data)) {
    inferred = inferShape(data, who);
    flat = flattenNested(data, inferred, who);
    dtype = options.dtype ?? 'float32';
  } else {
    throw new Error(`${who}: data must be a typed array, a (nested) array of numbers or a number, got ${typeof data}`);
  }
  const finalShape = shape ? [...shape] : inferred;
  checkShape(finalShape, who);
  if (numel(finalShape) !== flat.length) {
    throw new Error(`${who}: data has ${flat.length} elements but shape ${formatShape(finalShape)} needs ${numel(finalShape)}`);
  }
  return new Tensor(convert(flat, dtype), finalShape, { requiresGrad: options.requiresGrad });
}

function filled(shape: Shape, value: number, options: CreateOptions, who: string): Tensor {
  checkDtype(options.dtype, who);
  checkShape(shape, who);
  const data = allocate(options.dtype ?? 'float32', numel(shape));
  data.fill(value);
  return new Tensor(data, shape, { requiresGrad: options.requiresGrad });
}

/** A tensor filled with `value`. */
export function full(shape: Shape, value: number, options: CreateOptions = {}): Tensor {
  return filled(shape, value, options, 'full');
}

/** A tensor of zeros. */
export function zeros(shape: Shape, options: CreateOptions = {}): Tensor {
  return filled(shape, 0, options, 'zeros');
}

/** A tensor of ones. */
export function ones(shape: Shape, options: CreateOptions = {}): Tensor {
  return filled(shape, 1, options, 'ones');
}

/** Zeros of the shape and dtype of `t`. */
export function zerosLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return filled(t.shape, 0, { dtype: t.dtype, ...options }, 'zerosLike');
}

/** Ones of the shape and dtype of `t`. */
export function onesLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return filled(t.shape, 1, { dtype: t.dtype, ...options }, 'onesLike');
}

/** Standard normal samples from the seeded generator. */
export function randn(shape: Shape, options: RandomOptions = {}): Tensor {
  checkDtype(options.dtype, 'randn');
  checkShape(shape, 'randn');
  const g = options.generator ?? defaultGenerator;
  const data = allocate(options.dtype ?? 'float32', numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = g.normal();
  return new Tensor(data, shape, { requiresGrad: options.requiresGrad });
}

/** Uniform samples in [low, high) (default [0, 1)) from the seeded generator. */
export function rand(shape: Shape, options: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  checkDtype(options.dtype, 'rand');
  checkShape(shape, 'rand');
  const g = options.generator ?? defaultGenerator;
  const lo = options.low ?? 0;
  const hi = options.high ?? 1;
  const data = allocate(options.dtype ?? 'float32', numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * g.random();
  return new Tensor(data, shape, { requiresGrad: options.requiresGrad });
}

/** Integers uniform in [low, high) as an int32 tensor. */
export function randint(low: number, high: number, shape: Shape, options: { generator?: Generator } = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new Error(`randint: need integers low < high, got low=${low}, high=${high}`);
  }
  checkShape(shape, 'randint');
  const g = options.generator ?? defaultGenerator;
  const data = new Int32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = low + g.int(high - low);
  return new Tensor(data, shape);
}

/**
 * `arange(end)` or `arange(start, end, step)`: evenly spaced values in [start, end).
 * Integer arguments give an int32 tensor unless `dtype` says otherwise.
 */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0 || !Number.isFinite(step)) throw new Error(`arange: step must be a non-zero finite number, got ${step}`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const allInt = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const dtype = options.dtype ?? (allInt ? 'int32' : 'float32');
  const data = allocate(dtype, n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new Tensor(data, [n], { requiresGrad: options.requiresGrad });
}

/** Uniform samples in [-bound, bound): PyTorch's default initialisation of recurrent and linear layers. */
export function uniform(shape: Shape, bound: number, options: RandomOptions = {}): Tensor {
  return rand(shape, { ...options, low: -bound, high: bound });
}
