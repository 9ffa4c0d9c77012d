/**
 * Choosing the next token from logits: greedy (temperature 0), or sampling with a temperature,
 * keeping only the top k tokens and/or the smallest set whose probability reaches top p.
 */
import type { Generator } from '../tensor/random.js';

export interface SampleOptions {
  /** 0: always the most likely token; higher: flatter (default 1). */
  temperature?: number;
  /** Keep the k most likely tokens (default all). */
  topK?: number;
  /** Keep the most likely tokens whose probabilities sum to at least p (default 1). */
  topP?: number;
}

/** sampleLogits' scratch for the weights (grown as needed): it runs once per generated token. */
let weights = new Float64Array(0);

export function sampleLogits(logits: ArrayLike<number>, options: SampleOptions, rng: Generator): number {
  const { temperature = 1, topK = 0, topP = 1 } = options;
  if (!(temperature >= 0)) throw new Error(`sampleLogits: temperature must be >= 0, got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`sampleLogits: topP must be in (0, 1], got ${topP}`);
  const n = logits.length;
  let best = 0;
  for (let i = 1; i < n; i++) if (logits[i]! > logits[best]!) best = i;
  if (temperature === 0) return best;
  const m = logits[best]!;
  // the candidates: every token in index order, or, when top-k or top-p cuts, the most likely
  // first (only then is a sort needed)
  const cut = (topK > 0 && topK < n) || topP < 1;
  const order = cut ? Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]!) : null;
  let keep = cut && topK > 0 ? Math.min(topK, n) : n;
  if (weights.length < n) weights = new Float64Array(n);
  const w = weights;
  let total = 0;
  for (let j = 0; j < keep; j++) total += w[j] = Math.exp((logits[order ? order[j]! : j]! - m) / temperature);
  if (topP < 1) {
    let acc = 0;
    for (let j = 0; j < keep; j++) {
      acc += w[j]!;
      if (acc >= topP * total) {
        keep = j + 1;
        total = acc;
        break;
      }
    }
  }
  let r = rng.random() * total;
  let last = best;
  for (let j = 0; j < keep; j++) {
    if (w[j]! === 0) continue;
    last = order ? order[j]! : j;
    r -= w[j]!;
    if (r <= 0) return last;
  }
  return last;
}
