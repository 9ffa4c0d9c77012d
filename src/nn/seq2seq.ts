/**
 * An encoder-decoder with attention, built from a plain config: a source embedding and a
 * recurrent encoder of any kind (layers, both directions), and a recurrent decoder whose state
 * starts from the encoder's final one, reading at each step the previous target token's
 * embedding and the attention context over the encoder's outputs (input feeding), with a linear
 * output from its state (and the context). The model of PyTorch's translation tutorial, in any
 * recurrent kind, with padded batches of sources.
 *
 * Parameter names: `source_embedding.weight`, `encoder.weight_ih_l0`, ...,
 * `target_embedding.weight`, `bridge.weight` (only when the encoder's final state and the
 * decoder's differ in width), `attention.Wa.weight` ..., `decoder.weight_ih_l0`, ...,
 * `out.weight`, `out.bias`.
 *
 * Legend: S source steps, T target steps, N batch, E embedding, We the encoder's output width
 * (hidden x directions), Hd the decoder's hidden size, C the context's width, V vocabularies.
 */
import { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/create.js';
import { formatShape } from '../tensor/shape.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { attentionDecoder, concat, noGrad } from '../autograd/index.js';
import { Module } from './module.js';
import { Embedding, Linear } from './layers.js';
import { LAYERS, type LayerKind, type AnyRecurrentLayer, type CellState } from './rnn.js';
import { BahdanauAttention, MultiheadAttention } from './attention.js';
import { plainSteps } from './stepper.js';
import { crossEntropy } from './losses.js';
import { checkKnown, oneOf, positiveInt, bool, nonNegativeInt, probability, finiteNumber } from './options.js';

/** A recurrent part of a Seq2Seq: its kind and sizes (the input size follows from the rest). */
export interface Seq2SeqRecurrent {
  kind: LayerKind;
  hiddenSize: number;
  numLayers?: number;
  /** Dropout between layers (training only). */
  dropout?: number;
}

/** Everything needed to rebuild a Seq2Seq. */
export interface Seq2SeqConfig {
  /** Source vocabulary size and embedding width. */
  sourceVocab: number;
  sourceEmbedding: number;
  /** Target vocabulary size (with its bos, eos and pad tokens) and embedding width. */
  targetVocab: number;
  targetEmbedding: number;
  encoder: Seq2SeqRecurrent & { bidirectional?: boolean };
  decoder: Seq2SeqRecurrent;
  /** 'bahdanau' (default; the encoder's output width must equal the decoder's hidden size), 'multihead' or 'none'. */
  attention?: 'bahdanau' | 'multihead' | 'none';
  /** Heads of 'multihead' attention (default 1). */
  numHeads?: number;
  /** The output layer reads the context beside the decoder's state (default true). */
  outputContext?: boolean;
  /** Target token ids of the start, end and padding tokens. */
  bos: number;
  eos: number;
  pad: number;
}

/** Options of `Seq2Seq.forward`. */
export interface Seq2SeqForwardOptions {
  /** Each source's length (default: all S): padding beyond it never changes a result. */
  sourceLengths?: readonly number[];
  /**
   * The chance that a step reads the true previous token rather than the model's own best guess
   * (default 1: always). Below 1, each step draws once for the whole batch.
   */
  teacherForcing?: number;
  /** The generator of those draws (default: the global one). */
  generator?: Generator;
}

/** A padded batch of pairs as `loss` takes it (pairBatch and pairBatches make them). */
export interface Seq2SeqBatch {
  /** (S, N) source ids */
  source: Tensor;
  sourceLengths: readonly number[];
  /** (T, N): bos, then each target; padded */
  targetIn: Tensor;
  /** (T, N): each target, then eos; padded with the model's pad id */
  targetOut: Tensor;
}

/** Options of greedy and beam-search decoding. */
export interface DecodeOptions {
  sourceLengths?: readonly number[];
  /** The most tokens generated per sequence, the end token included (default 2 S + 10, at most 10,000). */
  maxLength?: number;
  /** Beam search: hypotheses kept (default 1: greedy). */
  beamWidth?: number;
  /** Beam search: scores are log-probability / length^lengthPenalty (default 1; 0 compares raw sums). */
  lengthPenalty?: number;
}

/** One decoded sequence: its tokens (without bos and eos), their log-probability, and the attention over the source for each (tokens.length + 1 rows with the end, each S wide; empty without attention). */
export interface Decoded {
  tokens: number[];
  logProb: number;
  attention: number[][];
}

/** The decoder's state: each layer's h (L, N, Hd), and c for cells that carry one. */
type DecoderState = Tensor | CellState;

/**
 * An encoder-decoder with attention (see the file's description): `forward` trains it with
 * teacher forcing, `translate` decodes greedily or by beam search.
 */
export class Seq2Seq extends Module {
  readonly config: Seq2SeqConfig;
  readonly sourceEmbedding: Embedding;
  readonly targetEmbedding: Embedding;
  readonly encoder: AnyRecurrentLayer;
  readonly decoder: AnyRecurrentLayer;
  readonly bridge: Linear | null;
  readonly attention: BahdanauAttention | MultiheadAttention | null;
  readonly out: Linear;
  /** The context's width (0 without attention). */
  readonly contextSize: number;

  constructor(config: Seq2SeqConfig) {
    super();
    const who = 'Seq2Seq';
    checkKnown(config, ['sourceVocab', 'sourceEmbedding', 'targetVocab', 'targetEmbedding', 'encoder', 'decoder', 'attention', 'numHeads', 'outputContext', 'bos', 'eos', 'pad'], who);
    this.config = JSON.parse(JSON.stringify(config)) as Seq2SeqConfig;
    const Vs = positiveInt(config.sourceVocab, 'sourceVocab', who);
    const Vt = positiveInt(config.targetVocab, 'targetVocab', who);
    for (const t of ['bos', 'eos', 'pad'] as const) {
      const v = nonNegativeInt(config[t], t, who, -1);
      if (v < 0 || v >= Vt) throw new Error(`${who}: ${t} must be a target token id in [0, ${Vt}), got ${String(config[t])}`);
    }
    if (new Set([config.bos, config.eos, config.pad]).size !== 3) throw new Error(`${who}: bos, eos and pad must be three different tokens, got ${config.bos}, ${config.eos}, ${config.pad}`);
    const part = (p: unknown, name: string, extra: string[]): Seq2SeqRecurrent & { bidirectional?: boolean } => {
      if (!p || typeof p !== 'object') throw new Error(`${who}: ${name} must be an object with kind and hiddenSize`);
      checkKnown(p, ['kind', 'hiddenSize', 'numLayers', 'dropout', ...extra], `${who} ${name}`);
      return p as Seq2SeqRecurrent;
    };
    const enc = part(config.encoder, 'encoder', ['bidirectional']);
    const dec = part(config.decoder, 'decoder', []);
    const kinds = Object.keys(LAYERS) as LayerKind[];
    const ek = oneOf(enc.kind, kinds, 'encoder.kind', who, 'lstm');
    const dk = oneOf(dec.kind, kinds, 'decoder.kind', who, 'lstm');
    const attention = oneOf(config.attention, ['bahdanau', 'multihead', 'none'] as const, 'attention', who, 'bahdanau');
    this.sourceEmbedding = this.registerModule('source_embedding', new Embedding({ numEmbeddings: Vs, embeddingDim: positiveInt(config.sourceEmbedding, 'sourceEmbedding', who) }));
    this.encoder = this.registerModule('encoder', new LAYERS[ek]({
      inputSize: config.sourceEmbedding, hiddenSize: enc.hiddenSize, numLayers: enc.numLayers, dropout: enc.dropout, bidirectional: enc.bidirectional,
    } as never));
    const We = this.encoder.hiddenSize * this.encoder.numDirections;
    const Hd = positiveInt(dec.hiddenSize, 'decoder.hiddenSize', who);
    this.targetEmbedding = this.registerModule('target_embedding', new Embedding({ numEmbeddings: Vt, embeddingDim: positiveInt(config.targetEmbedding, 'targetEmbedding', who) }));
    this.bridge = We !== Hd ? this.registerModule('bridge', new Linear({ inFeatures: We, outFeatures: Hd })) : null;
    if (attention === 'bahdanau') {
      if (We !== Hd) throw new Error(`${who}: Bahdanau attention compares the decoder's state with the encoder's outputs, so their widths must agree: the encoder gives ${We} (hiddenSize ${this.encoder.hiddenSize} x ${this.encoder.numDirections} directions), the decoder's hiddenSize is ${Hd}`);
      this.attention = this.registerModule('attention', new BahdanauAttention({ hiddenSize: Hd }));
      this.contextSize = We;
    } else if (attention === 'multihead') {
      this.attention = this.registerModule('attention', new MultiheadAttention({ embedDim: Hd, numHeads: config.numHeads ?? 1, kdim: We, vdim: We, batchFirst: true }));
      this.contextSize = Hd;
    } else {
      if (config.numHeads !== undefined) throw new Error(`${who}: numHeads is for attention 'multihead', got attention '${attention}'`);
      this.attention = null;
      this.contextSize = 0;
    }
    this.decoder = this.registerModule('decoder', new LAYERS[dk]({
      inputSize: config.targetEmbedding + this.contextSize, hiddenSize: Hd, numLayers: dec.numLayers, dropout: dec.dropout,
    } as never));
    const outputContext = bool(config.outputContext, 'outputContext', who, true) && this.contextSize > 0;
    this.out = this.registerModule('out', new Linear({ inFeatures: Hd + (outputContext ? this.contextSize : 0), outFeatures: Vt }));
  }

  /** Whether the output layer reads the context. */
  private get outputContext(): boolean {
    return this.out.inFeatures > this.decoder.hiddenSize;
  }

  /** Source ids (S, N) and their lengths, checked. */
  private checkSource(source: Tensor, lengths: readonly number[] | undefined, who: string): number[] {
    if (!(source instanceof Tensor) || source.dtype !== 'int32' || source.ndim !== 2) {
      throw new Error(`${who}: source must be int32 token ids (S, N), got ${source instanceof Tensor ? `${source.dtype} ${formatShape(source.shape)}` : typeof source}`);
    }
    const [S, N] = source.shape as [number, number];
    if (S < 1 || N < 1) throw new Error(`${who}: source must have at least one step and one sequence, got ${formatShape(source.shape)}`);
    const Vs = this.config.sourceVocab;
    for (let i = 0; i < source.size; i++) {
      const v = source.data[i]!;
      if (v < 0 || v >= Vs) throw new Error(`${who}: source holds token id ${v} at step ${Math.floor(i / N)} of sequence ${i % N}, outside the source vocabulary [0, ${Vs})`);
    }
    if (lengths === undefined) return new Array<number>(N).fill(S);
    if (!Array.isArray(lengths) || lengths.length !== N) throw new Error(`${who}: sourceLengths must have one length per sequence (${N}), got ${Array.isArray(lengths) ? lengths.length : typeof lengths}`);
    lengths.forEach((l, n) => {
      if (!Number.isInteger(l) || l < 1 || l > S) throw new Error(`${who}: sourceLengths[${n}] must be a whole number in [1, ${S}], got ${String(l)}`);
    });
    return [...lengths];
  }

  /**
   * Runs the encoder: its outputs batch first (N, S, We), the mask of padded source steps
   * (N, S; null when nothing is padded), the attention's projected keys, and the decoder's first state.
   */
  encode(source: Tensor, sourceLengths?: readonly number[]): { keys: Tensor; mask: Tensor | null; projected: Tensor | null; state: DecoderState; lengths: number[] } {
    const { outputs, mask, state, lengths } = this.encodeSteps(source, sourceLengths, 'Seq2Seq.encode');
    const keys = outputs.transpose(0, 1); // (N, S, We)
    const projected = this.attention instanceof BahdanauAttention ? this.attention.projectKeys(keys) : null;
    return { keys, mask, projected, state, lengths };
  }

  /** The encoder's outputs time-major (S, N, We), the mask of padded source steps (N, S; null when nothing is padded), the decoder's first state. */
  private encodeSteps(source: Tensor, sourceLengths: readonly number[] | undefined, who: string): { outputs: Tensor; mask: Tensor | null; state: DecoderState; lengths: number[] } {
    const lengths = this.checkSource(source, sourceLengths, who);
    const [S, N] = source.shape as [number, number];
    const padded = lengths.some((l) => l < S);
    const enc = this.encoder as { forward(x: Tensor, s?: unknown, o?: unknown): [Tensor, Tensor | CellState] };
    const [outputs, final] = enc.forward(this.sourceEmbedding.forward(source), null, padded ? { lengths } : {});
    let mask: Tensor | null = null;
    if (padded) {
      const m = new Int32Array(N * S);
      for (let n = 0; n < N; n++) for (let s = lengths[n]!; s < S; s++) m[n * S + s] = 1;
      mask = tensor(m, [N, S]);
    }
    return { outputs, mask, state: this.bridgeState(final, N), lengths };
  }

  /** The encoder's final state (its top layer, both directions side by side) as the decoder's first, in every decoder layer. */
  private bridgeState(final: Tensor | CellState, N: number): DecoderState {
    const D = this.encoder.numDirections;
    const Le = this.encoder.numLayers;
    const Ld = this.decoder.numLayers;
    const top = (t: Tensor): Tensor => {
      const last = t.slice(0, (Le - 1) * D, Le * D); // (D, N, He)
      let h = D === 1 ? last.reshape([N, -1]) : last.permute([1, 0, 2]).reshape([N, -1]); // (N, We)
      if (this.bridge) h = this.bridge.forward(h).tanh();
      const one = h.reshape([1, N, this.decoder.hiddenSize]);
      return Ld === 1 ? one : concat(new Array<Tensor>(Ld).fill(one), 0);
    };
    const h = top(Array.isArray(final) ? (final as CellState)[0] : (final as Tensor));
    if (!this.decoder.rule.cell) return h;
    const c = Array.isArray(final) && this.encoder.rule.cell ? top((final as CellState)[1]) : h.mul(0);
    return [h, c];
  }

  /** The top layer's h of a decoder state, (N, 1, Hd). */
  private query(state: DecoderState, N: number): Tensor {
    const h = Array.isArray(state) ? (state as CellState)[0] : (state as Tensor);
    const L = this.decoder.numLayers;
    return h.slice(0, L - 1, L).reshape([N, 1, this.decoder.hiddenSize]);
  }

  /**
   * One decoder step for the batch: previous tokens (N) -> logits (N, Vt), the new state and
   * the attention weights (N, S) (null without attention).
   */
  step(prev: Tensor, state: DecoderState, enc: { keys: Tensor; mask: Tensor | null; projected: Tensor | null }): [Tensor, DecoderState, Tensor | null] {
    const [features, next, weights] = this.features(prev, state, enc);
    return [this.out.forward(features), next, weights];
  }

  /** A decoder step up to what the output layer reads: [its input (N, Hd or Hd + C), the new state, the attention weights (N, S) or null]. */
  private features(prev: Tensor, state: DecoderState, enc: { keys: Tensor; mask: Tensor | null; projected: Tensor | null }): [Tensor, DecoderState, Tensor | null] {
    const N = prev.shape[0]!;
    const emb = this.targetEmbedding.forward(prev); // (N, E)
    let context: Tensor | null = null;
    let weights: Tensor | null = null;
    if (this.attention instanceof BahdanauAttention) {
      [context, weights] = this.attention.forward(this.query(state, N), enc.keys, enc.mask, enc.projected);
    } else if (this.attention) {
      const [ctx, w] = this.attention.forward(this.query(state, N), enc.keys, enc.keys, { keyPaddingMask: enc.mask });
      context = ctx;
      weights = w;
    }
    const ctx2 = context ? context.reshape([N, this.contextSize]) : null;
    const input = ctx2 ? concat([emb, ctx2], 1) : emb;
    const dec = this.decoder as { forward(x: Tensor, s?: unknown): [Tensor, Tensor | CellState] };
    const [out, next] = dec.forward(input.reshape([1, N, input.shape[1]!]), state);
    const h = out.reshape([N, this.decoder.hiddenSize]);
    return [this.outputContext && ctx2 ? concat([h, ctx2], 1) : h, next, weights ? weights.reshape([N, weights.shape[weights.ndim - 1]!]) : null];
  }

  /**
   * Every teacher-forced step of the decoder in one node (attentionDecoder), where the decoder
   * is one layer of a kind whose rule allows it, with Bahdanau attention: what the output layer
   * reads, (T, N, Hd or Hd + C). Null where the steps run one by one.
   */
  private decodeAll(source: Tensor, sourceLengths: readonly number[] | undefined, targetIn: Tensor, who: string): Tensor | null {
    const dec = this.decoder;
    const att = this.attention;
    if (!(att instanceof BahdanauAttention) || dec.numLayers !== 1 || !dec.rule.attentionDecoder || !plainSteps(dec) || dec.projSize > 0) return null;
    const p = dec.layerWeights(0);
    if (!p.whh) return null;
    const N = targetIn.shape[1]!;
    const H = dec.hiddenSize;
    // the keys as the encoder writes them (time-major): no transpose either way
    const enc = this.encodeSteps(source, sourceLengths, who);
    const [h, c] = Array.isArray(enc.state) ? (enc.state as CellState) : [enc.state as Tensor, null];
    const mask = enc.mask ? Int32Array.from(enc.mask.data) : null;
    const r = attentionDecoder(dec.kind, this.targetEmbedding.forward(targetIn), {
      wih: p.wih, whh: p.whh, bih: p.bih, bhh: p.bhh, wa: att.Wa.weight, ba: att.Wa.bias, va: att.Va.weight, vb: att.Va.bias,
    }, h.reshape([N, H]), c ? c.reshape([N, H]) : null, enc.outputs, att.Ua.forward(enc.outputs), mask);
    return this.outputContext ? concat([r.out, r.context], 2) : r.out;
  }

  /**
   * Teacher-forced training pass: source (S, N) and the decoder's input targetIn (T, N) (bos,
   * then the target tokens; pad after each target's end) -> logits (T, N, Vt), to compare with
   * the targets shifted by one (the tokens, then eos) under crossEntropy with ignoreIndex = pad.
   */
  forward(source: Tensor, targetIn: Tensor, options: Seq2SeqForwardOptions = {}): Tensor {
    const who = 'Seq2Seq.forward';
    checkKnown(options, ['sourceLengths', 'teacherForcing', 'generator'], who);
    const ratio = probability(options.teacherForcing, 'teacherForcing', who, 1);
    const gen = options.generator ?? defaultGenerator;
    if (!(targetIn instanceof Tensor) || targetIn.dtype !== 'int32' || targetIn.ndim !== 2) {
      throw new Error(`${who}: targetIn must be int32 token ids (T, N), got ${targetIn instanceof Tensor ? `${targetIn.dtype} ${formatShape(targetIn.shape)}` : typeof targetIn}`);
    }
    const [T, N] = targetIn.shape as [number, number];
    if (N !== source.shape[1]) throw new Error(`${who}: source has ${source.shape[1]} sequences, targetIn ${N}`);
    const Vt = this.config.targetVocab;
    for (let i = 0; i < targetIn.size; i++) {
      const v = targetIn.data[i]!;
      if (v < 0 || v >= Vt) throw new Error(`${who}: targetIn holds token id ${v} at step ${Math.floor(i / N)} of sequence ${i % N}, outside the target vocabulary [0, ${Vt})`);
    }
    // every step reads the truth: the output layer runs once over all steps (each row's logits
    // are what a step's own call gives, whatever the rows beside it)
    const fused = ratio === 1 ? this.decodeAll(source, options.sourceLengths, targetIn, who) : null;
    if (fused) return this.out.forward(fused).reshape([T, N, Vt]);
    const enc = this.encode(source, options.sourceLengths);
    let state = enc.state;
    const logits: Tensor[] = [];
    let prev = targetIn.slice(0, 0, 1).reshape([N]);
    if (ratio === 1) {
      const features: Tensor[] = [];
      for (let t = 0; t < T; t++) {
        const [f, next] = this.features(prev, state, enc);
        features.push(f);
        state = next;
        if (t + 1 < T) prev = targetIn.slice(0, t + 1, t + 2).reshape([N]);
      }
      return this.out.forward(concat(features, 0)).reshape([T, N, Vt]);
    }
    for (let t = 0; t < T; t++) {
      const [l, next] = this.step(prev, state, enc);
      logits.push(l.reshape([1, N, Vt]));
      state = next;
      if (t + 1 < T) {
        const truth = targetIn.slice(0, t + 1, t + 2).reshape([N]);
        // below a ratio of 1, some steps read the model's own guesses (where the truth is not padding)
        prev = ratio < 1 && gen.random() >= ratio ? this.ownGuess(l, truth) : truth;
      }
    }
    return concat(logits, 0);
  }

  /**
   * The teacher-forced training loss of a batch: the mean cross-entropy of every target token
   * (and each sequence's eos), the padding left out.
   *
   * @example
   * ```ts
   * for (const b of pairBatches(pairs, 64, rng, ids)) {
   *   optimizer.zeroGrad();
   *   model.loss(b).backward();
   *   optimizer.step();
   * }
   * ```
   */
  loss(batch: Seq2SeqBatch, options: Omit<Seq2SeqForwardOptions, 'sourceLengths'> = {}): Tensor {
    const logits = this.forward(batch.source, batch.targetIn, { ...options, sourceLengths: batch.sourceLengths });
    return crossEntropy(logits.reshape([-1, this.config.targetVocab]), batch.targetOut.reshape([-1]), { ignoreIndex: this.config.pad });
  }

  /** The best token of each row of logits, where the truth is not padding (there: the padding). */
  private ownGuess(logits: Tensor, truth: Tensor): Tensor {
    const best = noGrad(() => logits.argmax(1));
    const ids = new Int32Array(truth.size);
    for (let n = 0; n < ids.length; n++) ids[n] = truth.data[n] === this.config.pad ? this.config.pad : best.data[n]!;
    return tensor(ids, [ids.length]);
  }

  /**
   * Decodes each source sequence (S, N): greedy, or beam search with `beamWidth` > 1, with
   * length normalisation. Returns, per sequence, the tokens (without bos and eos), their
   * log-probability and the attention weights of each generated step over the source.
   */
  translate(source: Tensor, options: DecodeOptions = {}): Decoded[] {
    const who = 'Seq2Seq.translate';
    checkKnown(options, ['sourceLengths', 'maxLength', 'beamWidth', 'lengthPenalty'], who);
    const S = source.shape[0] ?? 0;
    const maxLength = options.maxLength === undefined ? 2 * S + 10 : positiveInt(options.maxLength, 'maxLength', who);
    if (maxLength > 10000) throw new Error(`${who}: maxLength must be in [1, 10000], got ${maxLength}`);
    const beam = options.beamWidth === undefined ? 1 : positiveInt(options.beamWidth, 'beamWidth', who);
    if (beam > 100) throw new Error(`${who}: beamWidth must be in [1, 100], got ${beam}`);
    const alpha = finiteNumber(options.lengthPenalty, 'lengthPenalty', who, 1, 0);
    const wasTraining = this.training;
    this.eval();
    try {
      return noGrad(() => {
        const enc = this.encode(source, options.sourceLengths);
        return beam === 1 ? this.greedy(enc, maxLength) : this.beamSearch(enc, maxLength, beam, alpha);
      });
    } finally {
      if (wasTraining) this.train();
    }
  }

  private greedy(enc: ReturnType<Seq2Seq['encode']>, maxLength: number): Decoded[] {
    const N = enc.lengths.length;
    const { bos, eos } = this.config;
    const out: Decoded[] = enc.lengths.map(() => ({ tokens: [], logProb: 0, attention: [] }));
    const done = new Array<boolean>(N).fill(false);
    let prev = tensor(new Int32Array(N).fill(bos), [N]);
    let state = enc.state;
    for (let t = 0; t < maxLength && done.includes(false); t++) {
      const [logits, next, weights] = this.step(prev, state, enc);
      state = next;
      const lp = logits.logSoftmax(1);
      const V = lp.shape[1]!;
      const ids = new Int32Array(N);
      for (let n = 0; n < N; n++) {
        let best = 0;
        for (let v = 1; v < V; v++) if (lp.data[n * V + v]! > lp.data[n * V + best]!) best = v;
        ids[n] = best;
        if (done[n]) continue;
        out[n]!.logProb += lp.data[n * V + best]!;
        if (weights) out[n]!.attention.push(rowOf(weights, n, enc.lengths[n]!));
        if (best === eos) done[n] = true;
        else out[n]!.tokens.push(best);
      }
      prev = tensor(ids, [N]);
    }
    return out;
  }

  private beamSearch(enc: ReturnType<Seq2Seq['encode']>, maxLength: number, K: number, alpha: number): Decoded[] {
    const N = enc.lengths.length;
    const { bos, eos } = this.config;
    const results: Decoded[] = [];
    const pick = (t: Tensor, n: number, reps: number): Tensor => t.slice(0, n, n + 1).expand([reps, ...t.shape.slice(1)]);
    for (let n = 0; n < N; n++) {
      // one source at a time, its encoding repeated for each live hypothesis
      const sn = { keys: enc.keys.slice(0, n, n + 1), mask: enc.mask ? enc.mask.slice(0, n, n + 1) : null, projected: enc.projected ? enc.projected.slice(0, n, n + 1) : null };
      const stateOf = (s: DecoderState, rows: readonly number[]): DecoderState => {
        const idx = tensor(Int32Array.from(rows), [rows.length]);
        return Array.isArray(s) ? [(s as CellState)[0].indexSelect(1, idx), (s as CellState)[1].indexSelect(1, idx)] : (s as Tensor).indexSelect(1, idx);
      };
      let state: DecoderState = stateOf(enc.state, [n]);
      let live: { tokens: number[]; logProb: number; attention: number[][] }[] = [{ tokens: [], logProb: 0, attention: [] }];
      const finished: Decoded[] = [];
      const score = (h: { tokens: number[]; logProb: number }): number => h.logProb / Math.pow(h.tokens.length + 1, alpha);
      for (let t = 0; t < maxLength && live.length > 0; t++) {
        const B = live.length;
        const prev = tensor(Int32Array.from(live.map((h) => (h.tokens.length ? h.tokens[h.tokens.length - 1]! : bos))), [B]);
        const e = { keys: pick(sn.keys, 0, B), mask: sn.mask ? pick(sn.mask, 0, B) : null, projected: sn.projected ? pick(sn.projected, 0, B) : null };
        const [logits, next, weights] = this.step(prev, state, e);
        const lp = logits.logSoftmax(1);
        const V = lp.shape[1]!;
        const cands: { from: number; token: number; logProb: number }[] = [];
        for (let b = 0; b < B; b++) {
          // each hypothesis' K best continuations are enough to find the K best overall
          const row = Array.from(lp.data.subarray(b * V, (b + 1) * V), (v, token) => ({ token, v })).sort((x, y) => y.v - x.v).slice(0, K);
          for (const { token, v } of row) cands.push({ from: b, token, logProb: live[b]!.logProb + v });
        }
        cands.sort((x, y) => y.logProb - x.logProb);
        // the K best continuations that do not end; those that end are finished hypotheses
        const kept: typeof live = [];
        const rows: number[] = [];
        for (const c of cands) {
          const h = live[c.from]!;
          const attention = weights ? [...h.attention, rowOf(weights, c.from, enc.lengths[n]!)] : h.attention;
          if (c.token === eos) finished.push({ tokens: h.tokens, logProb: c.logProb, attention });
          else {
            kept.push({ tokens: [...h.tokens, c.token], logProb: c.logProb, attention });
            rows.push(c.from);
            if (kept.length === K) break;
          }
        }
        live = finished.length >= K ? [] : kept;
        if (live.length) state = stateOf(next, rows);
      }
      const all = [...finished, ...live].sort((x, y) => score(y) - score(x));
      results.push(all[0]!);
    }
    return results;
  }
}

/** Row n of attention weights (N, S), its first `len` values. */
function rowOf(weights: Tensor, n: number, len: number): number[] {
  const S = weights.shape[1]!;
  return Array.from(weights.data.subarray(n * S, n * S + len));
}
