/**
 * Multi-layer, optionally bidirectional recurrent layers with PyTorch's names, layouts and
 * gate orders. Each layer is one autograd node (see autograd/recurrent.ts).
 *
 * Legend: T steps, B batch, I inputSize, H hiddenSize, P projSize (LSTM, 0 = none),
 * Hout = P || H, L numLayers, D = 2 if bidirectional else 1.
 *
 * Parameters, per layer k and direction (suffix `_reverse` for the backward one):
 *   weight_ih_l{k} (G*H, I for k = 0 else D*Hout), weight_hh_l{k} (G*H, Hout),
 *   bias_ih_l{k} (G*H), bias_hh_l{k} (G*H), weight_hr_l{k} (P, H) when projecting;
 *   G = 4 (LSTM gates i, f, g, o), 3 (GRU r, z, n), 1 (RNN); all U(-1/sqrt(H), 1/sqrt(H)).
 * Shapes: input (T, B, I) or (B, T, I) with batchFirst, or unbatched (T, I);
 *   output (T, B, D*Hout) (batch-first likewise); states (L*D, B, Hout), cell (L*D, B, H).
 */
import { Tensor } from '../tensor/tensor.js';
import { uniform, zeros } from '../tensor/create.js';
import { formatShape, shapeEquals, numel } from '../tensor/shape.js';
import { checkMemory } from '../tensor/memory.js';
import { getBackend, type RecurrentKind, type RecurrentStepper } from '../backend/backend.js';
import type { FloatArray } from '../tensor/dtype.js';
import type { Generator } from '../tensor/random.js';
import type { DrawOptions } from '../backend/sample.js';
import { recurrentLayer, concat, slice, transpose, unsqueeze, squeeze, type DirectionParams } from '../autograd/index.js';
import { Module } from './module.js';
import { checkKnown, positiveInt, nonNegativeInt, bool, oneOf } from './options.js';
import { dropout as dropoutFn } from './layers.js';

/**
 * Options shared by `RNN`, `LSTM` and `GRU`. Sizes and counts are positive integers, and the
 * parameters they make must fit in the machine's memory: a layer that would not is refused, with
 * the size it needs, before anything is allocated.
 */
export interface RecurrentOptions {
  /** Features of each step's input (1 or more). */
  inputSize: number;
  /** Features of the hidden state (1 or more). */
  hiddenSize: number;
  /** Stacked layers (default 1; 1 or more). */
  numLayers?: number;
  /** Learn the biases b_ih and b_hh (default true). */
  bias?: boolean;
  /** Input and output as (B, T, features) instead of (T, B, features) (default false). States stay (L*D, B, H). */
  batchFirst?: boolean;
  /** Dropout probability on the outputs of every layer but the last, in training (default 0). */
  dropout?: number;
  /** Run a second, reversed direction and concatenate (default false). */
  bidirectional?: boolean;
}

/** Options of `RNN`. */
export interface RNNOptions extends RecurrentOptions {
  /** 'tanh' (default) or 'relu'. */
  nonlinearity?: 'tanh' | 'relu';
}

/** Options of `LSTM`. */
export interface LSTMOptions extends RecurrentOptions {
  /** Project h to this size with weight_hr (default 0: no projection); must be below hiddenSize. */
  projSize?: number;
  /** The i, f, o gates' nonlinearity: 'sigmoid' (default, PyTorch) or Keras's 'hard_sigmoid' (clip(0.2 x + 0.5, 0, 1)). */
  recurrentActivation?: 'sigmoid' | 'hard_sigmoid';
}

/** Options of `GRU`. */
export interface GRUOptions extends RecurrentOptions {
  /** The r, z gates' nonlinearity: 'sigmoid' (default, PyTorch) or Keras's 'hard_sigmoid'. */
  recurrentActivation?: 'sigmoid' | 'hard_sigmoid';
  /**
   * true (default, PyTorch and Keras's reset_after=True): n = tanh(Win x + bin + r (Whn h + bhn));
   * false (Keras's reset_after=False): n = tanh(Win x + bin + Whn (r h) + bhn).
   */
  resetAfter?: boolean;
}

const BASE_KEYS = ['inputSize', 'hiddenSize', 'numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional'] as const;

abstract class RecurrentBase extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  readonly projSize: number;
  protected readonly kind: RecurrentKind;
  private readonly who: string;
  /** Keras's variants, where chosen (both default to PyTorch's). */
  readonly variant: { resetAfter?: boolean; gateActivation?: 'sigmoid' | 'hard_sigmoid' };

  protected constructor(who: string, kind: RecurrentKind, options: RecurrentOptions & { projSize?: number; recurrentActivation?: unknown; resetAfter?: unknown }, extraKeys: readonly string[]) {
    super();
    checkKnown(options, [...BASE_KEYS, ...extraKeys], who);
    this.who = who;
    this.kind = kind;
    this.inputSize = positiveInt(options.inputSize, 'inputSize', who);
    this.hiddenSize = positiveInt(options.hiddenSize, 'hiddenSize', who);
    this.numLayers = nonNegativeInt(options.numLayers, 'numLayers', who, 1);
    if (this.numLayers < 1) throw new Error(`${who}: numLayers must be a positive integer, got ${this.numLayers}`);
    this.bias = bool(options.bias, 'bias', who, true);
    this.batchFirst = bool(options.batchFirst, 'batchFirst', who, false);
    this.bidirectional = bool(options.bidirectional, 'bidirectional', who, false);
    const p = options.dropout ?? 0;
    if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new Error(`${who}: dropout must be a number in [0, 1), got ${String(p)}`);
    this.dropout = p;
    this.projSize = nonNegativeInt(options.projSize, 'projSize', who, 0);
    this.variant = {};
    if (options.recurrentActivation !== undefined) {
      this.variant.gateActivation = oneOf(options.recurrentActivation, ['sigmoid', 'hard_sigmoid'] as const, 'recurrentActivation', who, 'sigmoid');
    }
    if (options.resetAfter !== undefined) this.variant.resetAfter = bool(options.resetAfter, 'resetAfter', who, true);
    if (this.projSize >= this.hiddenSize) throw new Error(`${who}: projSize must be smaller than hiddenSize ${this.hiddenSize}, got ${this.projSize}`);

    const G = kind === 'lstm' ? 4 : kind === 'gru' ? 3 : 1;
    const H = this.hiddenSize;
    const Hout = this.projSize || H;
    const k = 1 / Math.sqrt(H);
    // every parameter counted before any is allocated: a stack too big for memory fails at once
    const D = this.numDirections;
    const perDirection = (inSize: number): number => G * H * (inSize + Hout) + (this.bias ? 2 * G * H : 0) + this.projSize * H;
    const count = D * (perDirection(this.inputSize) + (this.numLayers - 1) * perDirection(D * Hout));
    checkMemory(who, count * 4, `the parameters of ${this.numLayers} layer${this.numLayers > 1 ? 's' : ''} of hiddenSize ${H}`);
    for (let l = 0; l < this.numLayers; l++) {
      const inSize = l === 0 ? this.inputSize : this.numDirections * Hout;
      for (let d = 0; d < this.numDirections; d++) {
        const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
        this.registerParameter(`weight_ih${sfx}`, uniform([G * H, inSize], k));
        this.registerParameter(`weight_hh${sfx}`, uniform([G * H, Hout], k));
        if (this.bias) {
          this.registerParameter(`bias_ih${sfx}`, uniform([G * H], k));
          this.registerParameter(`bias_hh${sfx}`, uniform([G * H], k));
        }
        if (this.projSize > 0) this.registerParameter(`weight_hr${sfx}`, uniform([this.projSize, H], k));
      }
    }
  }

  /** 2 if bidirectional, else 1. */
  get numDirections(): number {
    return this.bidirectional ? 2 : 1;
  }

  private dirParams(l: number, d: number): DirectionParams {
    const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
    return {
      wih: this.param(`weight_ih${sfx}`),
      whh: this.param(`weight_hh${sfx}`),
      bih: this.bias ? this.param(`bias_ih${sfx}`) : null,
      bhh: this.bias ? this.param(`bias_hh${sfx}`) : null,
      whr: this.projSize > 0 ? this.param(`weight_hr${sfx}`) : null,
    };
  }

  private checkState(s: unknown, name: string, width: number, B: number, unbatched: boolean, dtype: string): Tensor {
    const who = `${this.who}.forward`;
    const LD = this.numLayers * this.numDirections;
    const expected = unbatched ? [LD, width] : [LD, B, width];
    if (!(s instanceof Tensor)) throw new Error(`${who}: ${name} must be a Tensor of shape ${formatShape(expected)}, got ${s === null ? 'null' : typeof s}`);
    if (!shapeEquals(s.shape, expected)) {
      throw new Error(`${who}: ${name} has shape ${formatShape(s.shape)}, expected ${formatShape(expected)} (numLayers*numDirections, ${unbatched ? '' : 'batch, '}${name === 'c0' ? 'hiddenSize' : this.projSize ? 'projSize' : 'hiddenSize'})`);
    }
    if (s.dtype !== dtype) throw new Error(`${who}: ${name} is ${s.dtype} but the input is ${dtype}`);
    return unbatched ? unsqueeze(s, 1) : s;
  }

  /**
   * A snapshot of the weights for running one step at a time (generation, streaming): each
   * `step(x, state)` takes x (B, inputSize) or (inputSize) and returns the top layer's output and
   * the new state, in the layout of `forward`'s final states. Unidirectional layers only; no
   * gradients. After the weights change (training, loadStateDict), make a new stepper: an old one
   * refuses to run.
   */
  stepper(): LayerStepper {
    return new LayerStepper(this, this.who, this.kind);
  }

  /** @internal a stepper with an embedding before it and a head after it (SequenceModel.stepper) */
  stepperAround(around: StepperAround): LayerStepper {
    return new LayerStepper(this, this.who, this.kind, around);
  }

  /** @internal the weights of layer l, forward direction */
  layerWeights(l: number): DirectionParams {
    return this.dirParams(l, 0);
  }

  /** Runs every layer; returns output and final states in the caller's layout. */
  protected run(x: Tensor, h0In: unknown, c0In: unknown): { out: Tensor; hN: Tensor; cN: Tensor | null } {
    const who = `${this.who}.forward`;
    if (!(x instanceof Tensor)) throw new Error(`${who}: input must be a Tensor, got ${x === null ? 'null' : typeof x}`);
    if (x.dtype === 'int32') throw new Error(`${who}: input must be a floating-point tensor, got int32 (token ids go through an Embedding first)`);
    if (x.ndim !== 2 && x.ndim !== 3) {
      throw new Error(`${who}: input must be 3-D ${this.batchFirst ? '(batch, seq, inputSize)' : '(seq, batch, inputSize)'} or 2-D unbatched (seq, inputSize), got shape ${formatShape(x.shape)}`);
    }
    if (x.shape[x.ndim - 1] !== this.inputSize) {
      throw new Error(`${who}: input has ${x.shape[x.ndim - 1]} features, expected inputSize ${this.inputSize}`);
    }
    if (x.dtype !== this.dtype) {
      throw new Error(`${who}: input is ${x.dtype} but the parameters are ${this.dtype}; convert one (module.to('${x.dtype}') or input.to('${this.dtype}'))`);
    }
    const unbatched = x.ndim === 2;
    const seq = unbatched ? unsqueeze(x, 1) : this.batchFirst ? transpose(x, 0, 1) : x; // (T, B, I)
    const [T, B] = seq.shape as [number, number, number];
    if (T < 1) throw new Error(`${who}: input has 0 time steps`);
    if (B < 1) throw new Error(`${who}: input has batch size 0`);
    const D = this.numDirections;
    const L = this.numLayers;
    const H = this.hiddenSize;
    const Hout = this.projSize || H;
    const lstm = this.kind === 'lstm';
    const h0 = h0In === undefined || h0In === null ? zeros([L * D, B, Hout], { dtype: x.dtype }) : this.checkState(h0In, 'h0', Hout, B, unbatched, x.dtype);
    const c0 = !lstm ? null : c0In === undefined || c0In === null ? zeros([L * D, B, H], { dtype: x.dtype }) : this.checkState(c0In, 'c0', H, B, unbatched, x.dtype);

    let inp = seq;
    const hNs: Tensor[] = [];
    const cNs: Tensor[] = [];
    for (let l = 0; l < L; l++) {
      const h0l = L === 1 ? h0 : slice(h0, 0, l * D, (l + 1) * D); // (D, B, Hout)
      const c0l = c0 && (L === 1 ? c0 : slice(c0, 0, l * D, (l + 1) * D)); // (D, B, H)
      const dirs = Array.from({ length: D }, (_, d) => this.dirParams(l, d));
      const [out, hN, cN] = recurrentLayer(this.kind, inp, dirs, h0l, c0l, H, this.projSize, this.variant); // (T, B, D*Hout)
      hNs.push(hN);
      if (cN) cNs.push(cN);
      inp = l < L - 1 && this.dropout > 0 && this.training ? dropoutFn(out, this.dropout, true) : out;
    }
    let out = inp;
    let hN = L === 1 ? hNs[0]! : concat(hNs, 0);
    let cN = !lstm ? null : L === 1 ? cNs[0]! : concat(cNs, 0);
    if (unbatched) {
      out = squeeze(out, 1);
      hN = squeeze(hN, 1);
      cN = cN && squeeze(cN, 1);
    } else if (this.batchFirst) out = transpose(out, 0, 1);
    return { out, hN, cN };
  }
}

/** Elman RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu). */
export class RNN extends RecurrentBase {
  readonly nonlinearity: 'tanh' | 'relu';
  constructor(options: RNNOptions) {
    const nl = oneOf(options?.nonlinearity, ['tanh', 'relu'] as const, 'nonlinearity', 'RNN', 'tanh');
    super('RNN', nl === 'tanh' ? 'rnn_tanh' : 'rnn_relu', options, ['nonlinearity']);
    this.nonlinearity = nl;
  }
  /** x (T, B, I) [, h0 (L*D, B, H)] -> [output (T, B, D*H), hN (L*D, B, H)] */
  forward(x: Tensor, h0?: Tensor | null): [Tensor, Tensor] {
    const { out, hN } = this.run(x, h0, undefined);
    return [out, hN];
  }
}

/**
 * Long short-term memory: i, f, o = sigmoid(.), g = tanh(.) over W_ih x + b_ih + W_hh h + b_hh
 * (gate order i, f, g, o), c' = f c + i g, h' = o tanh(c') (times W_hr with a projection).
 */
export class LSTM extends RecurrentBase {
  constructor(options: LSTMOptions) {
    super('LSTM', 'lstm', options, ['projSize', 'recurrentActivation']);
  }
  /** x (T, B, I) [, [h0 (L*D, B, Hout), c0 (L*D, B, H)]] -> [output (T, B, D*Hout), [hN, cN]] */
  forward(x: Tensor, state?: readonly [Tensor, Tensor] | null): [Tensor, [Tensor, Tensor]] {
    if (state !== undefined && state !== null && (!Array.isArray(state) || state.length !== 2)) {
      throw new Error('LSTM.forward: the state must be a pair [h0, c0] of tensors');
    }
    const { out, hN, cN } = this.run(x, state?.[0], state?.[1]);
    return [out, [hN, cN!]];
  }
}

/**
 * Gated recurrent unit (PyTorch's form, gate order r, z, n):
 * r, z = sigmoid(.), n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h.
 */
export class GRU extends RecurrentBase {
  constructor(options: GRUOptions) {
    super('GRU', 'gru', options, ['recurrentActivation', 'resetAfter']);
  }
  /** x (T, B, I) [, h0 (L*D, B, H)] -> [output (T, B, D*H), hN (L*D, B, H)] */
  forward(x: Tensor, h0?: Tensor | null): [Tensor, Tensor] {
    const { out, hN } = this.run(x, h0, undefined);
    return [out, hN];
  }
}

/** The state a stepper carries: h (L, B, Hout), and c (L, B, H) for the LSTM. */
export type StepState = Tensor | readonly [Tensor, Tensor];

/**
 * @internal What a model's stepper fuses around a layer's steps: an embedding before the first
 * layer (token ids in) and a linear head after the last (its logits out).
 */
export interface StepperAround {
  embedding?: Tensor;
  head?: { weight: Tensor; bias: Tensor | null };
}

/** Runs a recurrent layer one step at a time on a snapshot of its weights; see `stepper()`. */
export class LayerStepper {
  private readonly steppers: RecurrentStepper[];
  private readonly versions: [Tensor, number][];
  private readonly dtype: 'float32' | 'float64';

  /** @internal use `layer.stepper()` (or `SequenceModel.stepper()` for `around`) */
  constructor(private readonly m: RecurrentBase, private readonly who: string, private readonly kind: RecurrentKind, around: StepperAround = {}) {
    if (m.bidirectional) throw new Error(`${who}.stepper: a bidirectional layer reads the sequence backwards and cannot run one step at a time`);
    this.dtype = m.dtype === 'float64' ? 'float64' : 'float32';
    const H = m.hiddenSize;
    const P = m.projSize;
    const Hout = P || H;
    const L = m.numLayers;
    const d = (t: Tensor | null): FloatArray | null => (t ? (t.data as FloatArray) : null);
    const { embedding, head } = around;
    this.steppers = Array.from({ length: L }, (_, l) => {
      const p = m.layerWeights(l);
      return getBackend().recurrentStepper({ kind, T: 1, B: 1, I: l === 0 ? m.inputSize : Hout, H, P, ...m.variant }, { wih: d(p.wih)!, whh: d(p.whh)!, bih: d(p.bih), bhh: d(p.bhh), whr: d(p.whr) }, {
        ...(embedding && l === 0 ? { embedding: { weight: d(embedding)!, V: embedding.shape[0]! } } : {}),
        ...(head && l === L - 1 ? { head: { weight: d(head.weight)!, bias: d(head.bias), O: head.weight.shape[0]! } } : {}),
      });
    });
    const extra = [embedding, head?.weight, head?.bias].filter((t): t is Tensor => t instanceof Tensor);
    this.versions = [...m.parameters(), ...extra].map((p) => [p, p.version]);
  }

  /** x (B, inputSize) or (inputSize) [, state] -> [output (B, Hout) or (Hout), new state]. */
  step(x: Tensor, state?: StepState | null): [Tensor, StepState] {
    const who = `${this.who}.stepper().step`;
    if (!(x instanceof Tensor)) throw new Error(`${who}: x must be a Tensor`);
    if (x.ndim !== 1 && x.ndim !== 2) throw new Error(`${who}: x must be (batch, inputSize) or (inputSize), got shape ${formatShape(x.shape)}`);
    if (x.shape[x.ndim - 1] !== this.m.inputSize) throw new Error(`${who}: x has ${x.shape[x.ndim - 1]} features, expected inputSize ${this.m.inputSize}`);
    if (x.dtype !== this.dtype) throw new Error(`${who}: x is ${x.dtype} but the weights are ${this.dtype}`);
    const unbatched = x.ndim === 1;
    const B = unbatched ? 1 : x.shape[0]!;
    const r = this.run(x.data as FloatArray, B, unbatched, state, who);
    const Hout = this.m.projSize || this.m.hiddenSize;
    return [new Tensor(r.output, unbatched ? [Hout] : [B, Hout]), r.state];
  }

  /**
   * @internal T steps (default one) from x (T * B * inputSize values), or T * B token ids with
   * an embedding, each layer in one backend call: the top layer's output at the last step
   * (B * Hout values), the head's logits there (B * O) when there is a head, and the new state.
   */
  run(inp: FloatArray | Int32Array, B: number, unbatched: boolean, state: StepState | null | undefined, who: string, T = 1): { output: FloatArray; logits: FloatArray | null; state: StepState } {
    this.checkUsable(who);
    const { h0, c0 } = this.layerStates(state, B, unbatched, who);
    const hN: FloatArray[] = [];
    const cN: (FloatArray | null)[] = [];
    let x: FloatArray | Int32Array = inp;
    let logits: FloatArray | null = null;
    this.steppers.forEach((st, l) => {
      const r = st.run(x, T, B, h0(l), c0(l));
      hN.push(r.hN);
      cN.push(r.cN);
      x = r.out;
      logits = r.logits;
    });
    const Hout = this.m.projSize || this.m.hiddenSize;
    // the last step's rows
    const last = (a: FloatArray, w: number): FloatArray => (T === 1 ? a : a.slice((T - 1) * B * w));
    const lg = logits as FloatArray | null;
    return { output: last(x as FloatArray, Hout), logits: lg && last(lg, lg.length / (T * B)), state: this.stateFrom(hN, cN, B, unbatched) };
  }

  /**
   * @internal Generation from token ids (a stepper with an embedding and a head), one sequence:
   * n tokens drawn, the first step's input `first` (see SequenceStepper.generate), by the
   * backend's generate (all n steps of every layer in one call where it can).
   */
  generate(first: number, n: number, state: StepState | null | undefined, sample: DrawOptions, rng: Generator, who: string): { ids: Int32Array; logits: FloatArray; state: StepState } {
    this.checkUsable(who);
    const { h0, c0 } = this.layerStates(state, 1, true, who);
    // the draws' uniforms, as many and in the order step-by-step sampling takes them
    const uniforms = new Float64Array(sample.temperature > 0 ? n : 0);
    for (let i = 0; i < uniforms.length; i++) uniforms[i] = rng.random();
    const above = this.steppers.slice(1).map((stepper, i) => ({ stepper, h0: h0(i + 1), c0: c0(i + 1) }));
    const r = this.steppers[0]!.generate(first, n, h0(0), c0(0), sample, uniforms, above);
    const layers = [{ hN: r.hN, cN: r.cN }, ...r.above];
    return { ids: r.ids, logits: r.logits, state: this.stateFrom(layers.map((x) => x.hN), layers.map((x) => x.cN), 1, true) };
  }

  /** Each layer's state before a call, from the state given (checked; null or omitted: zeros). */
  private layerStates(state: StepState | null | undefined, B: number, unbatched: boolean, who: string): { h0: (l: number) => FloatArray; c0: (l: number) => FloatArray | null } {
    const H = this.m.hiddenSize;
    const Hout = this.m.projSize || H;
    const lstm = this.kind === 'lstm';
    const { h, c } = this.stateOf(state, B, unbatched, who);
    const zeros = h && (c || !lstm) ? null : this.alloc(B * Math.max(H, Hout)); // read only
    return {
      h0: (l) => (h ? (h.data as FloatArray).subarray(l * B * Hout, (l + 1) * B * Hout) : zeros!.subarray(0, B * Hout)),
      c0: (l) => (lstm ? (c ? (c.data as FloatArray).subarray(l * B * H, (l + 1) * B * H) : zeros!.subarray(0, B * H)) : null),
    };
  }

  /** The state after a call from each layer's (one layer's: the backend's own fresh arrays). */
  private stateFrom(hN: FloatArray[], cN: (FloatArray | null)[], B: number, unbatched: boolean): StepState {
    const L = hN.length;
    const gather = (parts: FloatArray[]): FloatArray => {
      if (L === 1) return parts[0]!;
      const all = this.alloc(L * parts[0]!.length);
      parts.forEach((p, l) => all.set(p, l * p.length));
      return all;
    };
    const shapeOf = (w: number): number[] => (unbatched ? [L, w] : [L, B, w]);
    const hT = new Tensor(gather(hN), shapeOf(this.m.projSize || this.m.hiddenSize));
    return this.kind === 'lstm' ? [hT, new Tensor(gather(cN as FloatArray[]), shapeOf(this.m.hiddenSize))] : hT;
  }

  private alloc(n: number): FloatArray {
    return this.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  }

  /** Throws once the stepper was disposed or the weights it snapshotted have changed. */
  private checkUsable(who: string): void {
    if (this.disposed) throw new Error(`${who}: this stepper was disposed; make a new one with stepper()`);
    for (const [p, v] of this.versions) {
      if (p.version !== v) throw new Error(`${who}: the model's weights changed after this stepper was made; make a new one with stepper()`);
    }
  }

  /** The state given to run or generate, checked: h (L, [B,] Hout) and c (L, [B,] H), or nulls. */
  private stateOf(state: StepState | null | undefined, B: number, unbatched: boolean, who: string): { h: Tensor | null; c: Tensor | null } {
    const L = this.m.numLayers;
    const H = this.m.hiddenSize;
    const Hout = this.m.projSize || H;
    const lstm = this.kind === 'lstm';
    let h: Tensor | null = null;
    let c: Tensor | null = null;
    if (state !== undefined && state !== null) {
      if (lstm && (!Array.isArray(state) || state.length !== 2)) throw new Error(`${who}: the LSTM state must be a pair [h, c]`);
      h = lstm ? (state as readonly [Tensor, Tensor])[0] : (state as Tensor);
      c = lstm ? (state as readonly [Tensor, Tensor])[1] : null;
      const want = (w: number): number[] => (unbatched ? [L, w] : [L, B, w]);
      if (!(h instanceof Tensor) || !shapeEquals(h.shape, want(Hout)) || h.dtype !== this.dtype) {
        throw new Error(`${who}: h must be a ${this.dtype} tensor of shape ${formatShape(want(Hout))}, got ${h instanceof Tensor ? `${h.dtype} ${formatShape(h.shape)}` : typeof h}`);
      }
      if (lstm && (!(c instanceof Tensor) || !shapeEquals(c.shape, want(H)) || c.dtype !== this.dtype)) {
        throw new Error(`${who}: c must be a ${this.dtype} tensor of shape ${formatShape(want(H))}`);
      }
      // a state whose buffer was transferred away (postMessage) reads as empty
      for (const [name, t] of [['h', h], ['c', c]] as const) {
        if (t && t.data.length !== numel(t.shape)) throw new Error(`${who}: ${name}'s data has ${t.data.length} values, expected ${numel(t.shape)} (was its buffer transferred?)`);
      }
    }
    return { h, c };
  }

  /** Frees the snapshot now (otherwise it goes when the stepper is garbage-collected). */
  dispose(): void {
    this.disposed = true;
    for (const s of this.steppers) s.dispose();
  }

  private disposed = false;
}
