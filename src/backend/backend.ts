import type { FloatArray } from '../tensor/dtype.js';
import type { Shape } from '../tensor/shape.js';
import { drawToken, type DrawOptions } from './sample.js';
import type { CellKind } from './cells.js';

/** Elementwise functions of one argument. */
export type UnaryOp = 'neg' | 'exp' | 'log' | 'tanh' | 'sigmoid' | 'relu' | 'sqrt' | 'abs';
/** Every UnaryOp. */
export const UNARY_OPS: readonly UnaryOp[] = ['neg', 'exp', 'log', 'tanh', 'sigmoid', 'relu', 'sqrt', 'abs'];
/** Elementwise functions of two broadcast arguments. */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';

/** Which recurrence a sequence kernel runs: a kind of cell with a rule in CELL_RULES (cells.ts). */
export type RecurrentKind = CellKind;

/**
 * Sizes of one direction of one recurrent layer. Letters as everywhere in the library:
 * T steps, B batch, I input features, H hidden size, P projection size (LSTM only, 0 = none).
 * The state fed back and emitted is Hout = P || H wide.
 */
export interface RecurrentDims {
  kind: RecurrentKind;
  T: number;
  B: number;
  I: number;
  H: number;
  P: number;
  /** GRU: false applies the reset gate to h before its product (Keras's reset_after=False); default true (PyTorch). */
  resetAfter?: boolean;
  /** Nonlinearity of the LSTM's i, f, o and the GRU's r, z gates; default 'sigmoid' (PyTorch), 'hard_sigmoid' as Keras. */
  gateActivation?: 'sigmoid' | 'hard_sigmoid';
}

/** Whether the dims ask for one of Keras's variants (hard_sigmoid gates, the GRU's reset before its product). */
export function hasKerasOptions(d: RecurrentDims): boolean {
  return d.resetAfter === false || d.gateActivation === 'hard_sigmoid';
}

/**
 * One direction's parameters, by the roles of the cell's rule (cells.ts): PyTorch layouts wih
 * (G*H, I), whh (G*H, Hout), biases (G*H), whr (P, H); every further role (layer norms'
 * gains and shifts, peepholes) in `extra`.
 */
export interface RecurrentWeights {
  wih: FloatArray;
  /** null for cells without a recurrent product (minGRU, minLSTM) */
  whh: FloatArray | null;
  bih: FloatArray | null;
  bhh: FloatArray | null;
  whr: FloatArray | null;
  extra?: Readonly<Record<string, FloatArray>>;
  /**
   * Identifies these weights from call to call, so that a backend may keep them prepared (packed
   * for its kernels) between calls and prepare them again only after they change. Absent: the
   * weights are read afresh by every call.
   */
  stamp?: WeightStamp;
}

/**
 * Who the weights of a call are and how often they have changed: `owner` lives exactly as long
 * as the weights (a layer's parameter tensor; a backend may key a WeakMap by it) and `version`
 * differs whenever any of the arrays was written (the parameters' version counters, summed).
 * Arrays other than those of an earlier call with the same stamp count as a change too.
 */
export interface WeightStamp {
  readonly owner: object;
  readonly version: number;
}

/** What a backend saves between a sequence forward and its backward; only that backend reads it. */
export interface RecurrentCache {
  readonly backend: string;
  /** Frees backend memory held for backward (called once the graph is released). */
  release?(): void;
}

/**
 * What a sequence forward returns: new arrays (none a view of another, of an input, or of what
 * the cache holds: callers hand them to tensors as they are), and what its backward needs.
 */
export interface RecurrentForwardResult {
  /** (T, B, Hout) */
  out: FloatArray;
  /** (B, Hout) */
  hN: FloatArray;
  /** (B, H), LSTM only */
  cN: FloatArray | null;
  /** null when the forward was run without keeping what backward needs */
  cache: RecurrentCache | null;
}

/**
 * Which gradients a recurrent backward must produce (PyTorch's `needs_input_grad`): the input's,
 * the parameters', or both. What is not needed is not computed and comes back null.
 */
export interface RecurrentNeeds {
  input: boolean;
  params: boolean;
}

/** Every gradient: the default of `recurrentBackward`. */
export const ALL_RECURRENT_GRADS: RecurrentNeeds = { input: true, params: true };

/**
 * A direction's parameter gradients so far (a layer's parameters' `.grad`), by the roles of
 * RecurrentWeights: a backward given them adds its parameter gradients onto them in place and
 * returns those entries null. Each is there exactly where the weights have that role.
 */
export interface RecurrentGradTargets {
  dwih: FloatArray;
  dwhh: FloatArray | null;
  dbih: FloatArray | null;
  dbhh: FloatArray | null;
  dwhr: FloatArray | null;
}

/** What a sequence backward returns: new arrays, by the roles of RecurrentWeights. */
export interface RecurrentGrads {
  /** null when `needs.input` was false */
  dx: FloatArray | null;
  dh0: FloatArray;
  dc0: FloatArray | null;
  /** these four (and dwhr) are null when `needs.params` was false */
  dwih: FloatArray | null;
  dwhh: FloatArray | null;
  dbih: FloatArray | null;
  dbhh: FloatArray | null;
  dwhr: FloatArray | null;
  /** the gradients of the weights' `extra` roles, by role (null when `needs.params` was false or there are none) */
  dextra?: Readonly<Record<string, FloatArray>> | null;
}

/**
 * What a stepper may fuse around its recurrence: a language model's generation step is an
 * embedding row in, the recurrent step, and a linear head out, in one call.
 */
export interface StepperExtras {
  /**
   * An embedding table (V, I): `run` then takes token ids (T * B int32 values in [0, V)) in place
   * of x. A backend may precompute every token's input projection (V, G*H) from it.
   */
  embedding?: { weight: FloatArray; V: number };
  /** A linear head (O, Hout) and bias (O) on the output: `run` also returns its logits (T, B, O). */
  head?: { weight: FloatArray; bias: FloatArray | null; O: number };
}

/** What `RecurrentStepper.run` returns: new arrays, none sharing elements with another. */
export interface StepResult {
  /** (T, B, Hout); with `lastOnly`, the last step's rows (B, Hout) */
  out: FloatArray;
  /** (B, Hout): the last step's output */
  hN: FloatArray;
  /** (B, H), LSTM only */
  cN: FloatArray | null;
  /** (T, B, O) when the stepper has a head, else null */
  logits: FloatArray | null;
}

/** A layer stacked on a generating stepper: its stepper and its state before the first step. */
export interface LayerAbove {
  stepper: RecurrentStepper;
  h0: FloatArray;
  c0: FloatArray | null;
}

/** What `RecurrentStepper.generate` returns: new arrays. */
export interface GenerateResult {
  /** the n tokens drawn */
  ids: Int32Array;
  /** (Hout), (H) (LSTM only): this layer's state after the last step */
  hN: FloatArray;
  cN: FloatArray | null;
  /** the states of the layers above, in their order */
  above: { hN: FloatArray; cN: FloatArray | null }[];
  /** (O): the last step's logits */
  logits: FloatArray;
}

/**
 * `RecurrentStepper.generate` by calls of each layer's `run`, one step each (any backend, any
 * stack of steppers whose first has an embedding and whose last has a head).
 */
export function generateByRuns(s: RecurrentStepper, first: number, n: number, h0: FloatArray, c0: FloatArray | null,
  sample: DrawOptions, uniforms: Float64Array, above: readonly LayerAbove[] = []): GenerateResult {
  const { temperature, topK, topP } = sample;
  if (!(n >= 1)) throw new Error(`RecurrentStepper.generate: n must be at least 1, got ${n}`);
  const ids = new Int32Array(n);
  const one = new Int32Array(1);
  const layers = [s, ...above.map((a) => a.stepper)];
  const h = [h0, ...above.map((a) => a.h0)];
  const c = [c0, ...above.map((a) => a.c0)];
  let token = first;
  let logits: FloatArray | null = null;
  for (let i = 0; i < n; i++) {
    one[0] = token;
    let x: FloatArray | Int32Array = one;
    for (let l = 0; l < layers.length; l++) {
      const r = layers[l]!.run(x, 1, 1, h[l]!, c[l]!);
      h[l] = r.hN;
      c[l] = r.cN;
      x = r.out;
      logits = r.logits;
    }
    if (!logits) throw new Error('RecurrentStepper.generate: the top layer has no head');
    token = ids[i] = drawToken(logits, temperature, topK, topP, temperature > 0 ? uniforms[i]! : 0);
  }
  return { ids, hN: h[0]!, cN: c[0]!, above: above.map((_, l) => ({ hN: h[l + 1]!, cN: c[l + 1]! })), logits: logits! };
}

/**
 * One direction of a recurrent layer with its weights snapshotted (packed once) in the backend's
 * memory, for running a few steps at a time (generation, streaming).
 */
export interface RecurrentStepper {
  /**
   * x (T, B, I), or token ids (T, B) with an embedding, from h0 (B, Hout), c0 (B, H): out
   * (T, B, Hout; with `lastOnly` only the last step's rows, when the caller reads no more),
   * hN, cN, and the head's logits.
   */
  run(x: FloatArray | Int32Array, T: number, B: number, h0: FloatArray, c0: FloatArray | null, lastOnly?: boolean): StepResult;
  /**
   * Generation, one sequence (B = 1), for a stepper with an embedding, and a head on it or on
   * the last of the layers `above` (stacked on it, each fed the output of the one below): n
   * steps, the first one's input the token `first`, each later one's the token drawn from the
   * logits of the step before (by `drawToken` of sample.ts with these options, the i-th draw
   * from uniforms[i]; with temperature 0 the uniforms are not read).
   * Returns the n drawn tokens, every layer's state after the last step and its logits: what n
   * rounds of `run` and `drawToken` give (a backend may draw from float32 weights: the same
   * tokens but where a uniform falls within rounding of a boundary).
   */
  generate(first: number, n: number, h0: FloatArray, c0: FloatArray | null, sample: DrawOptions, uniforms: Float64Array,
    above?: readonly LayerAbove[]): GenerateResult;
  /** Frees the snapshot (it is also freed when the stepper is garbage-collected). */
  dispose(): void;
}

/** The per-step scalars of an Adam/AdamW update (see `Backend.adamStep`). */
export interface AdamScalars {
  beta1: number;
  beta2: number;
  /** lr / (1 - beta1^step) */
  stepSize: number;
  /** sqrt(1 - beta2^step) */
  bc2Sqrt: number;
  eps: number;
  /** -1 to maximize, else 1 */
  sign: number;
  /** weight decay added to the gradient (Adam's L2), or 0 */
  l2: number;
  /** 1 - lr * weightDecay for AdamW's decoupled decay, else 1 */
  shrink: number;
}

/**
 * The tensor kernels every backend provides. Arrays are flat, row-major and contiguous; outputs
 * are preallocated by the caller and of the inputs' element type. The reference backend is the
 * specification: any other backend must match it within float32 rounding.
 */
export interface CoreKernels {
  readonly name: string;
  /**
   * C (M, N) = op(A) (M, K) @ op(B) (K, N), or C += when `accumulate`.
   * A is stored (M, K) row-major, or (K, M) when `transA`; B is (K, N), or (N, K) when `transB`.
   * `bStamp`: B is a layer's weight (all of b), which a backend may keep prepared between calls
   * (see WeightStamp).
   */
  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number,
    a: FloatArray, aOff: number, b: FloatArray, bOff: number, c: FloatArray, cOff: number, accumulate: boolean, bStamp?: WeightStamp): void;
  /**
   * A linear layer's backward from the output gradient g (rows, O), the input x (rows, K) and the
   * weight w (O, K): dx = g @ w, dw = g^T @ x and db = g summed over rows (as `sumTo`); a null
   * output is not computed. With `accumulate`, dw and db are added onto what they hold (a
   * parameter's gradient so far); dx is written either way.
   */
  linearBackward(g: FloatArray, x: FloatArray, w: FloatArray, rows: number, K: number, O: number,
    dx: FloatArray | null, dw: FloatArray | null, db: FloatArray | null, accumulate?: boolean): void;
  unary(op: UnaryOp, x: FloatArray, out: FloatArray): void;
  /** out = g * f'(x), given x and y = f(x). */
  unaryBackward(op: UnaryOp, x: FloatArray, y: FloatArray, g: FloatArray, out: FloatArray): void;
  pow(x: FloatArray, exponent: number, out: FloatArray): void;
  binary(op: BinaryOp, a: FloatArray, aShape: Shape, b: FloatArray, bShape: Shape, out: FloatArray, outShape: Shape): void;
  /** Sums x (xShape) into out (outShape, same rank, 1 where summed over). */
  sumTo(x: FloatArray, xShape: Shape, out: FloatArray, outShape: Shape): void;
  /** Repeats x (xShape, same rank as outShape, 1 where repeated) to outShape. */
  broadcastTo(x: FloatArray, xShape: Shape, out: FloatArray, outShape: Shape): void;
  /** out = x with its dimensions reordered: out dim i is x dim perm[i]. */
  permute(x: FloatArray, shape: Shape, perm: readonly number[], out: FloatArray): void;
  /** Softmax (or log-softmax) over the middle axis of x viewed as (outer, n, inner). */
  softmax(x: FloatArray, outer: number, n: number, inner: number, out: FloatArray, log: boolean): void;
  /** Gradient of softmax/log-softmax given its output y and the output gradient g. */
  softmaxBackward(y: FloatArray, g: FloatArray, outer: number, n: number, inner: number, out: FloatArray, log: boolean): void;
  /**
   * The gradient of cross-entropy with respect to the logits, from the log-softmax lp (rows, n):
   * out[r, c] = coef[r] (exp(lp[r, c]) - [c == target[r]]); rows with coef 0 come out zero.
   */
  logSoftmaxNllBackward(lp: FloatArray, target: Int32Array, coef: Float64Array, rows: number, n: number, out: FloatArray): void;
}

/** The element type of a backend's arrays. */
export type FloatDType = 'float32' | 'float64';

/** Fused sequence kernels: one direction of one recurrent layer over a whole sequence per call. */
export interface SequenceKernels {
  /** Whether these kernels run this kind of cell, these sizes and options, at this element type. */
  supports(dims: RecurrentDims, dtype: FloatDType): boolean;
  /**
   * Whether these kernels take each row's length (`lengths` below) for these dims: a padded batch
   * in one call. Where they do not, the caller runs the rows' common stretches one call each.
   */
  supportsLengths?(dims: RecurrentDims, dtype: FloatDType): boolean;
  /**
   * Runs one direction of a recurrent layer over the whole sequence x (T, B, I) from h0 (B, Hout),
   * c0 (B, H). With `lengths` (B values in 1..T; only where supportsLengths), row b runs only its
   * steps t < lengths[b] (the reverse direction from its own last step), as if it were alone:
   * its outputs at later steps are 0, and hN, cN are its state after its own last step.
   */
  recurrentForward(dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
    reverse: boolean, keepCache: boolean, lengths?: Int32Array | null): RecurrentForwardResult;
  /**
   * Backpropagation through time for a forward run with keepCache (and the same lengths); gradients
   * of null outputs count as zero, and those of a row's padded outputs are not read. `needs`
   * (default: everything) leaves out the input's or the parameters' gradients.
   */
  recurrentBackward(dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
    reverse: boolean, fwd: RecurrentForwardResult, dOut: FloatArray | null, dhN: FloatArray | null, dcN: FloatArray | null,
    needs?: RecurrentNeeds, lengths?: Int32Array | null, into?: RecurrentGradTargets | null): RecurrentGrads;
  /**
   * Whether recurrentBackward adds the parameter gradients onto `into` itself for these dims (in
   * its kernel, where they are made); elsewhere the caller's backend adds the returned ones.
   */
  supportsGradTargets?(dims: RecurrentDims, dtype: FloatDType): boolean;
}

/** Fused optimizer steps. */
export interface OptimizerKernels {
  /**
   * One Adam/AdamW update of p in place, with its moments m, v (and, for amsgrad, the running
   * maximum vmax of v); g is the gradient. All arrays have p's length and element type.
   */
  adamStep(p: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray, vmax: FloatArray | null, s: AdamScalars): void;
}

/** Steppers: a layer's weights kept in the backend's memory for running a few steps at a time, and generation. */
export interface GenerationKernels {
  /** Whether this backend's steppers run this kind of cell, these sizes and options, at this element type. */
  supports(dims: RecurrentDims, dtype: FloatDType): boolean;
  /**
   * A snapshot of one forward direction's weights for stepping (dims.T and dims.B are ignored),
   * with an embedding before it and a head after it when `extras` has them.
   */
  recurrentStepper(dims: RecurrentDims, w: RecurrentWeights, extras?: StepperExtras): RecurrentStepper;
}

/**
 * A batch for CTC: log-probabilities (T, N, C) and, for each sample n, its labels
 * targets[offsets[n] .. offsets[n] + targetLengths[n]) (none of them the blank) and its
 * inputLengths[n] <= T valid steps. Every value checked by the caller.
 */
export interface CtcBatch {
  logProbs: FloatArray;
  T: number;
  N: number;
  C: number;
  targets: Int32Array;
  offsets: Int32Array;
  targetLengths: Int32Array;
  inputLengths: Int32Array;
  blank: number;
}

/** Connectionist temporal classification. */
export interface CtcKernels {
  /** Whether these kernels run a batch of this element type. */
  supports(dtype: FloatDType): boolean;
  /**
   * Each sample's negative log-likelihood (Infinity where no alignment exists) and, when `grad`
   * (T, N, C, zeroed, of logProbs' type) is given, the gradient of each sample's own value with
   * respect to its log-probabilities: minus the probability that an alignment emits c at t,
   * for t below the input length; zero elsewhere and for a sample with no alignment.
   */
  ctc(batch: CtcBatch, grad: FloatArray | null): Float64Array;
}

/**
 * The sizes of an attention decoder (AttentionKernels.decoderForward): T steps of N rows, each
 * step's input E wide beside the context, hidden and context H (the keys' width), S keys a row.
 */
export interface AttentionDecoderDims {
  kind: RecurrentKind;
  T: number;
  N: number;
  E: number;
  H: number;
  S: number;
}

/** An attention decoder's weights, as PyTorch lays them out (a bias: null when absent). */
export interface AttentionDecoderWeights {
  /** the cell's (G*H, E + H): its input is [x_t, context_t] */
  wih: FloatArray;
  /** (G*H, H) */
  whh: FloatArray;
  bih: FloatArray | null;
  bhh: FloatArray | null;
  /** the query's projection (H, H), and its bias (H) */
  wa: FloatArray;
  ba: FloatArray | null;
  /** the scores' weights (H) and bias */
  va: FloatArray;
  vb: number;
}

/** What an attention decoder's forward gives (all (T, N, ...) step-major). */
export interface AttentionDecoderResult {
  /** h of every step (T, N, H) */
  out: FloatArray;
  hN: FloatArray;
  /** LSTM only */
  cN: FloatArray | null;
  /** the attention weights of every step (T, N, S) */
  weights: FloatArray;
  /** the context of every step (T, N, H) */
  context: FloatArray;
  cache: RecurrentCache | null;
}

/** An attention decoder's gradients (everything it read that may need one; dkeys and dpk time-major as the keys). */
export interface AttentionDecoderGrads {
  dx: FloatArray;
  dh0: FloatArray;
  dc0: FloatArray | null;
  dkeys: FloatArray;
  dpk: FloatArray;
  dwih: FloatArray;
  dwhh: FloatArray;
  dbih: FloatArray | null;
  dbhh: FloatArray | null;
  dwa: FloatArray;
  dba: FloatArray | null;
  dva: FloatArray;
  dvb: number;
}

/**
 * Additive (Bahdanau) attention's scores for N queries over S keys each, H features:
 * scores[n, s] = sum_h v[h] tanh(q[n, h] + k[n, s, h]).
 */
export interface AttentionKernels {
  /** Whether these kernels run arrays of this element type. */
  supports(dtype: FloatDType): boolean;
  /** q (N, H), k (N, S, H), v (H) -> scores (N, S); with `act` (N, S, H), the tanh values backward reads. */
  additiveScores(q: FloatArray, k: FloatArray, v: FloatArray, N: number, S: number, H: number, scores: FloatArray, act: FloatArray | null): void;
  /**
   * From the tanh values and the scores' gradient g (N, S): dq (N, H), and where given dk (N, S, H)
   * and dv (H), all written (not accumulated).
   */
  additiveScoresBackward(act: FloatArray, v: FloatArray, g: FloatArray, N: number, S: number, H: number,
    dq: FloatArray, dk: FloatArray | null, dv: FloatArray | null): void;
  /**
   * A whole additive-attention step: scores[n, s] = sum_h v[h] tanh(q[n, h] + k[n, s, h]) + bias,
   * -Infinity where mask[n, s] is 1 (every row keeps a key), softmax over s into `weights` (N, S),
   * and `context` (N, H) = sum_s weights[n, s] values[n, s]. q (N, H); k and values (N, S, H).
   */
  additiveAttention(q: FloatArray, k: FloatArray, values: FloatArray, v: FloatArray, bias: number, mask: Int32Array | null,
    N: number, S: number, H: number, weights: FloatArray, context: FloatArray): void;
  /**
   * Its backward from the weights forward wrote and the gradients of the context (N, H) and of the
   * weights (N, S; null for none): dq (N, H), and where given dk and dValues (N, S, H) and dv (H),
   * written (not accumulated). Returns the bias's gradient.
   */
  additiveAttentionBackward(q: FloatArray, k: FloatArray, values: FloatArray, v: FloatArray, weights: FloatArray,
    dContext: FloatArray, dWeights: FloatArray | null, N: number, S: number, H: number,
    dq: FloatArray, dk: FloatArray | null, dValues: FloatArray | null, dv: FloatArray | null): number;
  /**
   * A recurrent decoder with additive attention and input feeding, all T steps: from h_{t-1}
   * (h0 first), q = h_{t-1} wa^T + ba, the attention step of q over the projected keys pk and the
   * keys as `additiveAttention` (values = keys, mask (N, S) as there), then one step of the cell
   * on [x_t, context_t] from h_{t-1} (and c). x (T, N, E); h0, c0 (N, H); keys and pk time-major
   * (S, N, H), as an encoder writes them. The same values as those ops step by step.
   */
  decoderForward(d: AttentionDecoderDims, w: AttentionDecoderWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
    keys: FloatArray, pk: FloatArray, mask: Int32Array | null, keepCache: boolean): AttentionDecoderResult;
  /**
   * Its backward from a forward that kept its cache, given the gradients of out, of the contexts
   * and of the weights (each (T, N, ...) or null) and of the final state. (No mask: a masked
   * key's weight is 0, and so is every gradient through it.)
   */
  decoderBackward(d: AttentionDecoderDims, w: AttentionDecoderWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
    keys: FloatArray, pk: FloatArray, fwd: AttentionDecoderResult,
    dOut: FloatArray | null, dContext: FloatArray | null, dWeights: FloatArray | null, dhN: FloatArray | null, dcN: FloatArray | null): AttentionDecoderGrads;
  /** Whether decoderForward runs these sizes (where not, the reference's loops do). */
  supportsDecoder?(d: AttentionDecoderDims, dtype: FloatDType): boolean;
  /**
   * Attention's batched products (`matmul` over leading dimensions): `batch` contiguous products
   * C_i (M, N) = op(A_i) op(B_i), laid out one after another in a, b and c, each as `gemm` would
   * compute it alone (written, not accumulated).
   */
  gemmBatched(transA: boolean, transB: boolean, batch: number, M: number, N: number, K: number, a: FloatArray, b: FloatArray, c: FloatArray): void;
}

/** The optional extensions a backend may implement; the reference's kernels stand in for the rest. */
export interface BackendExtensions {
  sequence: SequenceKernels;
  optimizer: OptimizerKernels;
  generation: GenerationKernels;
  ctc: CtcKernels;
  attention: AttentionKernels;
}

/**
 * What a backend implements: the core tensor kernels, and whichever extensions it has. Arrays
 * live in JavaScript memory (typed arrays) and every kernel reads and writes them there; a
 * backend keeps what it likes in its own memory between calls (packed weights, caches) behind
 * the handles it returns (RecurrentCache, RecurrentStepper). A backend whose tensors live on a
 * device would add an extension of its own for storage (upload, download, kernels over device
 * buffers) beside these, and take part in the rest through the same calls.
 */
export interface BackendImplementation extends CoreKernels, Partial<BackendExtensions> {}

/**
 * A backend as the library calls it: its core kernels, and every extension's, its own where it
 * has them and supports the call, the reference backend's otherwise (a kind of cell with no fused
 * kernel yet still runs everywhere). Made by `resolveBackend`.
 */
export interface Backend extends CoreKernels {
  recurrentForward: SequenceKernels['recurrentForward'];
  recurrentBackward: SequenceKernels['recurrentBackward'];
  /** Whether recurrentForward and recurrentBackward take row lengths for these dims (see SequenceKernels.supportsLengths). */
  recurrentLengths(dims: RecurrentDims, dtype: FloatDType): boolean;
  adamStep: OptimizerKernels['adamStep'];
  recurrentStepper: GenerationKernels['recurrentStepper'];
  ctc: CtcKernels['ctc'];
  additiveScores: AttentionKernels['additiveScores'];
  additiveScoresBackward: AttentionKernels['additiveScoresBackward'];
  gemmBatched: AttentionKernels['gemmBatched'];
  additiveAttention: AttentionKernels['additiveAttention'];
  additiveAttentionBackward: AttentionKernels['additiveAttentionBackward'];
  decoderForward: AttentionKernels['decoderForward'];
  decoderBackward: AttentionKernels['decoderBackward'];
  /** The extensions this backend runs itself. */
  readonly extensions: readonly (keyof BackendExtensions)[];
}

const dtypeOf = (a: FloatArray): FloatDType => (a instanceof Float64Array ? 'float64' : 'float32');

/**
 * The backend `impl` with `reference`'s extensions standing in for those it lacks or does not
 * support for a call. A backward runs where its forward ran (its cache says which backend). With
 * no reference, `impl` must have every extension (it is the reference).
 */
export function resolveBackend<B extends BackendImplementation>(impl: B, reference: Backend | null): Backend & Omit<B, keyof BackendExtensions> {
  const all = ['sequence', 'optimizer', 'generation', 'ctc', 'attention'] as const;
  const extensions = all.filter((e) => impl[e] !== undefined);
  const fallback = (what: keyof BackendExtensions): Backend => {
    if (!reference) throw new Error(`resolveBackend: '${impl.name}' has no ${what} kernels and no reference backend stands in for them`);
    return reference;
  };
  if (!reference) for (const e of all) if (!impl[e]) fallback(e);
  const { sequence: seq, optimizer: opt, generation: gen, ctc: ctcKernels, attention: att } = impl;
  const { sequence: _s, optimizer: _o, generation: _g, ctc: _c, attention: _a, ...rest } = impl;
  return {
    ...rest,
    extensions,
    recurrentForward: (dims, w, x, h0, c0, reverse, keepCache, lengths) => {
      if (lengths && !(seq?.supportsLengths?.(dims, dtypeOf(x)) ?? false)) throw new Error(`recurrentForward: backend '${impl.name}' takes no row lengths for these dims (ask recurrentLengths first)`);
      return seq && seq.supports(dims, dtypeOf(x))
        ? seq.recurrentForward(dims, w, x, h0, c0, reverse, keepCache, lengths)
        : fallback('sequence').recurrentForward(dims, w, x, h0, c0, reverse, keepCache);
    },
    recurrentBackward: (dims, w, x, h0, c0, reverse, fwd, dOut, dhN, dcN, needs, lengths, into) => {
      const mine = seq !== undefined && fwd.cache?.backend === impl.name;
      if (into && mine && (seq.supportsGradTargets?.(dims, dtypeOf(x)) ?? false)) return seq.recurrentBackward(dims, w, x, h0, c0, reverse, fwd, dOut, dhN, dcN, needs, lengths, into);
      const g = mine ? seq.recurrentBackward(dims, w, x, h0, c0, reverse, fwd, dOut, dhN, dcN, needs, lengths)
        : fallback('sequence').recurrentBackward(dims, w, x, h0, c0, reverse, fwd, dOut, dhN, dcN, needs);
      return into ? addGradTargets(g, into) : g;
    },
    recurrentLengths: (dims, dtype) => !!seq && seq.supports(dims, dtype) && (seq.supportsLengths?.(dims, dtype) ?? false),
    adamStep: (p, g, m, v, vmax, sc) => (opt ? opt.adamStep(p, g, m, v, vmax, sc) : fallback('optimizer').adamStep(p, g, m, v, vmax, sc)),
    recurrentStepper: (dims, w, extras) => (gen && gen.supports(dims, dtypeOf(w.wih))
      ? gen.recurrentStepper(dims, w, extras)
      : fallback('generation').recurrentStepper(dims, w, extras)),
    ctc: (batch, grad) => (ctcKernels && ctcKernels.supports(dtypeOf(batch.logProbs))
      ? ctcKernels.ctc(batch, grad)
      : fallback('ctc').ctc(batch, grad)),
    additiveScores: (q, k, v, N, S, H, scores, act) => (att && att.supports(dtypeOf(q))
      ? att.additiveScores(q, k, v, N, S, H, scores, act)
      : fallback('attention').additiveScores(q, k, v, N, S, H, scores, act)),
    additiveScoresBackward: (act, v, g, N, S, H, dq, dk, dv) => (att && att.supports(dtypeOf(act))
      ? att.additiveScoresBackward(act, v, g, N, S, H, dq, dk, dv)
      : fallback('attention').additiveScoresBackward(act, v, g, N, S, H, dq, dk, dv)),
    gemmBatched: (ta, tb, batch, M, N, K, a, b, c) => (att && att.supports(dtypeOf(a))
      ? att.gemmBatched(ta, tb, batch, M, N, K, a, b, c)
      : fallback('attention').gemmBatched(ta, tb, batch, M, N, K, a, b, c)),
    additiveAttention: (q, k, values, v, bias, mask, N, S, H, weights, context) => (att && att.supports(dtypeOf(q))
      ? att.additiveAttention(q, k, values, v, bias, mask, N, S, H, weights, context)
      : fallback('attention').additiveAttention(q, k, values, v, bias, mask, N, S, H, weights, context)),
    additiveAttentionBackward: (q, k, values, v, weights, dc, dw, N, S, H, dq, dk, dvals, dv) => (att && att.supports(dtypeOf(q))
      ? att.additiveAttentionBackward(q, k, values, v, weights, dc, dw, N, S, H, dq, dk, dvals, dv)
      : fallback('attention').additiveAttentionBackward(q, k, values, v, weights, dc, dw, N, S, H, dq, dk, dvals, dv)),
    decoderForward: (d, w, x, h0, c0, keys, pk, mask, keepCache) => (att && att.supports(dtypeOf(x)) && (att.supportsDecoder?.(d, dtypeOf(x)) ?? true)
      ? att.decoderForward(d, w, x, h0, c0, keys, pk, mask, keepCache)
      : fallback('attention').decoderForward(d, w, x, h0, c0, keys, pk, mask, keepCache)),
    decoderBackward: (d, w, x, h0, c0, keys, pk, fwd, dOut, dContext, dWeights, dhN, dcN) => (att && fwd.cache?.backend === impl.name
      ? att.decoderBackward(d, w, x, h0, c0, keys, pk, fwd, dOut, dContext, dWeights, dhN, dcN)
      : fallback('attention').decoderBackward(d, w, x, h0, c0, keys, pk, fwd, dOut, dContext, dWeights, dhN, dcN)),
  } as Backend & Omit<B, keyof BackendExtensions>;
}

/** Adds a backward's parameter gradients onto `into` (see RecurrentGradTargets); returns them null there. */
function addGradTargets(g: RecurrentGrads, into: RecurrentGradTargets): RecurrentGrads {
  const add = (a: FloatArray | null, b: FloatArray | null): null => {
    if (a && b) for (let i = 0; i < a.length; i++) a[i] = a[i]! + b[i]!;
    return null;
  };
  return { ...g, dwih: add(into.dwih, g.dwih), dwhh: add(into.dwhh, g.dwhh), dbih: add(into.dbih, g.dbih), dbhh: add(into.dbhh, g.dbhh), dwhr: add(into.dwhr, g.dwhr) };
}

/** A stepper's token ids, checked: n int32 values in [0, V). */
export function stepperIds(x: FloatArray | Int32Array, n: number, V: number): Int32Array {
  if (!(x instanceof Int32Array) || x.length < n) throw new Error(`RecurrentStepper.run: ${n} int32 token ids expected (the stepper has an embedding)`);
  for (let i = 0; i < n; i++) {
    const id = x[i]!;
    if (id < 0 || id >= V) throw new Error(`RecurrentStepper.run: token id ${id} is outside the embedding's [0, ${V})`);
  }
  return x;
}

/** Rows ids[0..n) of an embedding table (V, I), gathered into a new array of the table's type. */
export function gatherRows(table: FloatArray, ids: Int32Array, n: number, I: number): FloatArray {
  const out = table instanceof Float64Array ? new Float64Array(n * I) : new Float32Array(n * I);
  for (let r = 0; r < n; r++) out.set(table.subarray(ids[r]! * I, (ids[r]! + 1) * I), r * I);
  return out;
}

/**
 * For a sum of x (xShape) into outShape (same rank): the width n of the trailing row when it sums
 * leading dimensions only (bias gradients: x seen as (x.length / n, n)), else 0.
 */
export function leadingSumWidth(xShape: readonly number[], outShape: readonly number[]): number {
  let lead = 0;
  while (lead < outShape.length && outShape[lead] === 1) lead++;
  for (let d = lead; d < outShape.length; d++) if (outShape[d] !== xShape[d]) return 0;
  return outShape.reduce((a, b) => a * b, 1);
}

const registry = new Map<string, Backend>();
let current: Backend | undefined;

/**
 * Makes a backend available to `setBackend` under its name: a resolved one, or an
 * implementation, whose missing extensions the registered reference backend's stand in for.
 */
export function registerBackend(b: Backend | BackendImplementation): void {
  const resolved = 'extensions' in b ? (b as Backend) : resolveBackend(b, registry.get('reference') ?? null);
  registry.set(resolved.name, resolved);
  if (!current) current = resolved;
}

/** Selects the backend every later operation runs on. */
export function setBackend(name: string): void {
  const b = registry.get(name);
  if (!b) throw new Error(`setBackend: unknown backend '${name}' (available: ${[...registry.keys()].join(', ')})`);
  current = b;
}

/** The backend in use. */
export function getBackend(): Backend {
  if (!current) throw new Error('recurrent: no backend is registered');
  return current;
}

/** The name of the backend in use. */
export function backend(): string {
  return getBackend().name;
}

/** Names of the registered backends. */
export function listBackends(): string[] {
  return [...registry.keys()];
}
