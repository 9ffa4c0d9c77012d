/**
 * One-step cells composed of ordinary differentiable ops: the readable statement of the
 * equations, and an independent check of the sequence kernels (an unrolled loop of cells must
 * agree with the layer). Each cell's parameters come from its rule (src/backend/cells.ts).
 *
 * Legend: B batch, I inputSize, H hiddenSize. Parameters: weight_ih (G*H, I), weight_hh (G*H, H),
 * bias_ih (G*H), bias_hh (G*H), all U(-1/sqrt(H), 1/sqrt(H)); G = 4 (LSTM i,f,g,o), 3 (GRU r,z,n),
 * 1 (RNN), and the further parameters of the cells beyond PyTorch's (layer norms, peepholes).
 */
import { Tensor } from '../tensor/tensor.js';
import { uniform, zeros, ones } from '../tensor/create.js';
import { formatShape, shapeEquals } from '../tensor/shape.js';
import { cellRule, paramSpecs, type CellKind } from '../backend/cells.js';
import { linear, slice, unsqueeze, squeeze, relu } from '../autograd/index.js';
import { Module } from './module.js';
import { layerNormLastDim } from './layers.js';
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
  readonly bias_ih: Tensor | null;
  protected readonly who: string;

  protected constructor(who: string, kind: CellKind, options: CellOptions, extraKeys: readonly string[]) {
    super();
    const rule = cellRule(kind);
    checkKnown(options, ['inputSize', 'hiddenSize', ...(rule.biasOption ? ['bias'] : []), ...extraKeys], who);
    this.who = who;
    this.inputSize = positiveInt(options.inputSize, 'inputSize', who);
    this.hiddenSize = positiveInt(options.hiddenSize, 'hiddenSize', who);
    this.bias = rule.biasOption ? bool(options.bias, 'bias', who, true) : false;
    const H = this.hiddenSize;
    const k = 1 / Math.sqrt(H);
    for (const spec of paramSpecs(kind, this.bias, false)) {
      const shape = spec.shape({ G: rule.gates.length, H, I: this.inputSize, Hout: H, P: 0 });
      this.registerParameter(spec.name, spec.init === 'uniform' ? uniform(shape, k) : spec.init === 'ones' ? ones(shape) : zeros(shape));
    }
    this.weight_ih = this.param('weight_ih');
    this.bias_ih = this.bias ? this.param('bias_ih') : null;
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

/** A cell with PyTorch's recurrent product W_hh h + b_hh. */
abstract class RecurrentCellBase extends CellBase {
  readonly weight_hh: Tensor;
  readonly bias_hh: Tensor | null;
  protected constructor(who: string, kind: CellKind, options: CellOptions, extraKeys: readonly string[]) {
    super(who, kind, options, extraKeys);
    this.weight_hh = this.param('weight_hh');
    this.bias_hh = this.bias ? this.param('bias_hh') : null;
  }
}

/** h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu). */
export class RNNCell extends RecurrentCellBase {
  readonly nonlinearity: 'tanh' | 'relu';
  constructor(options: RNNCellOptions) {
    const nl = oneOf(options?.nonlinearity, ['tanh', 'relu'] as const, 'nonlinearity', 'RNNCell', 'tanh');
    super('RNNCell', nl === 'tanh' ? 'rnn_tanh' : 'rnn_relu', options, ['nonlinearity']);
    this.nonlinearity = nl;
  }
  /** x (B, I) [, h (B, H)] -> h' (B, H) */
  forward(x: Tensor, h?: Tensor | null): Tensor {
    const p = this.prepare(x, [h], ['h']);
    const a = linear(p.x, this.weight_ih, this.bias_ih).add(linear(p.states[0]!, this.weight_hh, this.bias_hh)); // (B, H)
    return this.out(this.nonlinearity === 'tanh' ? a.tanh() : a.relu(), p.unbatched);
  }
}

/** i, f, g, o from W_ih x + b_ih + W_hh h + b_hh; c' = f c + i g; h' = o tanh(c'). */
export class LSTMCell extends RecurrentCellBase {
  readonly recurrentActivation: 'sigmoid' | 'hard_sigmoid';
  constructor(options: GatedCellOptions) {
    super('LSTMCell', 'lstm', options, ['recurrentActivation']);
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
export class GRUCell extends RecurrentCellBase {
  readonly recurrentActivation: 'sigmoid' | 'hard_sigmoid';
  readonly resetAfter: boolean;
  constructor(options: GRUCellOptions) {
    super('GRUCell', 'gru', options, ['recurrentActivation', 'resetAfter']);
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

/** The state of a cell that carries h and c. */
function cellPair(who: string, state: unknown): [Tensor | null | undefined, Tensor | null | undefined] {
  if (state === undefined || state === null) return [undefined, undefined];
  if (!Array.isArray(state) || state.length !== 2) throw new Error(`${who}.forward: the state must be a pair [h, c] of tensors`);
  return [state[0] as Tensor, state[1] as Tensor];
}

/** Options of `LayerNormLSTMCell`: no `bias` (the norms' shifts act as biases). */
export type LayerNormLSTMCellOptions = Omit<CellOptions, 'bias'>;

/**
 * PyTorch's LayerNormLSTMCell (its benchmarks' custom_lstms.py): gates = LN_i(W_ih x) +
 * LN_h(W_hh h) (i, f, g, o); c' = LN_c(f c + i g); h' = o tanh(c'). LayerNorms eps 1e-5, their
 * gains and shifts `layernorm_{i,h,c}.{weight,bias}`.
 */
export class LayerNormLSTMCell extends CellBase {
  readonly weight_hh: Tensor;
  constructor(options: LayerNormLSTMCellOptions) {
    super('LayerNormLSTMCell', 'layernorm_lstm', options, []);
    this.weight_hh = this.param('weight_hh');
  }
  /** x (B, I) [, [h (B, H), c (B, H)]] -> [h', c'] */
  forward(x: Tensor, state?: readonly [Tensor, Tensor] | null): [Tensor, Tensor] {
    const [h0, c0] = cellPair(this.who, state);
    const p = this.prepare(x, [h0, c0], ['h', 'c']);
    const [h, c] = p.states as [Tensor, Tensor];
    const H = this.hiddenSize;
    const ln = (t: Tensor, name: string): Tensor => layerNormLastDim(t, this.param(`${name}.weight`), this.param(`${name}.bias`), 1e-5);
    const gates = ln(linear(p.x, this.weight_ih, null), 'layernorm_i').add(ln(linear(h, this.weight_hh, null), 'layernorm_h')); // (B, 4H)
    const i = slice(gates, 1, 0, H).sigmoid();
    const f = slice(gates, 1, H, 2 * H).sigmoid();
    const g = slice(gates, 1, 2 * H, 3 * H).tanh();
    const o = slice(gates, 1, 3 * H, 4 * H).sigmoid();
    const c1 = ln(f.mul(c).add(i.mul(g)), 'layernorm_c'); // (B, H)
    const h1 = o.mul(c1.tanh());
    return [this.out(h1, p.unbatched), this.out(c1, p.unbatched)];
  }
}

/**
 * LSTM cell with peepholes (Gers & Schmidhuber; ONNX's LSTM with P): z = W_ih x + b_ih + W_hh h +
 * b_hh (i, f, g, o); i = sigmoid(zi + w_ci c), f = sigmoid(zf + w_cf c), c' = f c + i tanh(zg),
 * o = sigmoid(zo + w_co c'), h' = o tanh(c').
 */
export class PeepholeLSTMCell extends RecurrentCellBase {
  constructor(options: CellOptions) {
    super('PeepholeLSTMCell', 'peephole_lstm', options, []);
  }
  /** x (B, I) [, [h (B, H), c (B, H)]] -> [h', c'] */
  forward(x: Tensor, state?: readonly [Tensor, Tensor] | null): [Tensor, Tensor] {
    const [h0, c0] = cellPair(this.who, state);
    const p = this.prepare(x, [h0, c0], ['h', 'c']);
    const [h, c] = p.states as [Tensor, Tensor];
    const H = this.hiddenSize;
    const z = linear(p.x, this.weight_ih, this.bias_ih).add(linear(h, this.weight_hh, this.bias_hh)); // (B, 4H)
    const i = slice(z, 1, 0, H).add(c.mul(this.param('weight_ci'))).sigmoid();
    const f = slice(z, 1, H, 2 * H).add(c.mul(this.param('weight_cf'))).sigmoid();
    const c1 = f.mul(c).add(i.mul(slice(z, 1, 2 * H, 3 * H).tanh()));
    const o = slice(z, 1, 3 * H, 4 * H).add(c1.mul(this.param('weight_co'))).sigmoid();
    const h1 = o.mul(c1.tanh());
    return [this.out(h1, p.unbatched), this.out(c1, p.unbatched)];
  }
}

/** g(k) = k + 0.5 for k >= 0, sigmoid(k) below: relu(k) + 0.5 where k >= 0, else sigmoid(k), from ops. */
function minCandidate(k: Tensor): Tensor {
  const d = k.data;
  const pos = new Tensor(Float64Array.from(d, (v) => (v >= 0 ? 1 : 0)), k.shape).to(k.dtype); // a constant mask
  return pos.mul(k.add(0.5)).add(pos.neg().add(1).mul(k.sigmoid()));
}

/** minGRU cell (Feng et al. 2024): [k, z] = W_ih x + b_ih; h' = (1 - sigmoid(z)) h + sigmoid(z) g(k). */
export class MinGRUCell extends CellBase {
  constructor(options: CellOptions) {
    super('MinGRUCell', 'mingru', options, []);
  }
  /** x (B, I) [, h (B, H)] -> h' (B, H) */
  forward(x: Tensor, h?: Tensor | null): Tensor {
    const p = this.prepare(x, [h], ['h']);
    const hp = p.states[0]!;
    const H = this.hiddenSize;
    const a = linear(p.x, this.weight_ih, this.bias_ih); // (B, 2H)
    const z = slice(a, 1, H, 2 * H).sigmoid();
    const h1 = hp.add(z.mul(minCandidate(slice(a, 1, 0, H)).sub(hp)));
    return this.out(h1, p.unbatched);
  }
}

/** minLSTM cell (Feng et al. 2024): [k, f, i] = W_ih x + b_ih, f, i through sigmoid; h' = (f h + i g(k)) / (f + i). */
export class MinLSTMCell extends CellBase {
  constructor(options: CellOptions) {
    super('MinLSTMCell', 'minlstm', options, []);
  }
  /** x (B, I) [, h (B, H)] -> h' (B, H) */
  forward(x: Tensor, h?: Tensor | null): Tensor {
    const p = this.prepare(x, [h], ['h']);
    const hp = p.states[0]!;
    const H = this.hiddenSize;
    const a = linear(p.x, this.weight_ih, this.bias_ih); // (B, 3H)
    const f = slice(a, 1, H, 2 * H).sigmoid();
    const i = slice(a, 1, 2 * H, 3 * H).sigmoid();
    const h1 = f.mul(hp).add(i.mul(minCandidate(slice(a, 1, 0, H)))).div(f.add(i));
    return this.out(h1, p.unbatched);
  }
}

