import { Tensor } from '../tensor/tensor.js';
import { uniform, zeros } from '../tensor/create.js';
import { formatShape } from '../tensor/shape.js';
import { checkMemory } from '../tensor/memory.js';
import { additiveAttention, checkMask, checkSomeKey, linear, maskedFill, softmax } from '../autograd/index.js';
import { Module } from './module.js';
import { Linear, dropout } from './layers.js';
import { checkKnown, positiveInt, bool, probability } from './options.js';

/** Options of `MultiheadAttention`, PyTorch's names in camel case. */
export interface MultiheadAttentionOptions {
  /** The model's width E: queries' features, and the output's. */
  embedDim: number;
  /** Heads; each attends over embedDim / numHeads features. */
  numHeads: number;
  /** Biases on the input and output projections (default true). */
  bias?: boolean;
  /** Inputs and output (N, L, E) instead of (L, N, E) (default false, as PyTorch). */
  batchFirst?: boolean;
  /** Keys' features (default embedDim). */
  kdim?: number;
  /** Values' features (default embedDim). */
  vdim?: number;
  /** Dropout on the attention weights in training (default 0). */
  dropout?: number;
}

/** Options of `MultiheadAttention.forward`. */
export interface MultiheadAttentionForwardOptions {
  /** (N, S) 0/1: 1 = that key is padding, no query attends to it. */
  keyPaddingMask?: Tensor | null;
  /** (L, S) or (N * numHeads, L, S) 0/1: 1 = query l may not attend to key s. */
  attnMask?: Tensor | null;
  /** Return the attention weights (default true); else the second result is null. */
  needWeights?: boolean;
  /** Average the weights over the heads, (N, L, S) (default true); else (N, numHeads, L, S). */
  averageAttnWeights?: boolean;
}

/** Xavier (Glorot) uniform for a (out, in) weight. */
const xavier = (out: number, inp: number): Tensor => uniform([out, inp], Math.sqrt(6 / (out + inp)));

/**
 * Multi-head attention exactly as PyTorch's `nn.MultiheadAttention`: queries, keys and values
 * projected (`in_proj_weight` (3E, E) and `in_proj_bias`, or `q_proj_weight`, `k_proj_weight`,
 * `v_proj_weight` when kdim or vdim differ from E), scaled dot-product attention per head, the
 * heads concatenated and projected by `out_proj`.
 */
export class MultiheadAttention extends Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly inProjWeight: Tensor | null;
  readonly qProjWeight: Tensor | null;
  readonly kProjWeight: Tensor | null;
  readonly vProjWeight: Tensor | null;
  readonly inProjBias: Tensor | null;
  readonly outProj: Linear;

  constructor(options: MultiheadAttentionOptions) {
    super();
    const who = 'MultiheadAttention';
    checkKnown(options, ['embedDim', 'numHeads', 'bias', 'batchFirst', 'kdim', 'vdim', 'dropout'], who);
    const E = (this.embedDim = positiveInt(options.embedDim, 'embedDim', who));
    const h = (this.numHeads = positiveInt(options.numHeads, 'numHeads', who));
    if (E % h !== 0) throw new Error(`${who}: embedDim (${E}) must be divisible by numHeads (${h})`);
    this.headDim = E / h;
    this.kdim = options.kdim === undefined ? E : positiveInt(options.kdim, 'kdim', who);
    this.vdim = options.vdim === undefined ? E : positiveInt(options.vdim, 'vdim', who);
    this.batchFirst = bool(options.batchFirst, 'batchFirst', who, false);
    this.dropout = probability(options.dropout, 'dropout', who, 0);
    if (this.dropout === 1) throw new Error(`${who}: dropout must be below 1 (every weight dropped leaves nothing to attend to), got 1`);
    const bias = bool(options.bias, 'bias', who, true);
    checkMemory(who, (3 * E * E + E * E) * 4, `${E}-wide projections`);
    const same = this.kdim === E && this.vdim === E;
    this.inProjWeight = same ? this.registerParameter('in_proj_weight', xavier(3 * E, E)) : null;
    this.qProjWeight = same ? null : this.registerParameter('q_proj_weight', xavier(E, E));
    this.kProjWeight = same ? null : this.registerParameter('k_proj_weight', xavier(E, this.kdim));
    this.vProjWeight = same ? null : this.registerParameter('v_proj_weight', xavier(E, this.vdim));
    this.inProjBias = bias ? this.registerParameter('in_proj_bias', zeros([3 * E])) : null;
    this.outProj = this.registerModule('out_proj', new Linear({ inFeatures: E, outFeatures: E, bias }));
    if (this.outProj.bias) this.outProj.bias.data.fill(0);
  }

  /**
   * query (L, N, E), key (S, N, kdim), value (S, N, vdim) (batch first: (N, L, E) ...) ->
   * [output (L, N, E) or (N, L, E), weights (N, L, S), (N, numHeads, L, S) or null].
   */
  forward(query: Tensor, key: Tensor, value: Tensor, options: MultiheadAttentionForwardOptions = {}): [Tensor, Tensor | null] {
    const who = 'MultiheadAttention.forward';
    checkKnown(options, ['keyPaddingMask', 'attnMask', 'needWeights', 'averageAttnWeights'], who);
    const E = this.embedDim, h = this.numHeads, d = this.headDim;
    const bf = this.batchFirst;
    const layout = bf ? '(N, L, E)' : '(L, N, E)';
    for (const [t, name, width] of [[query, 'query', E], [key, 'key', this.kdim], [value, 'value', this.vdim]] as const) {
      if (!(t instanceof Tensor) || t.dtype === 'int32') throw new Error(`${who}: ${name} must be a floating-point Tensor ${layout}`);
      if (t.ndim !== 3 || t.shape[2] !== width) throw new Error(`${who}: ${name} must be ${bf ? '(N, len, features)' : '(len, N, features)'} with ${width} features, got ${formatShape(t.shape)}`);
    }
    const N = query.shape[bf ? 0 : 1]!, L = query.shape[bf ? 1 : 0]!;
    const S = key.shape[bf ? 1 : 0]!;
    if (key.shape[bf ? 0 : 1] !== N || value.shape[bf ? 0 : 1] !== N) throw new Error(`${who}: query, key and value must have one batch size, got ${formatShape(query.shape)}, ${formatShape(key.shape)}, ${formatShape(value.shape)}`);
    if (value.shape[bf ? 1 : 0] !== S) throw new Error(`${who}: key and value must have one length, got ${formatShape(key.shape)} and ${formatShape(value.shape)}`);
    const kpm = options.keyPaddingMask ?? null;
    const am = options.attnMask ?? null;
    if (kpm) checkMask(kpm, [[N, S]], 'keyPaddingMask', who);
    if (am) checkMask(am, [[L, S], [N * h, L, S]], 'attnMask', who);
    if (kpm || am) {
      checkSomeKey(N * h * L, S, (r, s) => {
        const n = Math.floor(r / (h * L)), l = r % L;
        if (kpm && kpm.data[n * S + s]) return true;
        if (am) return am.ndim === 2 ? am.data[l * S + s] === 1 : am.data[Math.floor(r / L) * L * S + l * S + s] === 1;
        return false;
      }, (r) => `query ${r % L} of sample ${Math.floor(r / (h * L))}${am?.ndim === 3 ? ` (head ${Math.floor(r / L) % h})` : ''}`, who);
    }
    const needWeights = bool(options.needWeights, 'needWeights', who, true);
    const average = bool(options.averageAttnWeights, 'averageAttnWeights', who, true);
    // batch first inside: (N, len, features)
    const [q, k, v] = bf ? [query, key, value] : [query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)];
    const b = this.inProjBias;
    const part = (w: Tensor | null, i: number): Tensor | null => (w ? w.slice(0, i * E, (i + 1) * E) : null);
    const wq = this.inProjWeight ? part(this.inProjWeight, 0)! : this.qProjWeight!;
    const wk = this.inProjWeight ? part(this.inProjWeight, 1)! : this.kProjWeight!;
    const wv = this.inProjWeight ? part(this.inProjWeight, 2)! : this.vProjWeight!;
    const heads = (x: Tensor, len: number): Tensor => x.reshape([N, len, h, d]).permute([0, 2, 1, 3]);
    const qh = heads(linear(q, wq, part(b, 0), who), L).mul(1 / Math.sqrt(d));
    const kh = heads(linear(k, wk, part(b, 1), who), S);
    const vh = heads(linear(v, wv, part(b, 2), who), S);
    let scores = qh.matmul(kh.transpose(2, 3)); // (N, h, L, S)
    if (am) scores = maskedFill(scores, am.ndim === 2 ? am : am.reshape([N, h, L, S]), -Infinity);
    if (kpm) scores = maskedFill(scores, kpm.reshape([N, 1, 1, S]), -Infinity);
    const weights = dropout(softmax(scores, 3), this.dropout, this.training);
    const out = this.outProj.forward(weights.matmul(vh).permute([0, 2, 1, 3]).reshape([N, L, E]));
    const w = !needWeights ? null : average ? weights.sum(1).mul(1 / h) : weights;
    return [bf ? out : out.transpose(0, 1), w];
  }
}

/** Options of `BahdanauAttention`. */
export interface BahdanauAttentionOptions {
  /** H: the query's and the keys' features. */
  hiddenSize: number;
}

/**
 * Additive attention as in PyTorch's translation tutorial ("NLP From Scratch: Translation with
 * a Sequence to Sequence Network and Attention"): scores = Va(tanh(Wa(query) + Ua(keys))),
 * softmax over the keys, context = weights @ keys. Parameters `Wa`, `Ua` (H, H) and `Va` (1, H),
 * each with a bias.
 */
export class BahdanauAttention extends Module {
  readonly hiddenSize: number;
  readonly Wa: Linear;
  readonly Ua: Linear;
  readonly Va: Linear;

  constructor(options: BahdanauAttentionOptions) {
    super();
    const who = 'BahdanauAttention';
    checkKnown(options, ['hiddenSize'], who);
    const H = (this.hiddenSize = positiveInt(options.hiddenSize, 'hiddenSize', who));
    this.Wa = this.registerModule('Wa', new Linear({ inFeatures: H, outFeatures: H }));
    this.Ua = this.registerModule('Ua', new Linear({ inFeatures: H, outFeatures: H }));
    this.Va = this.registerModule('Va', new Linear({ inFeatures: H, outFeatures: 1 }));
  }

  /** Ua(keys): a decoder computes it once per source batch and passes it to every step's `forward`. */
  projectKeys(keys: Tensor): Tensor {
    this.checkKeys(keys, 'BahdanauAttention.projectKeys');
    return this.Ua.forward(keys);
  }

  /**
   * query (N, 1, H), keys (N, S, H), optional mask (N, S) 0/1 (1 = ignore that key) ->
   * [context (N, 1, H), weights (N, 1, S)]. `projectedKeys`: `projectKeys(keys)`, computed once.
   */
  forward(query: Tensor, keys: Tensor, mask: Tensor | null = null, projectedKeys: Tensor | null = null): [Tensor, Tensor] {
    const who = 'BahdanauAttention.forward';
    const H = this.hiddenSize;
    this.checkKeys(keys, who);
    const [N, S] = keys.shape as [number, number, number];
    if (!(query instanceof Tensor) || query.dtype === 'int32' || query.ndim !== 3 || query.shape[0] !== N || query.shape[1] !== 1 || query.shape[2] !== H) {
      throw new Error(`${who}: query must be a floating-point Tensor (N, 1, H) = [${N}, 1, ${H}], got ${query instanceof Tensor ? formatShape(query.shape) : typeof query}`);
    }
    if (projectedKeys && !(projectedKeys instanceof Tensor && projectedKeys.ndim === 3 && projectedKeys.shape.every((s, i) => s === keys.shape[i]))) {
      throw new Error(`${who}: projectedKeys must be projectKeys(keys), shape ${formatShape(keys.shape)}`);
    }
    if (mask) {
      checkMask(mask, [[N, S]], 'mask', who);
      checkSomeKey(N, S, (n, s) => mask.data[n * S + s] === 1, (n) => `sample ${n}`, who);
    }
    // Va(tanh(Wa(query) + Ua(keys))), the mask, the softmax and the weights' average of the keys in one op
    const q = this.Wa.forward(query.reshape([N, H]));
    const [context, weights] = additiveAttention(q, projectedKeys ?? this.Ua.forward(keys), keys, this.Va.weight.reshape([H]), this.Va.bias, mask);
    return [context.reshape([N, 1, H]), weights.reshape([N, 1, S])];
  }

  private checkKeys(keys: Tensor, who: string): void {
    if (!(keys instanceof Tensor) || keys.dtype === 'int32' || keys.ndim !== 3 || keys.shape[2] !== this.hiddenSize || keys.shape[1]! < 1) {
      throw new Error(`${who}: keys must be a floating-point Tensor (N, S, H) with H = ${this.hiddenSize} and S >= 1, got ${keys instanceof Tensor ? formatShape(keys.shape) : typeof keys}`);
    }
  }
}
