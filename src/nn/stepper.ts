/**
 * Running a recurrent layer one step at a time on a snapshot of its weights (generation,
 * streaming): each layer's direction becomes a backend stepper, with an embedding before the
 * first and a head after the last when a SequenceModel asks for them.
 *
 * Legend: L layers, B batch, H hidden size, Hout = P || H.
 */
import { Tensor } from '../tensor/tensor.js';
import { formatShape, shapeEquals, numel } from '../tensor/shape.js';
import { getBackend, type RecurrentStepper, type RecurrentWeights } from '../backend/backend.js';
import type { FloatArray } from '../tensor/dtype.js';
import { zoneoutStepper } from '../backend/regularise.js';
import type { Generator } from '../tensor/random.js';
import type { DrawOptions } from '../backend/sample.js';
import { isGradEnabled, type DirectionParams } from '../autograd/index.js';
import type { RecurrentBase } from './recurrent-base.js';

/** A direction's weights as the backend reads them: each role's data (a snapshot's source). */
export function weightData(p: DirectionParams): RecurrentWeights {
  const d = (t: Tensor | null): FloatArray | null => (t ? (t.data as FloatArray) : null);
  return {
    wih: d(p.wih)!, whh: d(p.whh), bih: d(p.bih), bhh: d(p.bhh), whr: d(p.whr),
    ...(p.extra ? { extra: Object.fromEntries(Object.entries(p.extra).map(([role, t]) => [role, t.data as FloatArray])) } : {}),
  };
}

/**
 * @internal Whether a forward of layer m over a batch of B time-first sequences from state
 * (h, c) (undefined or null: zeros) may run on a stepper's snapshot of the weights, with the
 * same values as the general path: no gradients recorded, a kind whose rule allows it
 * (CellRule.snapshot) whose steps are plain (plainSteps), one direction, time-first, and the state
 * (if any) of the shapes and type the stepper takes. Anything else takes the general path,
 * which also reports what is wrong with it.
 */
export function snapshotForward(m: RecurrentBase, B: number, h: unknown, c: unknown): boolean {
  if (isGradEnabled() || !m.rule.snapshot || !plainSteps(m) || m.bidirectional || m.batchFirst) return false;
  const L = m.numLayers;
  const fits = (t: unknown, w: number): boolean => t instanceof Tensor && t.dtype === m.dtype && t.ndim === 3 && t.shape[0] === L && t.shape[1] === B && t.shape[2] === w && t.data.length === L * B * w;
  const none = (t: unknown): boolean => t === undefined || t === null;
  if (none(h)) return !m.rule.cell || none(c);
  return fits(h, m.projSize || m.hiddenSize) && (m.rule.cell ? fits(c, m.hiddenSize) : none(c));
}

/**
 * @internal Whether each step of the layer is its cell's equations alone, as the fused paths compute them
 * (a stepper's snapshot, a Seq2Seq decoder's steps in one node): PyTorch's gate functions (no
 * Keras variant), no zoneout (its stepper blends states by its own composition of ops, trained
 * or not), and no dropout while training.
 */
export function plainSteps(m: RecurrentBase): boolean {
  return Object.keys(m.variant).length === 0 && m.zoneout === 0 && !(m.training && ((m.dropout > 0 && m.numLayers > 1) || m.recurrentDropout > 0));
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
  constructor(private readonly m: RecurrentBase, private readonly who: string, around: StepperAround = {}) {
    const kind = m.kind;
    if (m.bidirectional) throw new Error(`${who}.stepper: a bidirectional layer reads the sequence backwards and cannot run one step at a time`);
    this.dtype = m.dtype === 'float64' ? 'float64' : 'float32';
    const H = m.hiddenSize;
    const P = m.projSize;
    const Hout = P || H;
    const L = m.numLayers;
    const d = (t: Tensor | null): FloatArray | null => (t ? (t.data as FloatArray) : null);
    const { embedding, head } = around;
    const bk = getBackend();
    this.steppers = Array.from({ length: L }, (_, l) => {
      const emb = embedding && l === 0 ? { embedding: { weight: d(embedding)!, V: embedding.shape[0]! } } : {};
      const top = head && l === L - 1 ? { weight: d(head.weight)!, bias: d(head.bias), O: head.weight.shape[0]! } : undefined;
      const dims = { kind, T: 1, B: 1, I: l === 0 ? m.inputSize : Hout, H, P, ...m.variant };
      // zoneout's evaluation blends each step's state with the one before: the head reads the blend
      if (m.zoneout > 0) return zoneoutStepper(bk, bk.recurrentStepper(dims, weightData(m.layerWeights(l)), emb), m.zoneout, emb.embedding ? 1 : dims.I, top);
      return bk.recurrentStepper(dims, weightData(m.layerWeights(l)), { ...emb, ...(top ? { head: top } : {}) });
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
   * Options: `every`, the output and logits of every step instead (T * B rows); `output: false`,
   * the output is not read (only the logits and the state), so the top layer keeps only its last
   * step's; `owned`, the arrays, which may otherwise be views of buffers shared with other calls'
   * results (see the backend's steppers), are copied into one buffer of this call's own.
   */
  run(inp: FloatArray | Int32Array, B: number, unbatched: boolean, state: StepState | null | undefined, who: string, T = 1,
    options: { every?: boolean; output?: boolean; owned?: boolean } = {}): { output: FloatArray; logits: FloatArray | null; state: StepState } {
    const { every = false, output: wantOutput = true, owned = false } = options;
    // the top layer's outputs of every step only where they are returned (each lower layer's feed the next)
    const lastOnly = T > 1 && (!every || !wantOutput);
    this.checkUsable(who);
    const { h0, c0 } = this.layerStates(state, B, unbatched, who);
    const hN: FloatArray[] = [];
    const cN: (FloatArray | null)[] = [];
    let x: FloatArray | Int32Array = inp;
    let logits: FloatArray | null = null;
    this.steppers.forEach((st, l) => {
      const r = st.run(x, T, B, h0(l), c0(l), lastOnly && l === this.steppers.length - 1);
      hN.push(r.hN);
      cN.push(r.cN);
      x = r.out;
      logits = r.logits;
    });
    const Hout = this.m.projSize || this.m.hiddenSize;
    // the last step's rows
    const last = (a: FloatArray, w: number): FloatArray => (a.length === B * w || every ? a : a.slice((T - 1) * B * w));
    const lg = logits as FloatArray | null;
    let output = wantOutput ? last(x as FloatArray, Hout) : (x as FloatArray).subarray(0, 0);
    let lgOut = lg && last(lg, lg.length / (T * B));
    let h = this.gather(hN);
    let c = this.m.rule.cell ? this.gather(cN as FloatArray[]) : null;
    if (owned) [output, lgOut, h, c] = this.own([output, lgOut, h, c]);
    return { output, logits: lgOut, state: this.stateTensors(h, c, B, unbatched) };
  }

  /** Every layer's final state in one array (one layer's: the backend's own). */
  private gather(parts: FloatArray[]): FloatArray {
    if (parts.length === 1) return parts[0]!;
    const all = this.alloc(parts.length * parts[0]!.length);
    parts.forEach((p, l) => all.set(p, l * p.length));
    return all;
  }

  /**
   * The arrays (nulls kept), each alone in its buffer: those that are views of a bigger one are
   * copied, all into one new buffer (one allocation instead of one each).
   */
  private own<A extends (FloatArray | null)[]>(arrays: A): A {
    const shared = (a: FloatArray | null): a is FloatArray => a !== null && a.byteLength !== a.buffer.byteLength;
    const n = arrays.reduce((sum, a) => sum + (shared(a) ? a.length : 0), 0);
    const all = this.alloc(n);
    let at = 0;
    return arrays.map((a) => {
      if (!shared(a)) return a;
      const v = all.subarray(at, at + a.length);
      v.set(a);
      at += a.length;
      return v;
    }) as A;
  }

  /** The state tensors of h (L * [B *] Hout values) and, for a cell state, c. */
  private stateTensors(h: FloatArray, c: FloatArray | null, B: number, unbatched: boolean): StepState {
    const L = this.m.numLayers;
    const shapeOf = (w: number): number[] => (unbatched ? [L, w] : [L, B, w]);
    const hT = new Tensor(h, shapeOf(this.m.projSize || this.m.hiddenSize));
    return c ? [hT, new Tensor(c, shapeOf(this.m.hiddenSize))] : hT;
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
    const c = this.m.rule.cell ? this.gather(layers.map((x) => x.cN as FloatArray)) : null;
    return { ids: r.ids, logits: r.logits, state: this.stateTensors(this.gather(layers.map((x) => x.hN)), c, 1, true) };
  }

  /** Each layer's state before a call, from the state given (checked; null or omitted: zeros). */
  private layerStates(state: StepState | null | undefined, B: number, unbatched: boolean, who: string): { h0: (l: number) => FloatArray; c0: (l: number) => FloatArray | null } {
    const H = this.m.hiddenSize;
    const Hout = this.m.projSize || H;
    const lstm = this.m.rule.cell;
    const { h, c } = this.stateOf(state, B, unbatched, who);
    const zeros = h && (c || !lstm) ? null : this.alloc(B * Math.max(H, Hout)); // read only
    return {
      h0: (l) => (h ? (h.data as FloatArray).subarray(l * B * Hout, (l + 1) * B * Hout) : zeros!.subarray(0, B * Hout)),
      c0: (l) => (lstm ? (c ? (c.data as FloatArray).subarray(l * B * H, (l + 1) * B * H) : zeros!.subarray(0, B * H)) : null),
    };
  }

  private alloc(n: number): FloatArray {
    return this.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  }

  /**
   * @internal The snapshot a forward without gradients runs on: `current` while it still runs
   * (see usable), else a new one from `make` (the old one freed).
   */
  static current(current: LayerStepper | null, make: () => LayerStepper): LayerStepper {
    if (current?.usable()) return current;
    current?.dispose();
    return make();
  }

  /** @internal Whether the stepper still runs: not disposed, and the weights it snapshotted unchanged. */
  usable(): boolean {
    return !this.disposed && this.backend === getBackend() && this.versions.every(([p, v]) => p.version === v);
  }

  /** The backend the snapshot was made on (forward's snapshots are made again on another). */
  private readonly backend = getBackend();

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
    const lstm = this.m.rule.cell;
    let h: Tensor | null = null;
    let c: Tensor | null = null;
    if (state !== undefined && state !== null) {
      if (lstm && (!Array.isArray(state) || state.length !== 2)) throw new Error(`${who}: the ${this.m.rule.layer} state must be a pair [h, c]`);
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
