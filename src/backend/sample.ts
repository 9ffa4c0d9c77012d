/**
 * Drawing the next token from logits: the rule `sampleLogits` (src/train/sample.ts) follows and
 * the one every backend's `RecurrentStepper.generate` follows, a uniform number given.
 */

/** How the next token is chosen from logits. */
export interface SampleOptions {
  /** 0: always the most likely token; higher: flatter (default 1). */
  temperature?: number;
  /** Keep the k most likely tokens (default 0: all). */
  topK?: number;
  /** Keep the most likely tokens whose probabilities sum to at least p (default 1). */
  topP?: number;
}

/** SampleOptions with every field given (0 and 1: no top-k, no top-p cut). */
export interface DrawOptions {
  temperature: number;
  topK: number;
  topP: number;
}

/** Throws unless temperature >= 0, topK a whole number >= 0 and topP in (0, 1]. */
export function checkSampleOptions(who: string, temperature: number, topK: number, topP: number): void {
  if (!(temperature >= 0)) throw new Error(`${who}: temperature must be >= 0, got ${temperature}`);
  if (!(Number.isInteger(topK) && topK >= 0)) throw new Error(`${who}: topK must be a whole number >= 0 (0: all tokens), got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`${who}: topP must be in (0, 1], got ${topP}`);
}

/** drawToken's scratch for the weights (grown as needed): it runs once per generated token. */
let weights = new Float64Array(0);

/**
 * The token drawn from logits: with temperature 0 the first largest; else, among the candidates
 * (every token in index order, or, when top-k (k > 0) or top-p (p < 1) cuts, the k most likely
 * and/or the fewest most likely whose probabilities reach p, most likely first), weights
 * w = exp((logit - max) / temperature) and u (uniform in [0, 1)) times their total, less each
 * weight in turn until it is not above 0: that token.
 */
export function drawToken(logits: ArrayLike<number>, temperature: number, topK: number, topP: number, u: number, who = 'sampleLogits'): number {
  const n = logits.length;
  if (n === 0) throw new Error(`${who}: the logits are empty; there is no token to draw`);
  let best = 0;
  for (let i = 0; i < n; i++) {
    const v = logits[i]!;
    // NaN or +Infinity (a model whose weights or state overflowed) has no most likely token
    if (!(v < Infinity)) throw new Error(`${who}: the logits hold ${v} at index ${i} (non-finite weights or state?)`);
    if (v > logits[best]!) best = i;
  }
  if (temperature === 0) return best;
  const m = logits[best]!;
  // only a cut needs the candidates sorted
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
  let r = u * total;
  let last = best;
  for (let j = 0; j < keep; j++) {
    if (w[j]! === 0) continue;
    last = order ? order[j]! : j;
    r -= w[j]!;
    if (r <= 0) return last;
  }
  return last;
}
