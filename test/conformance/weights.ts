/** Random weights of every role a kind of cell's rule has, for the conformance tests. */
import { cellRule, paramSpecs, type RecurrentKind, type RecurrentWeights } from 'recurrent/internal';

/** One direction's weights of `kind` (I inputs, H hidden, P projection), each value from rnd; layer norms' gains near 1. */
export function randomWeights(kind: RecurrentKind, I: number, H: number, P: number, bias: boolean, rnd: (n: number) => Float32Array): RecurrentWeights {
  const rule = cellRule(kind);
  const w: RecurrentWeights = { wih: rnd(1), whh: null, bih: null, bhh: null, whr: null };
  const extra: Record<string, Float32Array> = {};
  for (const spec of paramSpecs(kind, bias, P > 0)) {
    const n = spec.shape({ G: rule.gates.length, H, I, Hout: P || H, P }).reduce((a, b) => a * b, 1);
    // layer norms' gains near 1, as a trained model's
    const v = spec.init === 'ones' ? rnd(n).map((u) => 1 + 0.2 * u) : rnd(n);
    if (['wih', 'whh', 'bih', 'bhh', 'whr'].includes(spec.role)) (w as unknown as Record<string, Float32Array>)[spec.role] = v;
    else extra[spec.role] = v;
  }
  return Object.keys(extra).length ? { ...w, extra } : w;
}

