/**
 * A model built from a plain config: optional Embedding, a recurrent layer, a Linear head. The
 * shape of what people train for language modelling, forecasting and classification, and the
 * unit that model files save and load. Parameter names: `embedding.weight`, `rnn.weight_ih_l0`,
 * ..., `head.weight`, `head.bias` (those of a PyTorch module with the same attributes).
 *
 * Legend: T steps, B batch, F input features, V vocabulary, H hidden, O outputs.
 */
import { Tensor } from '../tensor/tensor.js';
import type { FloatArray } from '../tensor/dtype.js';
import { formatShape } from '../tensor/shape.js';
import { mean as meanOp, slice, squeeze, concat, sum as sumOp } from '../autograd/index.js';
import { Module } from './module.js';
import { Embedding, Linear } from './layers.js';
import { LAYERS, type LayerKind, type AnyRecurrentLayer, type CellState } from './rnn.js';
import { LayerStepper, snapshotForward } from './stepper.js';
import { checkKnown, oneOf } from './options.js';
import { checkSampleOptions, type SampleOptions } from '../backend/sample.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';

/** The recurrent layer of a SequenceModel: its kind (a key of LAYERS) and that layer's own options. */
export type RecurrentConfig = { [K in LayerKind]: { kind: K } & ConstructorParameters<(typeof LAYERS)[K]>[0] }[LayerKind];

/** Everything needed to rebuild a SequenceModel. */
export interface SequenceModelConfig {
  /** Token ids in, through an Embedding of this size; omit for real-valued input features. */
  embedding?: { numEmbeddings: number; embeddingDim: number; paddingIdx?: number };
  /** The recurrent layer (its inputSize must match the embedding or input features). */
  rnn: RecurrentConfig;
  /** The linear head on the recurrent output. */
  head: { outFeatures: number; bias?: boolean };
  /**
   * What the head sees: 'sequence' (every step: language models), 'last' (the last step's
   * output: forecasting, classification) or 'mean' (the mean over steps).
   */
  output?: 'sequence' | 'last' | 'mean';
}

/** The state a SequenceModel carries between calls: the recurrent layer's. */
export type SequenceState = Tensor | readonly [Tensor, Tensor];

export class SequenceModel extends Module {
  readonly config: SequenceModelConfig;
  readonly embedding: Embedding | null;
  readonly rnn: AnyRecurrentLayer;
  readonly head: Linear;
  readonly output: 'sequence' | 'last' | 'mean';

  constructor(config: SequenceModelConfig) {
    super();
    const who = 'SequenceModel';
    checkKnown(config, ['embedding', 'rnn', 'head', 'output'], who);
    if (!config.rnn || typeof config.rnn !== 'object') throw new Error(`${who}: rnn must be an object with a kind (${Object.keys(LAYERS).map((k) => `'${k}'`).join(', ')}) and the layer's options`);
    if (!config.head || typeof config.head !== 'object') throw new Error(`${who}: head must be an object with outFeatures`);
    this.config = JSON.parse(JSON.stringify(config)) as SequenceModelConfig;
    this.output = oneOf(config.output, ['sequence', 'last', 'mean'] as const, 'output', who, 'sequence');
    this.embedding = config.embedding ? this.registerModule('embedding', new Embedding(config.embedding)) : null;
    const { kind, ...options } = config.rnn;
    const k = oneOf(kind, Object.keys(LAYERS) as LayerKind[], 'rnn.kind', who, 'lstm');
    if (this.embedding && options.inputSize !== this.embedding.embeddingDim) {
      throw new Error(`${who}: rnn.inputSize is ${options.inputSize} but the embedding gives ${this.embedding.embeddingDim} features`);
    }
    this.rnn = this.registerModule('rnn', new LAYERS[k](options as never));
    const width = (this.rnn.projSize || this.rnn.hiddenSize) * this.rnn.numDirections;
    this.head = this.registerModule('head', new Linear({ inFeatures: width, outFeatures: config.head.outFeatures, bias: config.head.bias }));
  }

  /**
   * x: int32 token ids (T, B) with an embedding, else features (T, B, F) (batch-first layouts
   * when rnn.batchFirst). Returns the head's output, (T, B, O) for 'sequence', else (B, O), and
   * the recurrent layer's final state.
   */
  forward(x: Tensor, state?: SequenceState | null, options: { lengths?: readonly number[] } = {}): [Tensor, SequenceState] {
    const who = 'SequenceModel.forward';
    const lengths = options.lengths;
    if (!(x instanceof Tensor)) throw new Error(`${who}: input must be a Tensor`);
    if (this.embedding && x.dtype !== 'int32') throw new Error(`${who}: this model embeds token ids: input must be an int32 tensor, got ${x.dtype}`);
    if (!lengths) {
      const fast = this.inferenceForward(x, state ?? null);
      if (fast) return fast;
    }
    const feats = this.embedding ? this.embedding.forward(x) : x; // (T, B, F)
    let seq: Tensor;
    let next: SequenceState;
    // with lengths, the layer runs each sequence over its own steps (packed), in either direction
    const layerOptions = lengths ? { lengths } : {};
    const rnn = this.rnn as { forward(x: Tensor, s?: unknown, o?: unknown): [Tensor, Tensor | CellState] };
    [seq, next] = rnn.forward(feats, state ?? null, layerOptions);
    const timeDim = this.rnn.batchFirst && seq.ndim === 3 ? 1 : 0;
    if (seq.ndim < 2) throw new Error(`${who}: unexpected recurrent output shape ${formatShape(seq.shape)}`);
    let feat: Tensor;
    if (lengths) feat = this.pooled(seq, lengths, timeDim, who);
    else if (this.output === 'sequence') feat = seq;
    else if (this.output === 'last') {
      const T = seq.shape[timeDim]!;
      feat = squeeze(slice(seq, timeDim, T - 1, T), timeDim);
    } else feat = meanOp(seq, timeDim);
    return [this.head.forward(feat), next];
  }

  /** The snapshot inferenceForward runs on (made again once the weights change). */
  private inference: LayerStepper | null = null;

  /**
   * forward without gradients (under noGrad), where nothing but the values is wanted: the
   * embedding, every layer and the head on the snapshot a stepper runs on (the weights packed
   * once, token ids indexing precomputed input projections, the head inside the layer's call),
   * the same values as the layers one after another. Null where the input, the state or the
   * model takes the general path (which also reports what is wrong with them): see
   * snapshotForward, and output 'mean' or an unbatched input.
   */
  private inferenceForward(x: Tensor, state: SequenceState | null): [Tensor, SequenceState] | null {
    const rnn = this.rnn;
    const dtype = rnn.dtype;
    if (this.output === 'mean' || this.head.weight.dtype !== dtype || (this.embedding && this.embedding.weight.dtype !== dtype)) return null;
    if (x.ndim !== (this.embedding ? 2 : 3)) return null;
    const [T, B] = x.shape as [number, number];
    if (T < 1 || B < 1) return null;
    if (this.embedding) {
      const V = this.embedding.numEmbeddings;
      for (const id of x.data as Int32Array) if (!(id >= 0 && id < V)) return null;
    } else if (x.dtype !== dtype || x.shape[2] !== rnn.inputSize || x.data.length !== T * B * rnn.inputSize) return null;
    const pair = rnn.rule.cell && Array.isArray(state);
    if (rnn.rule.cell && state !== null && !(pair && state.length === 2)) return null;
    if (!snapshotForward(rnn, B, pair ? state[0] : state, pair ? state[1] : null)) return null;
    this.inference = LayerStepper.current(this.inference, () => rnn.stepperAround({
      ...(this.embedding ? { embedding: this.embedding.weight } : {}),
      head: { weight: this.head.weight, bias: this.head.bias },
    }));
    const every = this.output === 'sequence';
    const r = this.inference.run(x.data as FloatArray | Int32Array, B, false, state, 'SequenceModel.forward', T, { every, output: false, owned: true });
    const O = this.head.outFeatures;
    return [new Tensor(r.logits!, every ? [T, B, O] : [B, O]), r.state];
  }

  /**
   * A snapshot of the model for running one step at a time (text generation, streaming): each
   * `step(input, state)` runs the embedding, the recurrent layer and the head on one step and
   * returns the head's output and the new state. In one backend call where the backend can:
   * token ids index precomputed input projections, and the head's weights stay packed. No
   * gradients; after the weights change, make a new stepper (an old one refuses to run).
   * Unidirectional layers, `output` 'sequence' or 'last'.
   */
  stepper(): SequenceStepper {
    return new SequenceStepper(this);
  }

  /**
   * With per-sequence lengths of a right-padded batch (the layer ran each sequence over its own
   * steps, as PyTorch's packed sequences): the output at each sequence's last valid step ('last')
   * or the mean over its valid steps ('mean'), the results of each sequence alone, gradients
   * included, in either direction.
   */
  private pooled(seq: Tensor, lengths: readonly number[], timeDim: number, who: string): Tensor {
    if (seq.ndim !== 3) throw new Error(`${who}: lengths need a batch (3-D recurrent output), got ${formatShape(seq.shape)}`);
    // every step, 0 at the padded ones: a loss masks those itself (ignoreIndex)
    if (this.output === 'sequence') return seq;
    const T = seq.shape[timeDim]!;
    const B = seq.shape[1 - timeDim]!;
    if (!Array.isArray(lengths) || lengths.length !== B || lengths.some((l) => !Number.isInteger(l) || l < 1 || l > T)) {
      throw new Error(`${who}: lengths must be ${B} integers in [1, ${T}], got ${JSON.stringify(lengths).slice(0, 80)}`);
    }
    const rows = lengths.map((L, b) => {
      const one = slice(seq, 1 - timeDim, b, b + 1); // this sequence: (T, 1, F) or (1, T, F)
      const valid = slice(one, timeDim, this.output === 'last' ? L - 1 : 0, L);
      return this.output === 'last' ? squeeze(valid, timeDim) : sumOp(valid, timeDim).div(L);
    }); // each (1, F)
    return concat(rows, 0); // (B, F)
  }
}

/**
 * Runs a SequenceModel one step at a time on a snapshot of its weights; see
 * `SequenceModel.stepper()`.
 *
 * @example
 * ```ts
 * const stepper = model.stepper();
 * let state = null;
 * let logits;
 * for (const id of promptIds) [logits, state] = stepper.step(id, state);
 * ```
 */
export class SequenceStepper {
  private readonly layer: LayerStepper;
  private readonly dtype: string;

  /** @internal use `model.stepper()` */
  constructor(private readonly model: SequenceModel) {
    const who = 'SequenceModel.stepper';
    if (model.output === 'mean') {
      throw new Error(`${who}: this model's head sees the mean over all steps (output 'mean'); a stepper gives the head's output at each step, as models with output 'sequence' or 'last' compute it`);
    }
    this.dtype = model.rnn.dtype;
    for (const [name, t] of [['embedding', model.embedding?.weight], ['head', model.head.weight]] as const) {
      if (t && t.dtype !== this.dtype) throw new Error(`${who}: the ${name} is ${t.dtype} but the recurrent layer is ${this.dtype}; convert the whole model with .to()`);
    }
    this.layer = model.rnn.stepperAround({
      ...(model.embedding ? { embedding: model.embedding.weight } : {}),
      head: { weight: model.head.weight, bias: model.head.bias },
    });
  }

  /**
   * One step. With an embedding, input is a token id (one sequence) or an int32 tensor (B) of
   * ids; else features (F) or (B, F). Returns the head's output, (O) or (B, O), and the new state
   * (as the recurrent layer's stepper gives it; null or omitted: zeros). The returned tensors'
   * data may share one buffer: copy (`data.slice()`) before transferring one to a worker.
   */
  step(input: number | Tensor, state?: SequenceState | null): [Tensor, SequenceState] {
    const who = 'SequenceStepper.step';
    const m = this.model;
    const O = m.head.outFeatures;
    let data: FloatArray | Int32Array;
    let B: number;
    let unbatched: boolean;
    if (m.embedding) {
      const V = m.embedding.numEmbeddings;
      if (typeof input === 'number') {
        if (!Number.isInteger(input) || input < 0 || input >= V) throw new Error(`${who}: token id ${input} is outside the vocabulary [0, ${V})`);
        data = Int32Array.of(input);
        B = 1;
        unbatched = true;
      } else if (input instanceof Tensor && input.dtype === 'int32' && input.ndim === 1) {
        data = input.data as Int32Array;
        B = input.shape[0]!;
        unbatched = false;
        for (const id of data) if (id < 0 || id >= V) throw new Error(`${who}: token id ${id} is outside the vocabulary [0, ${V})`);
      } else {
        const got = input instanceof Tensor ? `a ${input.dtype} tensor of shape ${formatShape(input.shape)}` : typeof input;
        throw new Error(`${who}: this model embeds token ids: input must be a token id (number) or an int32 tensor of shape [batch], got ${got}`);
      }
    } else {
      const F = m.rnn.inputSize;
      if (!(input instanceof Tensor) || (input.ndim !== 1 && input.ndim !== 2)) {
        throw new Error(`${who}: input must be a ${this.dtype} tensor of shape [${F}] or [batch, ${F}], got ${input instanceof Tensor ? formatShape(input.shape) : typeof input}`);
      }
      if (input.shape[input.ndim - 1] !== F) throw new Error(`${who}: input has ${input.shape[input.ndim - 1]} features, expected ${F}`);
      if (input.dtype !== this.dtype) throw new Error(`${who}: input is ${input.dtype} but the model is ${this.dtype}`);
      data = input.data as FloatArray;
      B = input.ndim === 1 ? 1 : input.shape[0]!;
      unbatched = input.ndim === 1;
    }
    const r = this.layer.run(data, B, unbatched, state, who);
    return [new Tensor(r.logits!, unbatched ? [O] : [B, O]), r.state];
  }

  /**
   * Runs a prompt: the steps of one sequence, `ids` in order (token ids; or, without an
   * embedding, a tensor (T, features)), from `state` (null or omitted: zeros), each layer in one
   * backend call. Returns the head's output at the last step and the state after it: what
   * calling `step` on each in turn returns at the end, faster.
   */
  prime(ids: ArrayLike<number> | Tensor, state?: SequenceState | null): [Tensor, SequenceState] {
    const who = 'SequenceStepper.prime';
    const m = this.model;
    let data: FloatArray | Int32Array;
    let T: number;
    if (m.embedding) {
      const V = m.embedding.numEmbeddings;
      let src: ArrayLike<number>;
      if (ids instanceof Tensor) {
        if (ids.dtype !== 'int32' || ids.ndim !== 1) throw new Error(`${who}: token ids must be numbers or an int32 tensor of shape [steps], got a ${ids.dtype} tensor of shape ${formatShape(ids.shape)}`);
        src = ids.data as Int32Array;
      } else if (ids !== null && typeof ids === 'object' && typeof ids.length === 'number') src = ids;
      else throw new Error(`${who}: ids must be an array of token ids, got ${ids === null ? 'null' : typeof ids}`);
      for (let i = 0; i < src.length; i++) {
        const id = src[i]!;
        if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`${who}: token id ${id} (at ${i}) is outside the vocabulary [0, ${V})`);
      }
      data = Int32Array.from(src);
      T = data.length;
    } else {
      const F = m.rnn.inputSize;
      if (!(ids instanceof Tensor) || ids.ndim !== 2 || ids.shape[1] !== F) {
        throw new Error(`${who}: this model takes features: ids must be a ${this.dtype} tensor of shape [steps, ${F}], got ${ids instanceof Tensor ? formatShape(ids.shape) : typeof ids}`);
      }
      if (ids.dtype !== this.dtype) throw new Error(`${who}: input is ${ids.dtype} but the model is ${this.dtype}`);
      data = ids.data as FloatArray;
      T = ids.shape[0]!;
    }
    if (T < 1) throw new Error(`${who}: the prompt is empty: at least one step is needed`);
    const r = this.layer.run(data, 1, true, state, who, T);
    return [new Tensor(r.logits!, [m.head.outFeatures]), r.state];
  }

  /**
   * Generation, one sequence: `n` tokens, each drawn from the head's output of a step as
   * `sampleLogits` draws (these options, this generator), the first step's input being `token`
   * and each later step's the token drawn before it. Returns the drawn tokens and the state after
   * the last step (the last token drawn is not yet fed: pass it as `token` to continue). The same
   * tokens as calling `step` and `sampleLogits` n times with the same generator; where the
   * backend can (no topK or topP, no projection), all n steps of every layer run in one call,
   * much faster; else step by step.
   *
   * @example
   * ```ts
   * const [logits, state] = stepper.prime(promptIds); // the prompt, each layer in one call
   * const first = sampleLogits(logits.data, { temperature: 0.8 }, rng);
   * const [ids] = stepper.generate(first, 200, state, { temperature: 0.8 }, rng); // tokens after `first`
   * ```
   */
  generate(token: number, n: number, state?: SequenceState | null, options: SampleOptions = {}, rng: Generator = defaultGenerator): [Int32Array, SequenceState] {
    const who = 'SequenceStepper.generate';
    const m = this.model;
    if (!m.embedding) throw new Error(`${who}: generation feeds drawn token ids back in, so the model needs an embedding; this one takes ${m.rnn.inputSize} features a step (use step)`);
    const V = m.embedding.numEmbeddings;
    if (m.head.outFeatures > V) throw new Error(`${who}: the head gives ${m.head.outFeatures} outputs a step but the embedding has only ${V} tokens; generation feeds the token drawn from the head's output back in`);
    if (!Number.isInteger(token) || token < 0 || token >= V) throw new Error(`${who}: token id ${token} is outside the vocabulary [0, ${V})`);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${who}: n must be a whole number >= 1, got ${n}`);
    if (options === null || typeof options !== 'object') throw new Error(`${who}: options must be an object ({ temperature, topK, topP }), got ${options === null ? 'null' : typeof options}`);
    const { temperature = 1, topK = 0, topP = 1 } = options;
    checkSampleOptions(who, temperature, topK, topP);
    const r = this.layer.generate(token, n, state, { temperature, topK, topP }, rng, who);
    return [r.ids, r.state];
  }

  /** Frees the snapshot now (otherwise it goes when the stepper is garbage-collected). */
  dispose(): void {
    this.layer.dispose();
  }
}
