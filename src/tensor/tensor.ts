import { type DType, type TypedArray, dtypeOf } from './dtype.js';
import { type Shape, numel, formatShape } from './shape.js';

/** A number or a tensor: what binary operations accept on their right. */
export type TensorLike = Tensor | number;

/** Nested arrays of numbers, as `toArray()` returns them. */
export type NestedArray = number | NestedArray[];

/**
 * One recorded operation of the autograd tape. Its `backward` maps the gradients of its
 * outputs (null where an output got none) to the gradients of its inputs.
 */
export interface GradNode {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  readonly numOutputs: number;
  backward(gradOutputs: readonly (Tensor | null)[]): readonly (Tensor | null)[];
  /** Drops what the node saved for backward; a second backward through it then throws. */
  release(): void;
}

/** Options of `Tensor.backward`. */
export interface BackwardOptions {
  /** Keep the saved values so backward can run through the same graph again. */
  retainGraph?: boolean;
}

/**
 * The operations a tensor exposes as methods. They are implemented above the backends
 * (in `autograd`) and installed at load time, so this module imports nothing above it.
 */
export interface TensorOps {
  add(a: Tensor, b: TensorLike): Tensor;
  sub(a: Tensor, b: TensorLike): Tensor;
  mul(a: Tensor, b: TensorLike): Tensor;
  div(a: Tensor, b: TensorLike): Tensor;
  pow(a: Tensor, exponent: number): Tensor;
  neg(a: Tensor): Tensor;
  exp(a: Tensor): Tensor;
  log(a: Tensor): Tensor;
  tanh(a: Tensor): Tensor;
  sigmoid(a: Tensor): Tensor;
  relu(a: Tensor): Tensor;
  sqrt(a: Tensor): Tensor;
  abs(a: Tensor): Tensor;
  matmul(a: Tensor, b: Tensor): Tensor;
  sum(a: Tensor, dim?: number | number[], keepdim?: boolean): Tensor;
  mean(a: Tensor, dim?: number | number[], keepdim?: boolean): Tensor;
  max(a: Tensor, dim?: number, keepdim?: boolean): Tensor;
  argmax(a: Tensor, dim?: number, keepdim?: boolean): Tensor;
  reshape(a: Tensor, shape: readonly number[]): Tensor;
  transpose(a: Tensor, dim0: number, dim1: number): Tensor;
  permute(a: Tensor, dims: readonly number[]): Tensor;
  squeeze(a: Tensor, dim?: number): Tensor;
  unsqueeze(a: Tensor, dim: number): Tensor;
  expand(a: Tensor, shape: readonly number[]): Tensor;
  slice(a: Tensor, dim: number, start: number, end?: number): Tensor;
  gather(a: Tensor, dim: number, index: Tensor): Tensor;
  indexSelect(a: Tensor, dim: number, index: Tensor): Tensor;
  softmax(a: Tensor, dim: number): Tensor;
  maskedFill(a: Tensor, mask: Tensor, value: number): Tensor;
  logSoftmax(a: Tensor, dim: number): Tensor;
  cast(a: Tensor, dtype: DType): Tensor;
  clone(a: Tensor): Tensor;
  detach(a: Tensor): Tensor;
  backward(a: Tensor, grad?: Tensor, options?: BackwardOptions): void;
}

let ops: TensorOps | undefined;

/** Installs the operation table (called once by the autograd module). */
export function installTensorOps(impl: TensorOps): void {
  ops = impl;
}

function op(): TensorOps {
  if (!ops) throw new Error('recurrent: tensor operations are not loaded; import the library from its entry point');
  return ops;
}

/** Internal options of the constructor. Users create tensors with `tensor`, `zeros`, `randn`, ... */
export interface TensorInit {
  requiresGrad?: boolean;
  gradFn?: GradNode | null;
  outputIndex?: number;
}

/**
 * An n-dimensional array: flat row-major storage (`data`), a `shape` and a dtype, with
 * reverse-mode gradients. Operations never modify their inputs; they return new tensors
 * (a `reshape` may share storage with its input).
 */
export class Tensor {
  /**
   * The flat, row-major storage. Writing into it is allowed; call `markModified()` afterwards so
   * that copies of it notice: a layer's `stepper()`, and the weights a backend keeps prepared
   * between a layer's calls (packed for its kernels), which are prepared again only after a change.
   */
  data: TypedArray;
  /** Counts in-place modifications made by the library (optimizer steps, loadStateDict, ...). */
  version = 0;
  /** The size of every dimension. */
  readonly shape: readonly number[];
  /** Whether gradients flow to (and, for a leaf, accumulate in) this tensor. */
  requiresGrad: boolean;
  /** The accumulated gradient of a leaf after `backward()`, else null. */
  grad: Tensor | null = null;
  /** The operation that produced this tensor, if it was recorded for autograd. */
  gradFn: GradNode | null;
  /** Which output of `gradFn` this tensor is. */
  readonly outputIndex: number;

  constructor(data: TypedArray, shape: Shape, init: TensorInit = {}) {
    const n = numel(shape);
    if (data.length !== n) {
      throw new Error(`Tensor: data has ${data.length} elements but shape ${formatShape(shape)} needs ${n}`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.gradFn = init.gradFn ?? null;
    this.outputIndex = init.outputIndex ?? 0;
    this.requiresGrad = (init.requiresGrad ?? false) || this.gradFn !== null;
    if (this.requiresGrad && dtypeOf(data) === 'int32') {
      throw new Error('Tensor: only floating-point tensors can require gradients (this one is int32)');
    }
  }

  /** The element type. */
  get dtype(): DType {
    return dtypeOf(this.data);
  }
  /** The number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }
  /** The number of elements. */
  get size(): number {
    return this.data.length;
  }
  /** True for a tensor not produced by a recorded operation. */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) {
      throw new Error(`Tensor.item: only a tensor with one element has an item; this one has shape ${formatShape(this.shape)}`);
    }
    return this.data[0]!;
  }

  /** The values as nested arrays. */
  toArray(): NestedArray {
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.shape.length) return this.data[offset]!;
      const stride = numel(this.shape.slice(dim + 1));
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[dim]!; i++) out.push(build(dim + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }

  toString(): string {
    const vals = Array.from(this.data.slice(0, 8), (v) => +v.toPrecision(6));
    return `Tensor(shape=${formatShape(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''}, data=[${vals.join(', ')}${this.data.length > 8 ? ', ...' : ''}])`;
  }

  /** Replaces the storage in place (same shape), e.g. to change a parameter's dtype. */
  setData(data: TypedArray): void {
    if (data.length !== this.data.length) {
      throw new Error(`Tensor.setData: new data has ${data.length} elements, expected ${this.data.length}`);
    }
    this.data = data;
    this.version++;
  }

  /** Records that `data` was modified in place. */
  markModified(): void {
    this.version++;
  }

  add(other: TensorLike): Tensor { return op().add(this, other); }
  sub(other: TensorLike): Tensor { return op().sub(this, other); }
  mul(other: TensorLike): Tensor { return op().mul(this, other); }
  div(other: TensorLike): Tensor { return op().div(this, other); }
  pow(exponent: number): Tensor { return op().pow(this, exponent); }
  neg(): Tensor { return op().neg(this); }
  exp(): Tensor { return op().exp(this); }
  log(): Tensor { return op().log(this); }
  tanh(): Tensor { return op().tanh(this); }
  sigmoid(): Tensor { return op().sigmoid(this); }
  relu(): Tensor { return op().relu(this); }
  sqrt(): Tensor { return op().sqrt(this); }
  abs(): Tensor { return op().abs(this); }
  /** Matrix product with PyTorch's `matmul` rules (batched, broadcast, 1-D operands). */
  matmul(other: Tensor): Tensor { return op().matmul(this, other); }
  /** Sum of all elements, or over `dim` (one or several). */
  sum(dim?: number | number[], keepdim = false): Tensor { return op().sum(this, dim, keepdim); }
  mean(dim?: number | number[], keepdim = false): Tensor { return op().mean(this, dim, keepdim); }
  /** Maximum of all elements or along `dim` (gradient flows to the first maximum). */
  max(dim?: number, keepdim = false): Tensor { return op().max(this, dim, keepdim); }
  /** Index of the maximum (int32; not differentiable). */
  argmax(dim?: number, keepdim = false): Tensor { return op().argmax(this, dim, keepdim); }
  /** Same data, new shape; one dimension may be -1. */
  reshape(shape: readonly number[]): Tensor { return op().reshape(this, shape); }
  /** Alias of `reshape`. */
  view(shape: readonly number[]): Tensor { return op().reshape(this, shape); }
  flatten(): Tensor { return op().reshape(this, [this.size]); }
  transpose(dim0: number, dim1: number): Tensor { return op().transpose(this, dim0, dim1); }
  permute(dims: readonly number[]): Tensor { return op().permute(this, dims); }
  squeeze(dim?: number): Tensor { return op().squeeze(this, dim); }
  unsqueeze(dim: number): Tensor { return op().unsqueeze(this, dim); }
  expand(shape: readonly number[]): Tensor { return op().expand(this, shape); }
  /** Elements `start` (inclusive) to `end` (exclusive) along `dim`; negative indices count from the end. */
  slice(dim: number, start: number, end?: number): Tensor { return op().slice(this, dim, start, end); }
  /** `torch.gather`: picks along `dim` at the int32 `index`. */
  gather(dim: number, index: Tensor): Tensor { return op().gather(this, dim, index); }
  /** `torch.index_select`, with an index of any shape (its shape replaces dimension `dim`). */
  indexSelect(dim: number, index: Tensor): Tensor { return op().indexSelect(this, dim, index); }
  softmax(dim: number): Tensor { return op().softmax(this, dim); }
  /** This tensor with `value` where `mask` (0/1, broadcast to this shape) is 1, as PyTorch's `masked_fill`. */
  maskedFill(mask: Tensor, value: number): Tensor { return op().maskedFill(this, mask, value); }
  logSoftmax(dim: number): Tensor { return op().logSoftmax(this, dim); }
  /** Converts to another dtype (differentiable between float types). */
  to(dtype: DType): Tensor { return op().cast(this, dtype); }
  float(): Tensor { return op().cast(this, 'float32'); }
  double(): Tensor { return op().cast(this, 'float64'); }
  clone(): Tensor { return op().clone(this); }
  /** The same values, cut from the graph. */
  detach(): Tensor { return op().detach(this); }
  /** Back-propagates from this tensor (a scalar unless `grad` is given), accumulating into leaves' `.grad`. */
  backward(grad?: Tensor, options?: BackwardOptions): void { op().backward(this, grad, options); }
  /** Sets `requiresGrad` on a leaf and returns it. */
  requiresGrad_(flag = true): this {
    if (!this.isLeaf && !flag) throw new Error('Tensor.requiresGrad_: only a leaf tensor can stop requiring gradients; use detach()');
    if (flag && this.dtype === 'int32') throw new Error('Tensor.requiresGrad_: only floating-point tensors can require gradients (this one is int32)');
    this.requiresGrad = flag;
    return this;
  }
}
