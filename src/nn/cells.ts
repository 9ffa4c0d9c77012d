/**
 * One-step cells composed of ordinary differentiable ops: the readable statement of the
 * equations, and an independent check of the fused sequence kernels (an unrolled loop of cells
 * must agree with the layer).
 *
 * Legend: B batch, I inputSize, H hiddenSize. Parameters: weight_ih (G*H, I), weight_hh (G*H, H),
 * bias_ih (G*H), bias_hh (G*H), all U(-1/sqrt(H), 1/sqrt(H)); G = 4 (LSTM i,f,g,o), 3 (GRU r,z,n), 1.
 */
import { Tensor } from '../tensor/tensor.js';
import { uniform, zeros } from '../tensor/create.js';
import { formatShape, shapeEquals } from '../tensor/shape.js';
import { linear, slice, unsqueeze, squeeze, relu } from '../autograd/index.js';
import { Module } from './module.js';
import { checkKnown, positiveInt, bool, oneOf } from './options.js';

/** clip(0.2 x + 0.5, 0, 1) from ops: relu(0.2x + 0.5) - relu(0.2x - 0.5). */
function hardSigmoid(x: Tensor): Tensor {
  const y = x.mul(0.2);
  return relu(y.add(0.5)).sub(relu(y.sub(0.5)));
}

function gateFn(kind: 'sigmoid' | 'hard_sigmoid'): (t: Tensor) => Tensor {
  return kind === 'hard_sigmoid' ? hardSigmoid : (t) => t.sigmoid();
}

/** Options of `LSTMCell` and `GRUCell` (and the base of `RNNCell`'s). */
export interface CellOptions {
  inputSize: number;
  hiddenSize: number;
  /** Learn b_ih and b_hh (default true). */
  bias?: boolean;
}

/** Options of `RNNCell`. */
/** Options of `LSTMCell` and `GRUCell` beyond the shared ones: Keras's variants. */
export interface GatedCellOptions extends CellOptions {
  /** The gates' nonlinearity: 'sigmoid' (default) or Keras's 'hard_sigmoid'. */
  recurrentActivation?: 'sigmoid' | 'hard_sigmoid';
}

/** Options of `GRUCell`. */
export interface GRUCellOptions extends GatedCellOptions {
  /** false: n = tanh(Win x + bin + Whn (r h) + bhn) (Keras's reset_after=False); default true. */
  resetAfter?: boolean;
}

/** Options of `RNNCell`. */
export interface RNNCellOptions extends CellOptions {
  nonlinearity?: 'tanh' | 'relu';
}

abstract class CellBase extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  readonly weight_ih: Tensor;
  readonly weight_hh: Tensor;
  readonly bias_ih: Tensor | null;
  readonly bias_hh: Tensor | null;
  protected readonly who: string;

  protected constructor(who: string, gates: number, options: CellOptions, extraKeys: readonly string[]) {
    super();
    checkKnown(options, ['inputSize', 'hiddenSize', 'bias', ...extraKeys], who);
    this.who = who;
    this.inputSize = positiveInt(options.inputSize, 'inputSize', who);
    this.hiddenSize = positiveInt(options.hiddenSize, 'hiddenSize', who);
    this.bias = bool(options.bias, 'bias', who, true);
    const k = 1 / Math.sqrt(this.hiddenSize);
    const GH = gates * this.hiddenSize;
    this.weight_ih = this.registerParameter('weight_ih', uniform([GH, this.inputSize], k));
    this.weight_hh = this.registerParameter('weight_hh', uniform([GH, this.hiddenSize], k));
    this.bias_ih = this.bias ? this.registerParameter('bias_ih', uniform([GH], k)) : null;
    this.bias_hh = this.bias ? this.registerParameter('bias_hh', uniform([GH], k)) : null;
  }

  /** Checks x (B, I) or unbatched (I) and a state; returns them batched, with the state defaulting to zeros. */
  protected prepare(x: Tensor, states: readonly (Tensor | null | undefined)[], names: readonly string[]): { x: Tensor; states: Tensor[]; unbatched: boolean } {
    const who = `${this.who}.forward`;
    if (!(x instanceof Tensor)) throw new Error(`${who}: input must be a Tensor`);
    if (x.dtype === 'int32') throw new Error(`${who}: input must be a floating-point tensor, got int32`);
    if (x.ndim !== 1 && x.ndim !== 2) throw new Error(`${who}: input must be 2-D (batch, inputSize) or 1-D (inputSize), got shape ${formatShape(x.shape)}`);
    if (x.shape[x.ndim - 1] !== this.inputSize) throw new Error(`${who}: input has ${x.shape[x.ndim - 1]} features, expected inputSize ${this.inputSize}`);
    if (x.dtype !== this.dtype) throw new Error(`${who}: input is ${x.dtype} but the parameters are ${this.dtype}`);
    const unbatched = x.ndim === 1;
    const xb = unbatched ? unsqueeze(x, 0) : x;
    const B = xb.shape[0]!;
    const expected = unbatched ? [this.hiddenSize] : [B, this.hiddenSize];
    const out = states.map((s, i) => {
      if (s === undefined || s === null) return zeros([B, this.hiddenSize], { dtype: x.dtype });
      if (!(s instanceof Tensor)) throw new Error(`${who}: ${names[i]} must be a Tensor`);
      if (!shapeEquals(s.shape, expected)) throw new Error(`${who}: ${names[i]} has shape ${formatShape(s.shape)}, expected ${formatShape(expected)}`);
      if (s.dtype !== x.dtype) throw new Error(`${who}: ${names[i]} is ${s.dtype} but the input is ${x.dtype}`);
      return unbatched ? unsqueeze(s, 0) : s;
    });
    return { x: xb, states: out, unbatched };
  }

  protected out(t: Tensor, unbatched: boolean): Tensor {
    return unbatched ? squeeze(t, 0) : t;
  }
}

/** h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu). */
export class RNNCell extends CellBase {
  readonly nonlinearity: 'tanh' | 'relu';
  constructor(options: RNNCellOptions) {
    super('RNNCell', 1, options, ['nonlinearity']);
    this.nonlinearity = oneOf(options.nonlinearity, ['tanh', 'relu'] as const, 'nonlinearity', 'RNNCell', 'tanh');
  }
  /** x (B, I) [, h (B, H)] -> h' (B, H) */
  forward(x: Tensor, h?: Tensor | null): Tensor {
    const p = this.prepare(x, [h], ['h']);
    const a = linear(p.x, this.weight_ih, this.bias_ih).add(linear(p.states[0]!, this.weight_hh, this.bias_hh)); // (B, H)
    return this.out(this.nonlinearity === 'tanh' ? a.tanh() : a.relu(), p.unbatched);
  }
}

/** i, f, g, o from W_ih x + b_ih + W_hh h + b_hh; c' = f c + i g; h' = o tanh(c'). */
export class LSTMCell extends CellBase {
  readonly recurrentActivation: 'sigmoid' | 'hard_sigmoid';
  constructor(options: GatedCellOptions) {
    super('LSTMCell', 4, options, ['recurrentActivation']);
    this.recurrentActivation = oneOf(options.recurrentActivation, ['sigmoid', 'hard_sigmoid'] as const, 'recurrentActivation', 'LSTMCell', 'sigmoid');
  }
  /** x (B, I) [, [h (B, H), c (B, H)]] -> [h', c'] */
  forward(x: Tensor, state?: readonly [Tensor, Tensor] | null): [Tensor, Tensor] {
    if (state !== undefined && state !== null && (!Array.isArray(state) || state.length !== 2)) {
      throw new Error('LSTMCell.forward: the state must be a pair [h, c] of tensors');
    }
    const p = this.prepare(x, [state?.[0], state?.[1]], ['h', 'c']);
    const [h, c] = p.states as [Tensor, Tensor];
    const H = this.hiddenSize;
    const gates = linear(p.x, this.weight_ih, this.bias_ih).add(linear(h, this.weight_hh, this.bias_hh)); // (B, 4H)
    const act = gateFn(this.recurrentActivation);
    const i = act(slice(gates, 1, 0, H));
    const f = act(slice(gates, 1, H, 2 * H));
    const g = slice(gates, 1, 2 * H, 3 * H).tanh();
    const o = act(slice(gates, 1, 3 * H, 4 * H));
    const c1 = f.mul(c).add(i.mul(g)); // (B, H)
    const h1 = o.mul(c1.tanh()); // (B, H)
    return [this.out(h1, p.unbatched), this.out(c1, p.unbatched)];
  }
}

/** r, z = sigmoid(.), n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h. */
export class GRUCell extends CellBase {
  readonly recurrentActivation: 'sigmoid' | 'hard_sigmoid';
  readonly resetAfter: boolean;
  constructor(options: GRUCellOptions) {
    super('GRUCell', 3, options, ['recurrentActivation', 'resetAfter']);
    this.recurrentActivation = oneOf(options.recurrentActivation, ['sigmoid', 'hard_sigmoid'] as const, 'recurrentActivation', 'GRUCell', 'sigmoid');
    this.resetAfter = bool(options.resetAfter, 'resetAfter', 'GRUCell', true);
  }
  /** x (B, I) [, h (B, H)] -> h' (B, H) */
  forward(x: Tensor, h?: Tensor | null): Tensor {
    const p = this.prepare(x, [h], ['h']);
    const hp = p.states[0]!;
    const H = this.hiddenSize;
    const gi = linear(p.x, this.weight_ih, this.bias_ih); // (B, 3H)
    const gh = linear(hp, this.weight_hh, this.bias_hh); // (B, 3H)
    const act = gateFn(this.recurrentActivation);
    const r = act(slice(gi, 1, 0, H).add(slice(gh, 1, 0, H)));
    const z = act(slice(gi, 1, H, 2 * H).add(slice(gh, 1, H, 2 * H)));
    const hn = this.resetAfter
      ? r.mul(slice(gh, 1, 2 * H, 3 * H)) // r (Whn h + bhn)
      : linear(r.mul(hp), slice(this.weight_hh, 0, 2 * H, 3 * H), this.bias_hh && slice(this.bias_hh, 0, 2 * H, 3 * H)); // Whn (r h) + bhn
    const n = slice(gi, 1, 2 * H, 3 * H).add(hn).tanh();
    const h1 = n.add(z.mul(hp.sub(n))); // (1 - z) n + z h
    return this.out(h1, p.unbatched);
  }
}
