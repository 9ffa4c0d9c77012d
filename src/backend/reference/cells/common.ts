/**
 * What the reference kernels of the cells beyond PyTorch's own share: the input projection of a
 * whole sequence, the state each step read, and the parameters' gradients summed over steps.
 *
 * Legend: T steps, B batch, I input features, H hidden size, G gate blocks, GH = G * H.
 * Position t of a sequence is read at processing step s = t (forward) or T - 1 - t (reverse).
 */
import { allocLike, type FloatArray } from '../../../tensor/dtype.js';
import { gemm as referenceGemm } from '../gemm.js';
import type { Backend } from '../../backend.js';

/** A backend's matrix product: the reference one, or a faster backend's running these same kernels. */
export type Gemm = Backend['gemm'];

export { sigmoid } from '../elementwise.js';

/** x (T*B, I) @ wih^T (+ bih on every row): (T*B, GH). */
export function inputProjection(x: FloatArray, wih: FloatArray, bih: FloatArray | null, rows: number, GH: number, I: number, gemm: Gemm = referenceGemm): FloatArray {
  const a = allocLike(x, rows * GH);
  gemm(false, true, rows, GH, I, x, 0, wih, 0, a, 0, false);
  if (bih) for (let r = 0; r < rows; r++) for (let j = 0; j < GH; j++) a[r * GH + j] = a[r * GH + j]! + bih[j]!;
  return a;
}

/** The position read at processing step s. */
export const positionAt = (s: number, T: number, reverse: boolean): number => (reverse ? T - 1 - s : s);

/** The state (B, W) every position read, in position order: h0 for the first processed, else the output before it. */
export function statesRead(out: FloatArray, h0: FloatArray, T: number, B: number, W: number, reverse: boolean): FloatArray {
  const all = allocLike(out, T * B * W);
  for (let t = 0; t < T; t++) {
    const first = reverse ? t === T - 1 : t === 0;
    const src = (reverse ? t + 1 : t - 1) * B * W;
    all.set(first ? h0.subarray(0, B * W) : out.subarray(src, src + B * W), t * B * W);
  }
  return all;
}

/** Column sums of src (rows, n), in double precision: a bias's gradient. */
export function columnSums(src: FloatArray, rows: number, n: number): FloatArray {
  const acc = new Float64Array(n);
  for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) acc[j] += src[r * n + j]!;
  const out = allocLike(src, n);
  out.set(acc);
  return out;
}

/** dx = dA (T*B, GH) @ wih, and dwih = dA^T @ x: the input projection's gradients. */
export function inputProjectionGrads(dA: FloatArray, x: FloatArray, wih: FloatArray, rows: number, GH: number, I: number, input: boolean, params: boolean,
  gemm: Gemm = referenceGemm): { dx: FloatArray | null; dwih: FloatArray | null } {
  let dx: FloatArray | null = null;
  let dwih: FloatArray | null = null;
  if (input) {
    dx = allocLike(x, rows * I);
    gemm(false, false, rows, I, GH, dA, 0, wih, 0, dx, 0, false);
  }
  if (params) {
    dwih = allocLike(x, GH * I);
    gemm(true, false, GH, I, rows, dA, 0, x, 0, dwih, 0, false);
  }
  return { dx, dwih };
}

/** A double-precision sum as an array of `like`'s type. */
export function rounded(acc: Float64Array, like: FloatArray): FloatArray {
  const out = allocLike(like, acc.length);
  out.set(acc);
  return out;
}
