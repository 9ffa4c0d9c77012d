/**
 * Additive (Bahdanau) attention's scores, plain loops (the specification of the fast kernels):
 * scores[n, s] = sum_h v[h] tanh(q[n, h] + k[n, s, h]), sums in float64.
 */
import type { FloatArray } from '../../tensor/dtype.js';
import { gemm } from './gemm.js';

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

/** See AttentionKernels.gemmBatched: one gemm a product. */
export function gemmBatched(transA: boolean, transB: boolean, batch: number, M: number, N: number, K: number, a: FloatArray, b: FloatArray, c: FloatArray): void {
  for (let i = 0; i < batch; i++) gemm(transA, transB, M, N, K, a, i * M * K, b, i * K * N, c, i * M * N, false);
}

/** See AttentionKernels.additiveAttention: sums in float64, the softmax as the reference's. */
export function additiveAttention(q: FloatArray, k: FloatArray, values: FloatArray, v: FloatArray, bias: number, mask: Int32Array | null,
  N: number, S: number, H: number, weights: FloatArray, context: FloatArray): void {
  const scores = new Float64Array(S);
  for (let n = 0; n < N; n++) {
    let m = -Infinity;
    for (let s = 0; s < S; s++) {
      if (mask && mask[n * S + s] !== 0) {
        scores[s] = -Infinity;
        continue;
      }
      let sum = 0;
      for (let h = 0; h < H; h++) sum += v[h]! * Math.tanh(q[n * H + h]! + k[(n * S + s) * H + h]!);
      // the score as float32 or float64 arrays hold it, then the bias added in that precision
      scores[s] = roundAs(weights, roundAs(weights, sum) + bias);
      m = Math.max(m, scores[s]!);
    }
    let total = 0;
    for (let s = 0; s < S; s++) {
      scores[s] = scores[s] === -Infinity ? 0 : Math.exp(scores[s]! - m);
      total += scores[s]!;
    }
    for (let s = 0; s < S; s++) weights[n * S + s] = scores[s]! / total;
    for (let h = 0; h < H; h++) {
      let sum = 0;
      for (let s = 0; s < S; s++) sum += weights[n * S + s]! * values[(n * S + s) * H + h]!;
      context[n * H + h] = sum;
    }
  }
}

/** See AttentionKernels.additiveAttentionBackward. */
export function additiveAttentionBackward(q: FloatArray, k: FloatArray, values: FloatArray, v: FloatArray, weights: FloatArray,
  dContext: FloatArray, dWeights: FloatArray | null, N: number, S: number, H: number,
  dq: FloatArray, dk: FloatArray | null, dValues: FloatArray | null, dv: FloatArray | null): number {
  const dvSum = dv ? new Float64Array(H) : null;
  const ds = new Float64Array(S);
  let dBias = 0;
  for (let n = 0; n < N; n++) {
    let dot = 0;
    for (let s = 0; s < S; s++) {
      let g = dWeights ? dWeights[n * S + s]! : 0;
      for (let h = 0; h < H; h++) g += dContext[n * H + h]! * values[(n * S + s) * H + h]!;
      ds[s] = g;
      dot += weights[n * S + s]! * g;
    }
    for (let s = 0; s < S; s++) {
      ds[s] = weights[n * S + s]! * (ds[s]! - dot);
      dBias += ds[s]!;
    }
    for (let h = 0; h < H; h++) {
      let sum = 0;
      for (let s = 0; s < S; s++) {
        const r = (n * S + s) * H + h;
        if (dValues) dValues[r] = weights[n * S + s]! * dContext[n * H + h]!;
        const a = Math.tanh(q[n * H + h]! + k[r]!);
        const d = ds[s]! * v[h]! * (1 - a * a);
        if (dk) dk[r] = d;
        sum += d;
        if (dvSum) dvSum[h] += ds[s]! * a;
      }
      dq[n * H + h] = sum;
    }
  }
  if (dv && dvSum) dv.set(dvSum);
  return dBias;
}

/** x rounded as the array's element type holds it. */
function roundAs(a: FloatArray, x: number): number {
  return a instanceof Float32Array ? Math.fround(x) : x;
}
