/**
 * Choosing the next token from logits: greedy (temperature 0), or sampling with a temperature,
 * keeping only the top k tokens and/or the smallest set whose probability reaches top p.
 */
import type { Generator } from '../tensor/random.js';
import { drawToken, checkSampleOptions, type SampleOptions } from '../backend/sample.js';

export type { SampleOptions } from '../backend/sample.js';

/** The next token from logits (see SampleOptions), drawing from rng when sampling (temperature > 0). */
export function sampleLogits(logits: ArrayLike<number>, options: SampleOptions, rng: Generator): number {
  const { temperature = 1, topK = 0, topP = 1 } = options;
  checkSampleOptions('sampleLogits', temperature, topK, topP);
  // a draw only when sampling (temperature 0 takes the most likely without one)
  return drawToken(logits, temperature, topK, topP, temperature > 0 ? rng.random() : 0);
}
