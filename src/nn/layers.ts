import { Tensor } from '../tensor/tensor.js';
import { randn, uniform, rand, ones, zeros } from '../tensor/create.js';
import { formatShape } from '../tensor/shape.js';
import { checkMemory } from '../tensor/memory.js';
import type { Generator } from '../tensor/random.js';
import { linear, embeddingLookup, mul } from '../autograd/index.js';
import { Module } from './module.js';
import { checkKnown, positiveInt, bool, probability } from './options.js';

/** Options of `Linear`. */
export interface LinearOptions {
  inFeatures: number;
  outFeatures: number;
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * y = x W^T + b on the last dimension of x (any leading dimensions), like `torch.nn.Linear`.
 * weight (outFeatures, inFeatures), bias (outFeatures), both U(-1/sqrt(in), 1/sqrt(in)).
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(options: LinearOptions) {
    super();
    const who = 'Linear';
    checkKnown(options, ['inFeatures', 'outFeatures', 'bias'], who);
    this.inFeatures = positiveInt(options.inFeatures, 'inFeatures', who);
    this.outFeatures = positiveInt(options.outFeatures, 'outFeatures', who);
    checkMemory(who, this.inFeatures * this.outFeatures * 4, `${this.outFeatures} x ${this.inFeatures} weights`);
    const bound = 1 / Math.sqrt(this.inFeatures);
    this.weight = this.registerParameter('weight', uniform([this.outFeatures, this.inFeatures], bound));
    this.bias = bool(options.bias, 'bias', who, true) ? this.registerParameter('bias', uniform([this.outFeatures], bound)) : null;
  }

  /** x (..., inFeatures) -> (..., outFeatures) */
  forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor)) throw new Error('Linear.forward: input must be a Tensor');
    if (x.dtype === 'int32') throw new Error('Linear.forward: input must be a floating-point tensor, got int32');
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(`Linear.forward: input has ${x.shape[x.ndim - 1] ?? 0} features (shape ${formatShape(x.shape)}), expected inFeatures ${this.inFeatures}`);
    }
    return linear(x, this.weight, this.bias, 'Linear.forward');
  }
}

/** Options of `Embedding`. */
export interface EmbeddingOptions {
  numEmbeddings: number;
  embeddingDim: number;
  /** A token id whose row stays fixed (gets no gradient), as in PyTorch. */
  paddingIdx?: number;
}

/** A table of learned vectors looked up by int32 token ids: (...) -> (..., embeddingDim). weight ~ N(0, 1). */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  readonly weight: Tensor;

  constructor(options: EmbeddingOptions) {
    super();
    const who = 'Embedding';
    checkKnown(options, ['numEmbeddings', 'embeddingDim', 'paddingIdx'], who);
    this.numEmbeddings = positiveInt(options.numEmbeddings, 'numEmbeddings', who);
    this.embeddingDim = positiveInt(options.embeddingDim, 'embeddingDim', who);
    checkMemory(who, this.numEmbeddings * this.embeddingDim * 4, `${this.numEmbeddings} x ${this.embeddingDim} weights`);
    let pad: number | null = null;
    if (options.paddingIdx !== undefined) {
      const p = options.paddingIdx;
      if (!Number.isInteger(p) || p < -this.numEmbeddings || p >= this.numEmbeddings) {
        throw new Error(`${who}: paddingIdx must be an integer in [${-this.numEmbeddings}, ${this.numEmbeddings}), got ${p}`);
      }
      pad = p < 0 ? p + this.numEmbeddings : p;
    }
    this.paddingIdx = pad;
    const w = randn([this.numEmbeddings, this.embeddingDim]);
    if (pad !== null) w.data.fill(0, pad * this.embeddingDim, (pad + 1) * this.embeddingDim);
    this.weight = this.registerParameter('weight', w);
  }

  /** ids: int32 tensor of any shape -> (...ids.shape, embeddingDim) */
  forward(ids: Tensor): Tensor {
    const who = 'Embedding.forward';
    if (!(ids instanceof Tensor)) throw new Error(`${who}: token ids must be a Tensor`);
    if (ids.dtype !== 'int32') throw new Error(`${who}: token ids must be an int32 tensor (tensor(new Int32Array(ids), shape)), got ${ids.dtype}`);
    const d = ids.data;
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (v < 0 || v >= this.numEmbeddings) {
        throw new Error(`${who}: token id ${v} at flat position ${i} is out of range [0, ${this.numEmbeddings}) for numEmbeddings ${this.numEmbeddings}`);
      }
    }
    return embeddingLookup(this.weight, ids, this.paddingIdx);
  }
}

/** Zeroes each element with probability p in training and scales the rest by 1/(1-p). */
export function dropout(x: Tensor, p: number, training: boolean, generator?: Generator): Tensor {
  if (!training || p === 0) return x;
  if (x.dtype === 'int32') throw new Error('dropout: input must be a floating-point tensor, got int32');
  const mask = rand(x.shape, { dtype: x.dtype, generator });
  const m = mask.data;
  const scale = p === 1 ? 0 : 1 / (1 - p);
  for (let i = 0; i < m.length; i++) m[i] = m[i]! < p ? 0 : scale;
  return mul(x, mask);
}

/** Options of `Dropout`. */
export interface DropoutOptions {
  /** Probability of zeroing an element (default 0.5). */
  p?: number;
}

/** The `Dropout` layer: active in training mode only. */
export class Dropout extends Module {
  readonly p: number;
  constructor(options: DropoutOptions = {}) {
    super();
    checkKnown(options, ['p'], 'Dropout');
    this.p = probability(options.p, 'p', 'Dropout', 0.5);
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
}


/** Options of `LayerNorm`. */
export interface LayerNormOptions {
  /** The trailing dimensions normalised over: their sizes (a number for the last one alone). */
  normalizedShape: number | readonly number[];
  /** Added to the variance (default 1e-5, PyTorch's). */
  eps?: number;
  /** Learn a gain `weight` (ones at first) and a shift `bias` (zeros) of normalizedShape (default true). */
  elementwiseAffine?: boolean;
}

/**
 * PyTorch's LayerNorm: y = (x - mean) / sqrt(var + eps) * weight + bias over the trailing
 * `normalizedShape` dimensions, the variance biased (divided by the count).
 */
export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  constructor(options: LayerNormOptions) {
    super();
    const who = 'LayerNorm';
    checkKnown(options, ['normalizedShape', 'eps', 'elementwiseAffine'], who);
    const ns = typeof options.normalizedShape === 'number' ? [options.normalizedShape] : options.normalizedShape;
    if (!Array.isArray(ns) || ns.length === 0) throw new Error(`${who}: normalizedShape must be a positive integer or a non-empty array of them, got ${JSON.stringify(options.normalizedShape)}`);
    this.normalizedShape = ns.map((d, i) => positiveInt(d, `normalizedShape[${i}]`, who));
    const eps = options.eps ?? 1e-5;
    if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) throw new Error(`${who}: eps must be a positive finite number, got ${String(eps)}`);
    this.eps = eps;
    const affine = bool(options.elementwiseAffine, 'elementwiseAffine', who, true);
    this.weight = affine ? this.registerParameter('weight', ones([...this.normalizedShape])) : null;
    this.bias = affine ? this.registerParameter('bias', zeros([...this.normalizedShape])) : null;
  }
  /** x (..., normalizedShape) -> the same shape */
  forward(x: Tensor): Tensor {
    const who = 'LayerNorm.forward';
    const n = this.normalizedShape.length;
    const tail = x.shape.slice(x.ndim - n);
    if (x.ndim < n || tail.some((d, i) => d !== this.normalizedShape[i])) {
      throw new Error(`${who}: input's trailing dimensions ${formatShape(tail)} must be normalizedShape ${formatShape(this.normalizedShape)}, got shape ${formatShape(x.shape)}`);
    }
    return normalise(x, n, this.weight, this.bias, this.eps);
  }
}

/** (x - mean) / sqrt(var + eps) over the last n dimensions (var biased), then * weight + bias. */
function normalise(x: Tensor, n: number, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  const dims = Array.from({ length: n }, (_, i) => x.ndim - n + i);
  const centred = x.sub(x.mean(dims, true));
  const y = centred.div(centred.mul(centred).mean(dims, true).add(eps).sqrt());
  return weight ? y.mul(weight).add(bias!) : y;
}

/** LayerNorm over the last dimension with the given gain and shift: what LayerNorm({ normalizedShape: n }) computes. */
export function layerNormLastDim(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  return normalise(x, 1, weight, bias, eps);
}
