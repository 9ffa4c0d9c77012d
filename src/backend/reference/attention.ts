/**
 * Additive (Bahdanau) attention's scores, plain loops (the specification of the fast kernels):
 * scores[n, s] = sum_h v[h] tanh(q[n, h] + k[n, s, h]), sums in float64.
 */
import type { FloatArray } from '../../tensor/dtype.js';

/** See AttentionKernels.additiveScores. */
export function additiveScores(q: FloatArray, k: FloatArray, v: FloatArray, N: number, S: number, H: number, scores: FloatArray, act: FloatArray | null): void {
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < S; s++) {
      const r = (n * S + s) * H;
      let sum = 0;
      for (let h = 0; h < H; h++) {
        const a = Math.tanh(q[n * H + h]! + k[r + h]!);
        if (act) act[r + h] = a;
        sum += v[h]! * a;
      }
      scores[n * S + s] = sum;
    }
  }
}

/** See AttentionKernels.additiveScoresBackward: d = g[n, s] v (1 - a^2) is dk's element; dq sums it over s, dv sums g a. */
export function additiveScoresBackward(act: FloatArray, v: FloatArray, g: FloatArray, N: number, S: number, H: number,
  dq: FloatArray, dk: FloatArray | null, dv: FloatArray | null): void {
  const dvSum = dv ? new Float64Array(H) : null;
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < H; h++) {
      let sum = 0;
      for (let s = 0; s < S; s++) {
        const r = (n * S + s) * H + h;
        const a = act[r]!;
        const gs = g[n * S + s]!;
        const d = gs * v[h]! * (1 - a * a);
        if (dk) dk[r] = d;
        sum += d;
        if (dvSum) dvSum[h] += gs * a;
      }
      dq[n * H + h] = sum;
    }
  }
  if (dv && dvSum) dv.set(dvSum);
}
