import { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { nllLossOp, crossEntropyOp, bceWithLogitsOp, checkReduction, type Reduction, sub, mul, mean, sum, permute, reshape } from '../autograd/index.js';
import { checkKnown } from './options.js';

export type { Reduction };

/** Options of `crossEntropy` and `nllLoss`. */
export interface ClassLossOptions {
  /** Targets equal to this value are skipped (default -100). */
  ignoreIndex?: number;
  /** 'mean' (default; over targets not ignored, weighted), 'sum' or 'none'. */
  reduction?: Reduction;
  /** Per-class weights (C). */
  weight?: Tensor;
}

/** Brings (N, C, d1, ...) with targets (N, d1, ...) to (N*d1*..., C) with (N*d1*...); (C) with () to (1, C). */
function flattenClasses(input: Tensor, target: Tensor, who: string): [Tensor, Tensor] {
  if (!(input instanceof Tensor) || !(target instanceof Tensor)) throw new Error(`${who}: input and target must be Tensors`);
  if (target.dtype !== 'int32') throw new Error(`${who}: target must hold int32 class indices (tensor(new Int32Array(...), shape)), got ${target.dtype}`);
  if (input.ndim === 1) {
    if (target.ndim !== 0) throw new Error(`${who}: with input of shape ${formatShape(input.shape)} the target must be a scalar, got ${formatShape(target.shape)}`);
    return [reshape(input, [1, input.shape[0]!]), reshape(target, [1])];
  }
  if (input.ndim === 2) return [input, target];
  if (input.ndim < 1) throw new Error(`${who}: input must be (N, C) or (N, C, d1, ...), got shape ${formatShape(input.shape)}`);
  const expected = [input.shape[0]!, ...input.shape.slice(2)];
  if (target.ndim !== expected.length || target.shape.some((s, i) => s !== expected[i])) {
    throw new Error(`${who}: target has shape ${formatShape(target.shape)}, expected ${formatShape(expected)} for input ${formatShape(input.shape)} (classes on dimension 1)`);
  }
  const perm = [0, ...input.shape.slice(2).map((_, i) => i + 2), 1];
  const C = input.shape[1]!;
  return [reshape(permute(input, perm), [-1, C]), reshape(target, [-1])];
}

function classOptions(options: ClassLossOptions, who: string): { ignoreIndex: number; reduction: Reduction; weight: Tensor | null } {
  checkKnown(options, ['ignoreIndex', 'reduction', 'weight'], who);
  const ignoreIndex = options.ignoreIndex ?? -100;
  if (!Number.isInteger(ignoreIndex)) throw new Error(`${who}: ignoreIndex must be an integer, got ${ignoreIndex}`);
  return { ignoreIndex, reduction: checkReduction(options.reduction ?? 'mean', who), weight: options.weight ?? null };
}

/**
 * Cross-entropy of raw scores `input` (N, C) (or (N, C, d1, ...)) against int32 class `target` (N)
 * (or (N, d1, ...)): log-softmax then negative log-likelihood, as `F.cross_entropy`.
 */
export function crossEntropy(input: Tensor, target: Tensor, options: ClassLossOptions = {}): Tensor {
  const who = 'crossEntropy';
  const o = classOptions(options, who);
  const [x, t] = flattenClasses(input, target, who);
  const out = crossEntropyOp(x, t, o.weight, o.ignoreIndex, o.reduction, who);
  return o.reduction === 'none' && input.ndim !== 2 ? reshape(out, target.shape) : out;
}

/** Negative log-likelihood of int32 `target` under log-probabilities `input`, as `F.nll_loss`. */
export function nllLoss(input: Tensor, target: Tensor, options: ClassLossOptions = {}): Tensor {
  const who = 'nllLoss';
  const o = classOptions(options, who);
  const [x, t] = flattenClasses(input, target, who);
  const out = nllLossOp(x, t, o.weight, o.ignoreIndex, o.reduction, who);
  return o.reduction === 'none' && input.ndim !== 2 ? reshape(out, target.shape) : out;
}

/** Mean squared error; input and target must have one shape. */
export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  const who = 'mseLoss';
  checkKnown(options, ['reduction'], who);
  const reduction = checkReduction(options.reduction ?? 'mean', who);
  if (!(input instanceof Tensor) || !(target instanceof Tensor)) throw new Error(`${who}: input and target must be Tensors`);
  if (input.ndim !== target.ndim || input.shape.some((s, i) => s !== target.shape[i])) {
    throw new Error(`${who}: target shape ${formatShape(target.shape)} must equal input shape ${formatShape(input.shape)}`);
  }
  const d = sub(input, target);
  const sq = mul(d, d);
  return reduction === 'mean' ? mean(sq) : reduction === 'sum' ? sum(sq) : sq;
}

/** Options of `bceWithLogits`. */
export interface BceOptions {
  reduction?: Reduction;
  /** Weight of positive examples, one per class (last dimension) or one for all. */
  posWeight?: Tensor;
}

/** Binary cross-entropy on logits (sigmoid included, computed stably), as `F.binary_cross_entropy_with_logits`. */
export function bceWithLogits(input: Tensor, target: Tensor, options: BceOptions = {}): Tensor {
  const who = 'bceWithLogits';
  checkKnown(options, ['reduction', 'posWeight'], who);
  if (!(input instanceof Tensor) || !(target instanceof Tensor)) throw new Error(`${who}: input and target must be Tensors`);
  return bceWithLogitsOp(input, target, options.posWeight ?? null, checkReduction(options.reduction ?? 'mean', who), who);
}
