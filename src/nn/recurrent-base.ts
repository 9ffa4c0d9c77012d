/**
 * What every recurrent layer shares, read from its cell's rule (src/backend/cells.ts): options,
 * parameters with PyTorch's names, stacking (layers, directions, dropout between layers), initial
 * states, and variable-length batches. Each layer is one autograd node (autograd/recurrent.ts).
 *
 * Legend: T steps, B batch, I inputSize, H hiddenSize, P projSize (0 = none), Hout = P || H,
 * L numLayers, D = 2 if bidirectional else 1, G the cell's gate blocks.
 *
 * Parameters, per layer k and direction (suffix `_reverse` for the backward one): the rule's, named
 * as in a cell with `_l{k}` inserted before any dot: weight_ih_l0, layernorm_i_l0.weight.
 * Shapes: input (T, B, I) or (B, T, I) with batchFirst, or unbatched (T, I);
 *   output (T, B, D*Hout) (batch-first likewise); states (L*D, B, Hout), cell (L*D, B, H).
 */
import { Tensor } from '../tensor/tensor.js';
import { uniform, zeros, ones, rand } from '../tensor/create.js';
import { allocLike, type FloatArray } from '../tensor/dtype.js';
import type { RecurrentRegularisers } from '../backend/regularise.js';
import { formatShape } from '../tensor/shape.js';
import { checkMemory } from '../tensor/memory.js';
import { cellRule, paramSpecs, BASE_ROLES, type CellRule } from '../backend/cells.js';
import { getBackend, type RecurrentKind } from '../backend/backend.js';
import { recurrentLayer, directionWeights, concat, slice, transpose, unsqueeze, squeeze, indexSelect, noGrad, type DirectionParams } from '../autograd/index.js';
import { Module } from './module.js';
import { checkKnown, positiveInt, nonNegativeInt, bool, oneOf } from './options.js';
import { dropout as dropoutFn } from './layers.js';
import { LayerStepper, snapshotForward, type StepperAround } from './stepper.js';

/**
 * Options shared by every recurrent layer. Sizes and counts are positive integers, and the
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
  /** Learn the biases (default true). */
  bias?: boolean;
  /** Input and output as (B, T, features) instead of (T, B, features) (default false). States stay (L*D, B, H). */
  batchFirst?: boolean;
  /** Dropout probability on the outputs of every layer but the last, in training (default 0). */
  dropout?: number;
  /** Run a second, reversed direction and concatenate (default false). */
  bidirectional?: boolean;
  /**
   * Recurrent dropout (Gal & Ghahramani; Keras's `recurrent_dropout`), a probability in [0, 1)
   * (default 0): in training, the state h entering each step is multiplied by one dropout mask
   * per sequence, layer and direction, the same at every step; as in Keras the masked h replaces
   * h in the whole step. Off in `eval()`.
   */
  recurrentDropout?: number;
  /**
   * Zoneout (Krueger et al. 2016), a probability in [0, 1) (default 0): in training each unit of
   * the state (h, and c for cells that have it) keeps its previous value with this probability,
   * drawn anew at every step; in `eval()` the state is p * previous + (1 - p) * new, its
   * expectation.
   */
  zoneout?: number;
}

/** Options of a layer's `forward` beyond the input and the state. */
export interface RecurrentForwardOptions {
  /**
   * Each sequence's length, for a right-padded batch (B integers in [1, T], in any order): as
   * PyTorch's packed sequences, the output is 0 at padded steps, the final state is each
   * sequence's after its last step, and the reverse direction starts at each one's last step.
   */
  lengths?: readonly number[];
}

const BASE_KEYS = ['inputSize', 'hiddenSize', 'numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional', 'recurrentDropout', 'zoneout'] as const;

/** A parameter's name in layer l, direction d: `_l{l}` (and `_reverse`) before any dot. */
/**
 * What one layer computes at every step (see RecurrentBase.activations), time-first: h (T, B,
 * Hout), c (T, B, H) where the cell has one, and each gate's activation (T, B, H) by the cell's
 * names for its gates (LSTM i, f, g, o; GRU r, z, n; none for the RNN, whose h is its one
 * activation).
 */
export interface LayerActivations {
  h: Tensor;
  c: Tensor | null;
  gates: Record<string, Tensor>;
}

export function layerParamName(name: string, l: number, d: number): string {
  const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
  const dot = name.indexOf('.');
  return dot < 0 ? `${name}${sfx}` : `${name.slice(0, dot)}${sfx}${name.slice(dot)}`;
}

export abstract class RecurrentBase extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  readonly recurrentDropout: number;
  readonly zoneout: number;
  readonly projSize: number;
  /** The kind of cell (the key of its rule in CELL_RULES). */
  readonly kind: RecurrentKind;
  /** The cell's rule. */
  readonly rule: CellRule;
  protected readonly who: string;
  /** Keras's variants, where chosen (both default to PyTorch's). */
  readonly variant: { resetAfter?: boolean; gateActivation?: 'sigmoid' | 'hard_sigmoid' };

  protected constructor(who: string, kind: RecurrentKind, options: RecurrentOptions & { projSize?: number; recurrentActivation?: unknown; resetAfter?: unknown }, extraKeys: readonly string[]) {
    super();
    const rule = cellRule(kind);
    checkKnown(options, [...BASE_KEYS.filter((k) => k !== 'bias' || rule.biasOption), ...extraKeys], who);
    this.who = who;
    this.kind = kind;
    this.rule = rule;
    this.inputSize = positiveInt(options.inputSize, 'inputSize', who);
    this.hiddenSize = positiveInt(options.hiddenSize, 'hiddenSize', who);
    this.numLayers = nonNegativeInt(options.numLayers, 'numLayers', who, 1);
    if (this.numLayers < 1) throw new Error(`${who}: numLayers must be a positive integer, got ${this.numLayers}`);
    this.bias = rule.biasOption ? bool(options.bias, 'bias', who, true) : false;
    this.batchFirst = bool(options.batchFirst, 'batchFirst', who, false);
    this.bidirectional = bool(options.bidirectional, 'bidirectional', who, false);
    const prob = (name: 'dropout' | 'recurrentDropout' | 'zoneout'): number => {
      const p = options[name] ?? 0;
      if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new Error(`${who}: ${name} must be a number in [0, 1), got ${String(p)}`);
      return p;
    };
    this.dropout = prob('dropout');
    this.recurrentDropout = prob('recurrentDropout');
    this.zoneout = prob('zoneout');
    this.projSize = rule.projection ? nonNegativeInt(options.projSize, 'projSize', who, 0) : 0;
    this.variant = {};
    if (options.recurrentActivation !== undefined) {
      this.variant.gateActivation = oneOf(options.recurrentActivation, ['sigmoid', 'hard_sigmoid'] as const, 'recurrentActivation', who, 'sigmoid');
    }
    if (options.resetAfter !== undefined) this.variant.resetAfter = bool(options.resetAfter, 'resetAfter', who, true);
    if (this.projSize >= this.hiddenSize) throw new Error(`${who}: projSize must be smaller than hiddenSize ${this.hiddenSize}, got ${this.projSize}`);

    const H = this.hiddenSize;
    const Hout = this.projSize || H;
    const G = rule.gates.length;
    const D = this.numDirections;
    const specs = paramSpecs(kind, this.bias, this.projSize > 0);
    const sizes = (l: number) => ({ G, H, I: l === 0 ? this.inputSize : D * Hout, Hout, P: this.projSize });
    // every parameter counted before any is allocated: a stack too big for memory fails at once
    const perDirection = (l: number): number => specs.reduce((a, s) => a + s.shape(sizes(l)).reduce((x, y) => x * y, 1), 0);
    const count = D * (perDirection(0) + (this.numLayers > 1 ? (this.numLayers - 1) * perDirection(1) : 0));
    checkMemory(who, count * 4, `the parameters of ${this.numLayers} layer${this.numLayers > 1 ? 's' : ''} of hiddenSize ${H}`);
    const k = 1 / Math.sqrt(H);
    for (let l = 0; l < this.numLayers; l++) {
      for (let d = 0; d < D; d++) {
        for (const s of specs) {
          const shape = s.shape(sizes(l));
          this.registerParameter(layerParamName(s.name, l, d), s.init === 'uniform' ? uniform(shape, k) : s.init === 'ones' ? ones(shape) : zeros(shape));
        }
      }
    }
  }

  /** 2 if bidirectional, else 1. */
  get numDirections(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** Each layer and direction's parameters by role: the tensors are registered once, in the constructor. */
  private readonly dirCache = new Map<number, DirectionParams>();

  /** Layer l, direction d's parameters by the roles of the rule. */
  protected dirParams(l: number, d: number): DirectionParams {
    const key = 2 * l + d;
    let cached = this.dirCache.get(key);
    if (!cached) this.dirCache.set(key, (cached = this.collectDirParams(l, d)));
    return cached;
  }

  private collectDirParams(l: number, d: number): DirectionParams {
    const p: DirectionParams = { wih: null as unknown as Tensor, whh: null, bih: null, bhh: null, whr: null };
    const extra: Record<string, Tensor> = {};
    for (const s of paramSpecs(this.kind, this.bias, this.projSize > 0)) {
      const t = this.param(layerParamName(s.name, l, d));
      if ((BASE_ROLES as readonly string[]).includes(s.role)) (p as unknown as Record<string, Tensor>)[s.role] = t;
      else extra[s.role] = t;
    }
    return Object.keys(extra).length ? { ...p, extra } : p;
  }

  /**
   * A snapshot of the weights for running one step at a time (generation, streaming): each
   * `step(x, state)` takes x (B, inputSize) or (inputSize) and returns the top layer's output and
   * the new state, in the layout of `forward`'s final states. Unidirectional layers only; no
   * gradients. After the weights change (training, loadStateDict), make a new stepper: an old one
   * refuses to run.
   */
  stepper(): LayerStepper {
    return new LayerStepper(this, this.who);
  }

  /** @internal a stepper with an embedding before it and a head after it (SequenceModel.stepper) */
  stepperAround(around: StepperAround): LayerStepper {
    return new LayerStepper(this, this.who, around);
  }

  /** @internal the weights of layer l, forward direction */
  layerWeights(l: number): DirectionParams {
    return this.dirParams(l, 0);
  }

  private checkState(s: unknown, name: string, width: number, B: number, unbatched: boolean, dtype: string): Tensor {
    const who = `${this.who}.forward`;
    const LD = this.numLayers * this.numDirections;
    const expected = unbatched ? [LD, width] : [LD, B, width];
    if (!(s instanceof Tensor)) throw new Error(`${who}: ${name} must be a Tensor of shape ${formatShape(expected)}, got ${s === null ? 'null' : typeof s}`);
    if (s.shape.length !== expected.length || s.shape.some((v, i) => v !== expected[i])) {
      throw new Error(`${who}: ${name} has shape ${formatShape(s.shape)}, expected ${formatShape(expected)} (numLayers*numDirections, ${unbatched ? '' : 'batch, '}${name === 'c0' ? 'hiddenSize' : this.projSize ? 'projSize' : 'hiddenSize'})`);
    }
    if (s.dtype !== dtype) throw new Error(`${who}: ${name} is ${s.dtype} but the input is ${dtype}`);
    return unbatched ? unsqueeze(s, 1) : s;
  }

  /** The snapshot inferenceRun runs on (made again once the weights change). */
  private inference: LayerStepper | null = null;

  /**
   * forward without gradients (under noGrad) on a stepper's snapshot of the weights (packed
   * once, results in one buffer per call): the same values as the general path, with less work
   * around the kernels. Null where that path is taken instead (see snapshotForward; also an
   * unbatched input or one the checks of the general path would refuse).
   */
  private inferenceRun(x: Tensor, h0: unknown, c0: unknown): { out: Tensor; hN: Tensor; cN: Tensor | null } | null {
    if (!(x instanceof Tensor) || x.ndim !== 3 || x.dtype !== this.dtype || x.shape[2] !== this.inputSize) return null;
    const [T, B] = x.shape as [number, number];
    if (T < 1 || B < 1 || x.data.length !== T * B * this.inputSize || !snapshotForward(this, B, h0, c0)) return null;
    this.inference = LayerStepper.current(this.inference, () => new LayerStepper(this, this.who));
    const state = h0 === undefined || h0 === null ? null : this.rule.cell ? ([h0, c0] as [Tensor, Tensor]) : (h0 as Tensor);
    const r = this.inference.run(x.data as FloatArray, B, false, state, `${this.who}.forward`, T, { every: true, owned: true });
    const Hout = this.projSize || this.hiddenSize;
    const [hN, cN] = Array.isArray(r.state) ? (r.state as [Tensor, Tensor]) : [r.state as Tensor, null];
    return { out: new Tensor(r.output, [T, B, Hout]), hN, cN };
  }

  /** Checks a state given as a pair [h, c] (cells with c) or h alone. */
  protected splitState(state: unknown): { h: unknown; c: unknown } {
    if (state === undefined || state === null) return { h: undefined, c: undefined };
    if (!this.rule.cell) return { h: state, c: undefined };
    if (!Array.isArray(state) || state.length !== 2) throw new Error(`${this.who}.forward: the state must be a pair [h0, c0] of tensors`);
    return { h: state[0], c: state[1] };
  }

  /** Checks forward's input and initial states; returns them time-first (T, B, ...), zeros where not given. */
  private inputs(x: Tensor, h0In: unknown, c0In: unknown, who: string): { seq: Tensor; h0: Tensor; c0: Tensor | null; unbatched: boolean } {
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
    const h0 = h0In === undefined || h0In === null ? zeros([L * D, B, Hout], { dtype: x.dtype }) : this.checkState(h0In, 'h0', Hout, B, unbatched, x.dtype);
    const c0 = !this.rule.cell ? null : c0In === undefined || c0In === null ? zeros([L * D, B, H], { dtype: x.dtype }) : this.checkState(c0In, 'c0', H, B, unbatched, x.dtype);
    return { seq, h0, c0, unbatched };
  }

  /** Runs every layer; returns output and final states in the caller's layout. */
  protected run(x: Tensor, h0In: unknown, c0In: unknown, options: RecurrentForwardOptions = {}): { out: Tensor; hN: Tensor; cN: Tensor | null } {
    const who = `${this.who}.forward`;
    if (options === null || typeof options !== 'object') throw new Error(`${who}: options must be an object, got ${String(options)}`);
    checkKnown(options, ['lengths'], `${who} options`);
    if (options.lengths === undefined) {
      const fast = this.inferenceRun(x, h0In, c0In);
      if (fast) return fast;
    }
    const { seq, h0, c0, unbatched } = this.inputs(x, h0In, c0In, who);
    const [T, B] = seq.shape as [number, number, number];
    const D = this.numDirections;
    const L = this.numLayers;
    const H = this.hiddenSize;
    const Hout = this.projSize || H;
    const lengths = options.lengths;
    if (lengths !== undefined) {
      if (unbatched) throw new Error(`${who}: lengths need a batch; an unbatched (seq, inputSize) input has one sequence of its own length`);
      if (!Array.isArray(lengths) || lengths.length !== B || lengths.some((n) => !Number.isInteger(n) || n < 1 || n > T)) {
        throw new Error(`${who}: lengths must be ${B} integers from 1 to ${T} (the batch's sequences, the input's time steps), got ${JSON.stringify(lengths)?.slice(0, 120)}`);
      }
    }
    const padded = lengths && lengths.some((n) => n !== T);
    // a padded batch: in one kernel call per direction where the backend takes row lengths, else by stretches
    const inKernel = padded && !(this.training && this.recurrentDropout > 0) && this.zoneout === 0
      && getBackend().recurrentLengths({ kind: this.kind, T, B, I: this.inputSize, H, P: this.projSize, ...this.variant }, x.dtype === 'float64' ? 'float64' : 'float32');
    let { out, hN, cN } = padded && !inKernel ? this.packed(seq, h0, c0, lengths) : this.stack(seq, h0, c0, inKernel ? Int32Array.from(lengths) : null);
    if (unbatched) {
      out = squeeze(out, 1);
      hN = squeeze(hN, 1);
      cN = cN && squeeze(cN, 1);
    } else if (this.batchFirst) out = transpose(out, 0, 1);
    return { out, hN, cN };
  }

  /**
   * What every step computes, layer by layer, for looking inside the network (hidden-state and
   * gate heatmaps): see LayerActivations. The input and initial state as `forward` takes them;
   * the results time-first (T, B, ...) whatever the layout, as in evaluation (no dropout), with
   * no gradients. Unidirectional RNN, LSTM and GRU layers without zoneout.
   *
   * @example
   * ```ts
   * const [first] = lstm.activations(x); // x (T, B, inputSize)
   * first.gates.f; // (T, B, hiddenSize): the forget gate at every step
   * ```
   */
  activations(x: Tensor, state?: unknown): LayerActivations[] {
    const who = `${this.who}.activations`;
    const show = this.rule.activations;
    if (!show) throw new Error(`${who}: shown for RNN, LSTM and GRU layers, not ${this.rule.layer}`);
    if (this.bidirectional) throw new Error(`${who}: unidirectional layers only (this one is bidirectional)`);
    if (this.zoneout > 0) throw new Error(`${who}: not for layers with zoneout (${this.zoneout})`);
    const { h: h0In, c: c0In } = this.splitState(state);
    const { seq, h0, c0 } = this.inputs(x, h0In, c0In, who);
    return noGrad(() => {
      const [T, B, I0] = seq.shape as [number, number, number];
      const H = this.hiddenSize;
      const Hout = this.projSize || H;
      const layers: LayerActivations[] = [];
      let inp = seq.data as FloatArray;
      let I = I0;
      for (let l = 0; l < this.numLayers; l++) {
        const w = directionWeights(this.dirParams(l, 0), seq.dtype === 'float64' ? 'float64' : 'float32');
        const h0l = (h0.data as FloatArray).subarray(l * B * Hout, (l + 1) * B * Hout);
        const c0l = c0 ? (c0.data as FloatArray).subarray(l * B * H, (l + 1) * B * H) : null;
        const r = show({ kind: this.kind, T, B, I, H, P: this.projSize, ...this.variant }, w, inp, h0l, c0l);
        const gates: Record<string, Tensor> = {};
        const names = this.rule.gates;
        if (names.length > 1) {
          names.forEach((name, g) => {
            const a = allocLike(r.gates, T * B * H);
            for (let row = 0; row < T * B; row++) a.set(r.gates.subarray(row * names.length * H + g * H, row * names.length * H + (g + 1) * H), row * H);
            gates[name] = new Tensor(a, [T, B, H]);
          });
        }
        layers.push({ h: new Tensor(r.out, [T, B, Hout]), c: r.c ? new Tensor(r.c, [T, B, H]) : null, gates });
        inp = r.out;
        I = Hout;
      }
      return layers;
    });
  }

  /** Every layer over seq (T, B, I), time-first, from h0 (L*D, B, Hout) and c0. */
  private stack(seq: Tensor, h0: Tensor, c0: Tensor | null, lengths: Int32Array | null = null): { out: Tensor; hN: Tensor; cN: Tensor | null } {
    const D = this.numDirections;
    const L = this.numLayers;
    let inp = seq;
    const hNs: Tensor[] = [];
    const cNs: Tensor[] = [];
    for (let l = 0; l < L; l++) {
      const h0l = L === 1 ? h0 : slice(h0, 0, l * D, (l + 1) * D); // (D, B, Hout)
      const c0l = c0 && (L === 1 ? c0 : slice(c0, 0, l * D, (l + 1) * D)); // (D, B, H)
      const dirs = Array.from({ length: D }, (_, d) => this.dirParams(l, d));
      const regs = dirs.map(() => this.regularisers(seq.shape[0]!, seq.shape[1]!, seq.dtype));
      const [out, hN, cN] = recurrentLayer(this.kind, inp, dirs, h0l, c0l, this.hiddenSize, this.projSize, this.variant, false, regs, lengths); // (T, B, D*Hout)
      hNs.push(hN);
      if (cN) cNs.push(cN);
      inp = l < L - 1 && this.dropout > 0 && this.training ? dropoutFn(out, this.dropout, true) : out;
    }
    return { out: inp, hN: L === 1 ? hNs[0]! : concat(hNs, 0), cN: !c0 ? null : L === 1 ? cNs[0]! : concat(cNs, 0) };
  }

  /**
   * One direction's regularisers for a batch of B sequences of T steps, drawn from the default
   * generator (recurrent dropout in training only; zoneout's flags in training, its probability
   * at evaluation); null when there are none.
   */
  private regularisers(T: number, B: number, dtype: string): RecurrentRegularisers | null {
    const rd = this.training ? this.recurrentDropout : 0;
    const z = this.zoneout;
    if (rd === 0 && z === 0) return null;
    const Hout = this.projSize || this.hiddenSize;
    const draw = (n: number): FloatArray => rand([n], { dtype: dtype === 'float64' ? 'float64' : 'float32' }).data as FloatArray;
    let recurrentMask: FloatArray | null = null;
    if (rd > 0) {
      recurrentMask = draw(B * Hout);
      const keep = 1 / (1 - rd);
      for (let i = 0; i < recurrentMask.length; i++) recurrentMask[i] = recurrentMask[i]! < rd ? 0 : keep;
    }
    const zone = (width: number): FloatArray | number | null => {
      if (z === 0) return null;
      if (!this.training) return z;
      const flags = draw(T * B * width);
      for (let i = 0; i < flags.length; i++) flags[i] = flags[i]! < z ? 1 : 0;
      return flags;
    };
    return { recurrentMask, zoneH: zone(Hout), zoneC: this.rule.cell ? zone(this.hiddenSize) : null };
  }

  /** The part of a batch's regularisers for steps [start, end) of the rows `rows` (a packed stretch). */
  private stretchOf(r: RecurrentRegularisers, start: number, end: number, rows: readonly number[], B: number): RecurrentRegularisers {
    const Hout = this.projSize || this.hiddenSize;
    const pick = <A extends FloatArray | number | null>(a: A, width: number, steps: number, from: number): A => {
      if (a === null || typeof a === 'number') return a;
      const src = a as FloatArray;
      const out = allocLike(src, steps * rows.length * width);
      for (let t = 0; t < steps; t++) {
        rows.forEach((b, i) => {
          const at = ((from + t) * B + b) * width;
          out.set(src.subarray(at, at + width), (t * rows.length + i) * width);
        });
      }
      return out as A;
    };
    return {
      recurrentMask: pick(r.recurrentMask, Hout, 1, 0),
      zoneH: pick(r.zoneH, Hout, end - start, start),
      zoneC: pick(r.zoneC, this.hiddenSize, end - start, start),
    };
  }

  /**
   * A right-padded batch with lengths, as PyTorch's packed sequences. Between two consecutive
   * lengths the same rows are running: each such stretch of steps is one kernel call over those
   * rows, from the state the stretch before left them in (the forward direction, in time order),
   * or from their initial state where they start (the reverse direction, from the last stretch
   * back: a sequence joins at its own last step). So nothing reads padding, and the work is the
   * sequences' own steps. Outputs are 0 at padded steps.
   */
  private packed(seq: Tensor, h0: Tensor, c0: Tensor | null, lengths: readonly number[]): { out: Tensor; hN: Tensor; cN: Tensor | null } {
    const [T, B] = seq.shape as [number, number];
    const D = this.numDirections;
    const L = this.numLayers;
    const ends = [...new Set(lengths)].sort((a, b) => a - b); // each stretch [start, end): ends ascending
    const stretches = ends.map((end, j) => ({ start: j === 0 ? 0 : ends[j - 1]!, end, rows: lengths.flatMap((n, b) => (n >= end ? [b] : [])) }));
    const index = (v: number[]): Tensor => new Tensor(Int32Array.from(v), [v.length]);
    /** Rows `rows` of `part` (dim 1) and, for every other row of the batch, that row of `rest`. */
    const merge = (part: Tensor, rows: number[], rest: Tensor): Tensor => {
      if (rows.length === B) return part;
      const at = new Map(rows.map((b, i) => [b, i]));
      return indexSelect(concat([part, rest], 1), 1, index(Array.from({ length: B }, (_, b) => at.get(b) ?? rows.length + b)));
    };
    let inp = seq;
    const hNs: Tensor[] = [];
    const cNs: Tensor[] = [];
    for (let l = 0; l < L; l++) {
      const outs: Tensor[] = [];
      for (let d = 0; d < D; d++) {
        const reverse = d === 1;
        const at = l * D + d;
        let h = slice(h0, 0, at, at + 1); // (1, B, Hout): every row's state so far
        let c = c0 && slice(c0, 0, at, at + 1);
        const reg = this.regularisers(T, B, seq.dtype);
        const pieces: Tensor[] = new Array(stretches.length);
        for (const j of reverse ? [...stretches.keys()].reverse() : stretches.keys()) {
          const { start, end, rows } = stretches[j]!;
          const idx = index(rows);
          const x = indexSelect(slice(inp, 0, start, end), 1, idx); // (end - start, rows, F)
          const [o, hN, cN] = recurrentLayer(this.kind, x, [this.dirParams(l, d)], indexSelect(h, 1, idx), c && indexSelect(c, 1, idx),
            this.hiddenSize, this.projSize, this.variant, reverse, [reg && this.stretchOf(reg, start, end, rows, B)]);
          h = merge(hN, rows, h);
          c = c && merge(cN!, rows, c);
          // this stretch's outputs for every row: zeros for the rows already ended
          const Fo = o.shape[2]!;
          pieces[j] = merge(o, rows, zeros([end - start, B, Fo], { dtype: seq.dtype }));
        }
        const last = ends[ends.length - 1]!;
        if (last < T) pieces.push(zeros([T - last, B, pieces[0]!.shape[2]!], { dtype: seq.dtype }));
        outs.push(concat(pieces, 0)); // (T, B, Hout)
        hNs.push(h);
        if (c) cNs.push(c);
      }
      const out = D === 1 ? outs[0]! : concat(outs, 2); // (T, B, D*Hout)
      inp = l < L - 1 && this.dropout > 0 && this.training ? dropoutFn(out, this.dropout, true) : out;
    }
    return { out: inp, hN: concat(hNs, 0), cN: c0 ? concat(cNs, 0) : null };
  }
}
