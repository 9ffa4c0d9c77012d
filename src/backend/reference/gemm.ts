import type { FloatArray } from '../../tensor/dtype.js';

/**
 * Reference matrix product: C (M, N) (+)= op(A) (M, K) @ op(B) (K, N), with A stored (M, K)
 * or (K, M) when transA, B stored (K, N) or (N, K) when transB. Every sum is taken in double
 * precision and rounded once when stored.
 */
export function gemm(transA: boolean, transB: boolean, M: number, N: number, K: number,
  a: FloatArray, aOff: number, b: FloatArray, bOff: number, c: FloatArray, cOff: number, accumulate: boolean): void {
  if (transB) {
    // rows of A against rows of B: both contiguous along k when A is not transposed
    for (let i = 0; i < M; i++) {
      const crow = cOff + i * N;
      for (let j = 0; j < N; j++) {
        const brow = bOff + j * K;
        let s = 0;
        if (!transA) {
          const arow = aOff + i * K;
          for (let k = 0; k < K; k++) s += a[arow + k]! * b[brow + k]!;
        } else {
          for (let k = 0; k < K; k++) s += a[aOff + k * M + i]! * b[brow + k]!;
        }
        c[crow + j] = accumulate ? c[crow + j]! + s : s;
      }
    }
    return;
  }
  // row of C accumulated over k in a double buffer
  const acc = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    acc.fill(0);
    for (let k = 0; k < K; k++) {
      const aik = transA ? a[aOff + k * M + i]! : a[aOff + i * K + k]!;
      const brow = bOff + k * N;
      for (let j = 0; j < N; j++) acc[j] += aik * b[brow + j]!;
    }
    const crow = cOff + i * N;
    if (accumulate) for (let j = 0; j < N; j++) c[crow + j] = c[crow + j]! + acc[j]!;
    else for (let j = 0; j < N; j++) c[crow + j] = acc[j]!;
  }
}
