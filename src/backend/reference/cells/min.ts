/**
 * minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): the gates and the candidate
 * read x_t only, so a whole sequence is one input product and an elementwise scan, with no
 * recurrent product. Rows of W_ih: [candidate k; gate] (minGRU) or [k; forget; input] (minLSTM).
 *
 *   minGRU:  [k, zp] = W_ih x + b_ih,  z = sigmoid(zp),  h' = (1 - z) h + z g(k)
 *   minLSTM: [k, fp, ip] = W_ih x + b_ih,  f = sigmoid(fp),  i = sigmoid(ip),
 *            h' = f / (f + i) h + i / (f + i) g(k)
 *   g(k) = k + 0.5 for k >= 0, sigmoid(k) below (positive, as the paper's log-space scan needs)
 *
 * Backward through one step, from dh' (the output's gradient plus the next step's):
 *   minGRU:  dzp = dh' (g - h) z (1 - z),  dk = dh' z g'(k),  dh = dh' (1 - z)
 *   minLSTM: with S = f + i:  df = (dh' h - dh' g) i / S^2,  di = (dh' g - dh' h) f / S^2,
 *            dfp = df f (1 - f),  dip = di i (1 - i),  dk = dh' i / S g'(k),  dh = dh' f / S
 *   g'(k) = 1 for k >= 0, g (1 - g) below; g >= 0.5 exactly when k >= 0, so the stored g tells.
 *
 * Legend: T steps, B batch, I input, H hidden, G = 2 (minGRU) or 3 (minLSTM).
 *
 * The only products are the input projection and its gradients: a backend with a faster matrix
 * product runs these same kernels over it (makeMinKernels), the rest being a scan.
 */
import { allocLike, type FloatArray } from '../../../tensor/dtype.js';
import type { RecurrentCache, RecurrentDims, RecurrentForwardResult, RecurrentGrads, RecurrentNeeds, RecurrentWeights } from '../../backend.js';
import { inputProjection, positionAt, columnSums, inputProjectionGrads, sigmoid, type Gemm } from './common.js';
import { gemm as referenceGemm } from '../gemm.js';

interface MinCache extends RecurrentCache {
  /** (T, B, G*H): g(k), then the activated gate(s) z (minGRU) or f, i (minLSTM) */
  gates: FloatArray;
}

/** g(k) of the paper's log-space form. */
const candidate = (k: number): number => (k >= 0 ? k + 0.5 : sigmoid(k));
/** g'(k) from g(k). */
const candidateSlope = (g: number): number => (g >= 0.5 ? 1 : g * (1 - g));

/** minGRU's and minLSTM's sequence kernels over a backend's matrix product; caches are labelled `backend`. */
export function makeMinKernels(gemm: Gemm, backend: string): { forward: MinForward; backward: MinBackward } {
    function forward(dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, _c0: FloatArray | null,
    reverse: boolean, keepCache: boolean): RecurrentForwardResult {
    const { T, B, I, H } = dims;
    const lstm = dims.kind === 'minlstm';
    const GH = (lstm ? 3 : 2) * H;
    const BH = B * H;
    const gates = inputProjection(x, w.wih, w.bih, T * B, GH, I, gemm); // activated in place
    const out = allocLike(x, T * BH);
    let hArr: FloatArray = h0, hOff = 0;
    for (let s = 0; s < T; s++) {
      const t = positionAt(s, T, reverse);
      for (let b = 0; b < B; b++) {
        const row = (t * B + b) * GH;
        for (let j = 0; j < H; j++) {
          const k = b * H + j;
          const g = candidate(gates[row + j]!);
          const hp = hArr[hOff + k]!;
          gates[row + j] = g;
          if (lstm) {
            const f = sigmoid(gates[row + H + j]!);
            const i = sigmoid(gates[row + 2 * H + j]!);
            gates[row + H + j] = f;
            gates[row + 2 * H + j] = i;
            out[t * BH + k] = (f * hp + i * g) / (f + i);
          } else {
            const z = sigmoid(gates[row + H + j]!);
            gates[row + H + j] = z;
            out[t * BH + k] = hp + z * (g - hp);
          }
        }
      }
      hArr = out;
      hOff = t * BH;
    }
    const hN = out.slice(hOff, hOff + BH);
    const cache: MinCache | null = keepCache ? { backend, gates } : null;
    return { out, hN, cN: null, cache };
  }

    function backward(dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, _c0: FloatArray | null,
    reverse: boolean, fwd: RecurrentForwardResult, dOut: FloatArray | null, dhN: FloatArray | null, _dcN: FloatArray | null,
    needs: RecurrentNeeds): RecurrentGrads {
    const cache = fwd.cache as MinCache | null;
    if (!cache || cache.backend !== backend) throw new Error(`recurrentBackward: the forward pass kept no ${backend} cache`);
    const { T, B, I, H } = dims;
    const lstm = dims.kind === 'minlstm';
    const GH = (lstm ? 3 : 2) * H;
    const BH = B * H;
    const { gates } = cache;
    const out = fwd.out;
    const dA = allocLike(x, T * B * GH);
    const dh = allocLike(x, BH);
    if (dhN) dh.set(dhN);
    for (let s = T - 1; s >= 0; s--) {
      const t = positionAt(s, T, reverse);
      const tp = reverse ? t + 1 : t - 1;
      const hPrev = s > 0 ? out : h0;
      const hpOff = s > 0 ? tp * BH : 0;
      if (dOut) for (let k = 0; k < BH; k++) dh[k] = dh[k]! + dOut[t * BH + k]!;
      for (let b = 0; b < B; b++) {
        const row = (t * B + b) * GH;
        for (let j = 0; j < H; j++) {
          const k = b * H + j;
          const g = gates[row + j]!;
          const hp = hPrev[hpOff + k]!;
          const d = dh[k]!;
          if (lstm) {
            const f = gates[row + H + j]!, i = gates[row + 2 * H + j]!;
            const S = f + i;
            dA[row + j] = ((d * i) / S) * candidateSlope(g);
            dA[row + H + j] = (((d * hp - d * g) * i) / (S * S)) * f * (1 - f);
            dA[row + 2 * H + j] = (((d * g - d * hp) * f) / (S * S)) * i * (1 - i);
            dh[k] = (d * f) / S;
          } else {
            const z = gates[row + H + j]!;
            dA[row + j] = d * z * candidateSlope(g);
            dA[row + H + j] = d * (g - hp) * z * (1 - z);
            dh[k] = d * (1 - z);
          }
        }
      }
    }
    const TB = T * B;
    const { dx, dwih } = inputProjectionGrads(dA, x, w.wih, TB, GH, I, needs.input, needs.params, gemm);
    if (!needs.params) return { dx, dh0: dh, dc0: null, dwih: null, dwhh: null, dbih: null, dbhh: null, dwhr: null, dextra: null };
    return { dx, dh0: dh, dc0: null, dwih, dwhh: null, dbih: w.bih ? columnSums(dA, TB, GH) : null, dbhh: null, dwhr: null, dextra: null };
  }
  return { forward, backward };
}

type MinForward = (dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null, reverse: boolean, keepCache: boolean) => RecurrentForwardResult;
type MinBackward = (dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null, reverse: boolean,
  fwd: RecurrentForwardResult, dOut: FloatArray | null, dhN: FloatArray | null, dcN: FloatArray | null, needs: RecurrentNeeds) => RecurrentGrads;

/** The reference kernels. */
export const { forward: minForward, backward: minBackward } = makeMinKernels(referenceGemm, 'reference');
