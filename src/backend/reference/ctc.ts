import type { FloatArray } from '../../tensor/dtype.js';
import type { CtcBatch } from '../backend.js';

/** log(exp(a) + exp(b)), exact at -Infinity. */
function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/**
 * CTC (Graves et al. 2006) of one sample in log space, the definition itself. The extended
 * label sequence l' puts a blank before, between and after the S labels (L = 2S + 1 states).
 *
 *   alpha_0(0) = lp_0(blank), alpha_0(1) = lp_0(l'_1)
 *   alpha_t(s) = lp_t(l'_s) + logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1), alpha_{t-1}(s-2))
 *     where the s-2 term counts only when l'_s is a label that differs from l'_{s-2}
 *     (a blank is needed between two equal labels)
 *   nll = -logsumexp(alpha_{T-1}(L-1), alpha_{T-1}(L-2))
 *
 * beta runs the same recursion backwards and, as alpha, includes lp_t at its own step, so
 * alpha_t(s) + beta_t(s) - lp_t(l'_s) is the log-probability of every path through state s at
 * step t. The gradient of nll with respect to lp_t(c) is minus the probability that a path
 * emits c at t:
 *
 *   d nll / d lp_t(c) = -sum over s with l'_s = c of exp(alpha_t(s) + beta_t(s) - lp_t(c) + nll)
 *
 * written into grad (T, N, C) for t < the sample's input length, zero after it.
 */
export function ctcSample(b: CtcBatch, n: number, grad: FloatArray | null): number {
  const { logProbs: lp, N, C, targets, offsets, targetLengths, inputLengths, blank } = b;
  const T = inputLengths[n]!;
  const S = targetLengths[n]!;
  const off = offsets[n]!;
  const L = 2 * S + 1;
  const label = (s: number): number => (s & 1 ? targets[off + (s >> 1)]! : blank);
  const at = (t: number, c: number): number => lp[(t * N + n) * C + c]!;
  if (T === 0) return S === 0 ? 0 : Infinity;
  const alpha = new Float64Array(T * L).fill(-Infinity);
  const beta = new Float64Array(T * L).fill(-Infinity);
  alpha[0] = at(0, blank);
  if (L > 1) alpha[1] = at(0, label(1));
  for (let t = 1; t < T; t++) {
    for (let s = 0; s < L; s++) {
      const c = label(s);
      let a = alpha[(t - 1) * L + s]!;
      if (s > 0) a = logAdd(a, alpha[(t - 1) * L + s - 1]!);
      if (s > 1 && c !== blank && c !== label(s - 2)) a = logAdd(a, alpha[(t - 1) * L + s - 2]!);
      alpha[t * L + s] = a === -Infinity ? -Infinity : a + at(t, c);
    }
  }
  const last = (T - 1) * L;
  const logLik = L > 1 ? logAdd(alpha[last + L - 1]!, alpha[last + L - 2]!) : alpha[last]!;
  const nll = -logLik;
  if (!grad) return nll;
  beta[last + L - 1] = at(T - 1, blank);
  if (L > 1) beta[last + L - 2] = at(T - 1, label(L - 2));
  for (let t = T - 2; t >= 0; t--) {
    for (let s = 0; s < L; s++) {
      const c = label(s);
      let v = beta[(t + 1) * L + s]!;
      if (s < L - 1) v = logAdd(v, beta[(t + 1) * L + s + 1]!);
      if (s < L - 2 && c !== blank && c !== label(s + 2)) v = logAdd(v, beta[(t + 1) * L + s + 2]!);
      beta[t * L + s] = v === -Infinity ? -Infinity : v + at(t, c);
    }
  }
  if (logLik === -Infinity) return nll; // no path: the gradient stays zero
  const occupancy = new Float64Array(C);
  for (let t = 0; t < T; t++) {
    occupancy.fill(-Infinity);
    for (let s = 0; s < L; s++) {
      const c = label(s);
      occupancy[c] = logAdd(occupancy[c]!, alpha[t * L + s]! + beta[t * L + s]!);
    }
    const row = (t * N + n) * C;
    for (let c = 0; c < C; c++) {
      const o = occupancy[c]!;
      grad[row + c] = o === -Infinity ? 0 : -Math.exp(o - lp[row + c]! - logLik);
    }
  }
  return nll;
}

/** Every sample of the batch, one after another (see `CtcKernels.ctc`). */
export function ctc(b: CtcBatch, grad: FloatArray | null): Float64Array {
  const nll = new Float64Array(b.N);
  for (let n = 0; n < b.N; n++) nll[n] = ctcSample(b, n, grad);
  return nll;
}
