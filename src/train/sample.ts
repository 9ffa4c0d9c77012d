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
  if ((topK <= 0 || topK >= n) && topP === 1) {
    // nothing cut: draw by the cumulative weights in index order, no sort
    if (weights.length < n) weights = new Float64Array(n);
    const w = weights;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += w[i] = Math.exp((logits[i]! - m) / temperature);
    let r = rng.random() * sum;
    let last = best;
    for (let i = 0; i < n; i++) {
      if (w[i]! === 0) continue;
      last = i;
      r -= w[i]!;
      if (r <= 0) return i;
    }
    return last;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]!);
  const keepK = topK > 0 ? Math.min(topK, n) : n;
  const p = order.slice(0, keepK).map((i) => Math.exp((logits[i]! - m) / temperature));
  const total = p.reduce((a, b) => a + b, 0);
  let keep = p.length;
  if (topP < 1) {
    let acc = 0;
    for (let j = 0; j < p.length; j++) {
      acc += p[j]! / total;
      if (acc >= topP) {
        keep = j + 1;
        break;
      }
    }
  }
  const kept = p.slice(0, keep);
  const sum = kept.reduce((a, b) => a + b, 0);
  let r = rng.random() * sum;
  for (let j = 0; j < kept.length; j++) {
    r -= kept[j]!;
    if (r <= 0) return order[j]!;
  }
  return order[kept.length - 1]!;
}
