import { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { checkReduction, type Reduction } from '../autograd/index.js';
import { ctcLossOp } from '../autograd/ops/ctc.js';
import { checkKnown, bool, nonNegativeInt, positiveInt, finiteNumber } from './options.js';

/** Sequence lengths: one whole number per sample, as an array or an int32 tensor (N). */
export type Lengths = readonly number[] | Int32Array | Tensor;

/** Options of `ctcLoss`. */
export interface CtcLossOptions {
  /** The blank's class index (default 0). */
  blank?: number;
  /** 'mean' (default: each sample's loss over its target length, at least 1, then the batch mean), 'sum' or 'none' (N). */
  reduction?: Reduction;
  /** An impossible alignment's Infinity (and its gradient) become 0 (default false). */
  zeroInfinity?: boolean;
}

/** The lengths as an Int32Array of N values, each checked to lie in [0, max]. */
function lengthsOf(v: Lengths, N: number, max: number, name: string, who: string, maxWhat: string): Int32Array {
  let values: ArrayLike<number>;
  if (v instanceof Tensor) {
    if (v.dtype === 'float32' || v.dtype === 'float64') throw new Error(`${who}: ${name} must hold whole numbers (int32 tensor or an array), got a ${v.dtype} tensor`);
    if (v.ndim !== 1) throw new Error(`${who}: ${name} must be 1-D (N) = [${N}], got shape ${formatShape(v.shape)}`);
    values = v.data;
  } else if (Array.isArray(v) || v instanceof Int32Array) values = v;
  else throw new Error(`${who}: ${name} must be an array of whole numbers or an int32 tensor, got ${typeof v}`);
  if (values.length !== N) throw new Error(`${who}: ${name} must have one length per sample (${N}), got ${values.length}`);
  const out = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    const x = values[n]!;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > max) {
      throw new Error(`${who}: ${name}[${n}] must be a whole number in [0, ${max}] (${maxWhat}), got ${String(x)}`);
    }
    out[n] = x;
  }
  return out;
}

/**
 * Connectionist temporal classification loss, with PyTorch's `F.ctc_loss` semantics.
 *
 * - `logProbs` (T, N, C): log-probabilities over C classes (log-softmaxed) at each of T steps;
 * - `targets`: int32, either (N, S) padded (row n's first `targetLengths[n]` labels count) or
 *   1-D, every sample's labels one after another; no counted label may be the blank;
 * - `inputLengths` (N): each sample's valid steps, in [0, T]; `targetLengths` (N).
 *
 * An impossible alignment (too few steps for the labels and the blanks that repeats need)
 * gives Infinity, or 0 with a zero gradient under `zeroInfinity`. An empty target is the
 * all-blank path. The gradient is the true one with respect to `logProbs` (minus each
 * class's alignment probability at each step); through a log-softmax it equals PyTorch's.
 */
export function ctcLoss(logProbs: Tensor, targets: Tensor, inputLengths: Lengths, targetLengths: Lengths, options: CtcLossOptions = {}): Tensor {
  const who = 'ctcLoss';
  checkKnown(options, ['blank', 'reduction', 'zeroInfinity'], who);
  if (!(logProbs instanceof Tensor)) throw new Error(`${who}: logProbs must be a Tensor (T, N, C)`);
  if (!(targets instanceof Tensor)) throw new Error(`${who}: targets must be an int32 Tensor (N, S) or 1-D`);
  if (logProbs.dtype !== 'float32' && logProbs.dtype !== 'float64') throw new Error(`${who}: logProbs must be a floating-point tensor, got ${logProbs.dtype}`);
  if (logProbs.ndim !== 3) throw new Error(`${who}: logProbs must be (T, N, C), got shape ${formatShape(logProbs.shape)}`);
  const [T, N, C] = logProbs.shape as [number, number, number];
  if (N < 1 || C < 1) throw new Error(`${who}: logProbs must have at least one sample and one class, got shape ${formatShape(logProbs.shape)}`);
  const blank = nonNegativeInt(options.blank, 'blank', who, 0);
  if (blank >= C) throw new Error(`${who}: blank must be a class index in [0, ${C}), got ${blank}`);
  const reduction = checkReduction(options.reduction ?? 'mean', who);
  const zeroInfinity = bool(options.zeroInfinity, 'zeroInfinity', who, false);
  if (targets.dtype !== 'int32') throw new Error(`${who}: targets must be an int32 tensor (tensor(new Int32Array(...), shape)), got ${targets.dtype}`);
  const il = lengthsOf(inputLengths, N, T, 'inputLengths', who, 'T, the steps of logProbs');
  let tl: Int32Array;
  const offsets = new Int32Array(N);
  if (targets.ndim === 2) {
    if (targets.shape[0] !== N) throw new Error(`${who}: targets (N, S) must have N = ${N} rows to match logProbs ${formatShape(logProbs.shape)}, got ${formatShape(targets.shape)}`);
    const S = targets.shape[1]!;
    tl = lengthsOf(targetLengths, N, S, 'targetLengths', who, 'S, the columns of targets');
    for (let n = 0; n < N; n++) offsets[n] = n * S;
  } else if (targets.ndim === 1) {
    tl = lengthsOf(targetLengths, N, targets.size, 'targetLengths', who, 'the labels in targets');
    let total = 0;
    for (let n = 0; n < N; n++) {
      offsets[n] = total;
      total += tl[n]!;
    }
    if (total !== targets.size) throw new Error(`${who}: 1-D targets must hold every sample's labels one after another: targetLengths sum to ${total}, targets has ${targets.size}`);
  } else throw new Error(`${who}: targets must be (N, S) padded or 1-D, got shape ${formatShape(targets.shape)}`);
  const td = targets.data as Int32Array;
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < tl[n]!; k++) {
      const c = td[offsets[n]! + k]!;
      if (c < 0 || c >= C) throw new Error(`${who}: targets of sample ${n} hold ${c} at position ${k}, outside the ${C} classes`);
      if (c === blank) throw new Error(`${who}: targets of sample ${n} hold the blank (${blank}) at position ${k}; labels must not be the blank`);
    }
  }
  return ctcLossOp(logProbs, { targets: td, offsets, targetLengths: tl, inputLengths: il, blank, reduction, zeroInfinity }, who);
}

/** (T, N, C) log-probabilities or scores as data, with each sample's length checked. */
function decodeInput(scores: Tensor, inputLengths: Lengths | undefined, who: string): { T: number; N: number; C: number; d: ArrayLike<number>; il: Int32Array } {
  if (!(scores instanceof Tensor) || (scores.dtype !== 'float32' && scores.dtype !== 'float64')) throw new Error(`${who}: logProbs must be a floating-point Tensor (T, N, C)`);
  if (scores.ndim !== 3) throw new Error(`${who}: logProbs must be (T, N, C), got shape ${formatShape(scores.shape)}`);
  const [T, N, C] = scores.shape as [number, number, number];
  const il = inputLengths === undefined ? new Int32Array(N).fill(T) : lengthsOf(inputLengths, N, T, 'inputLengths', who, 'T, the steps of logProbs');
  return { T, N, C, d: scores.data, il };
}

/** Options of `ctcGreedyDecode`. */
export interface CtcDecodeOptions {
  /** The blank's class index (default 0). */
  blank?: number;
}

/**
 * Best-path decoding: the most likely class at each step, repeats merged, blanks removed.
 * Returns each sample's token ids. `inputLengths` defaults to T for every sample.
 */
export function ctcGreedyDecode(logProbs: Tensor, inputLengths?: Lengths, options: CtcDecodeOptions = {}): number[][] {
  const who = 'ctcGreedyDecode';
  checkKnown(options, ['blank'], who);
  const { N, C, d, il } = decodeInput(logProbs, inputLengths, who);
  const blank = nonNegativeInt(options.blank, 'blank', who, 0);
  if (blank >= C) throw new Error(`${who}: blank must be a class index in [0, ${C}), got ${blank}`);
  const out: number[][] = [];
  for (let n = 0; n < N; n++) {
    const ids: number[] = [];
    let prev = -1;
    for (let t = 0; t < il[n]!; t++) {
      const row = (t * N + n) * C;
      let best = 0;
      for (let c = 1; c < C; c++) if (d[row + c]! > d[row + best]!) best = c;
      if (best !== blank && best !== prev) ids.push(best);
      prev = best;
    }
    out.push(ids);
  }
  return out;
}

/** Options of `ctcBeamSearch`. */
export interface CtcBeamOptions {
  /** The blank's class index (default 0). */
  blank?: number;
  /** Prefixes kept at each step (default 10, at most 1,000). */
  beamWidth?: number;
  /**
   * Each class's prior probability (C values, the blank's ignored): the search scores
   * log p(c | x) - priorWeight * log prior(c), turning a posterior into a scaled likelihood
   * (for a label set whose training frequencies differ from those expected at decoding).
   */
  prior?: ArrayLike<number>;
  /** The prior's exponent (default 1). */
  priorWeight?: number;
}

/** One result of `ctcBeamSearch`: the token ids and the log-probability of every alignment of them. */
export interface CtcHypothesis {
  tokens: number[];
  logProb: number;
}

const logAdd = (a: number, b: number): number => {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
};

/**
 * Prefix beam search (Hannun et al. 2014): every prefix keeps the probability of its
 * alignments that end in a blank and of those that end in its last label, so the alignments
 * of one label sequence are summed, not competing. Returns each sample's most likely token
 * ids (`ctcBeamHypotheses` gives every kept prefix with its score).
 */
export function ctcBeamSearch(logProbs: Tensor, inputLengths?: Lengths, options: CtcBeamOptions = {}): number[][] {
  return beamSearch(logProbs, inputLengths, options, 'ctcBeamSearch').map((h) => h[0]!.tokens);
}

/** `ctcBeamSearch`'s kept prefixes for each sample, best first (up to `beamWidth`), with their log-probabilities. */
export function ctcBeamHypotheses(logProbs: Tensor, inputLengths?: Lengths, options: CtcBeamOptions = {}): CtcHypothesis[][] {
  return beamSearch(logProbs, inputLengths, options, 'ctcBeamHypotheses');
}

function beamSearch(logProbs: Tensor, inputLengths: Lengths | undefined, options: CtcBeamOptions, who: string): CtcHypothesis[][] {
  checkKnown(options, ['blank', 'beamWidth', 'prior', 'priorWeight'], who);
  const { N, C, d, il } = decodeInput(logProbs, inputLengths, who);
  const blank = nonNegativeInt(options.blank, 'blank', who, 0);
  if (blank >= C) throw new Error(`${who}: blank must be a class index in [0, ${C}), got ${blank}`);
  const width = options.beamWidth === undefined ? 10 : positiveInt(options.beamWidth, 'beamWidth', who);
  if (width > 1000) throw new Error(`${who}: beamWidth must be in [1, 1000], got ${width}`);
  const priorWeight = finiteNumber(options.priorWeight, 'priorWeight', who, 1);
  let bias: Float64Array | null = null;
  if (options.prior !== undefined) {
    const p = options.prior;
    if (p === null || typeof p !== 'object' || p.length !== C) throw new Error(`${who}: prior must hold one probability per class (${C}), got ${p === null || typeof p !== 'object' ? String(p) : `${p.length} values`}`);
    bias = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      if (c === blank) continue;
      const v = p[c]!;
      if (!(typeof v === 'number' && v > 0 && v <= 1)) throw new Error(`${who}: prior[${c}] must be a probability in (0, 1], got ${String(v)}`);
      bias[c] = -priorWeight * Math.log(v);
    }
  }
  interface Beam { tokens: number[]; pb: number; pnb: number }
  const results: CtcHypothesis[][] = [];
  for (let n = 0; n < N; n++) {
    let beams = new Map<string, Beam>([['', { tokens: [], pb: 0, pnb: -Infinity }]]);
    for (let t = 0; t < il[n]!; t++) {
      const row = (t * N + n) * C;
      const next = new Map<string, Beam>();
      const entry = (tokens: number[], key: string): Beam => {
        let b = next.get(key);
        if (!b) next.set(key, (b = { tokens, pb: -Infinity, pnb: -Infinity }));
        return b;
      };
      for (const [key, b] of beams) {
        const total = logAdd(b.pb, b.pnb);
        const stay = entry(b.tokens, key);
        stay.pb = logAdd(stay.pb, total + d[row + blank]!);
        const last = b.tokens.length ? b.tokens[b.tokens.length - 1]! : -1;
        for (let c = 0; c < C; c++) {
          if (c === blank) continue;
          const lp = d[row + c]! + (bias ? bias[c]! : 0);
          if (c === last) {
            // the same label again: repeats merge unless a blank came between
            stay.pnb = logAdd(stay.pnb, b.pnb + lp);
            const ext = entry([...b.tokens, c], `${key},${c}`);
            ext.pnb = logAdd(ext.pnb, b.pb + lp);
          } else {
            const ext = entry([...b.tokens, c], `${key},${c}`);
            ext.pnb = logAdd(ext.pnb, total + lp);
          }
        }
      }
      const kept = [...next.entries()].sort((x, y) => logAdd(y[1].pb, y[1].pnb) - logAdd(x[1].pb, x[1].pnb)).slice(0, width);
      beams = new Map(kept);
    }
    results.push([...beams.values()]
      .map((b) => ({ tokens: b.tokens, logProb: logAdd(b.pb, b.pnb) }))
      .sort((x, y) => y.logProb - x.logProb));
  }
  return results;
}
