import { Tensor } from '../tensor/tensor.js';
import { noGrad } from './engine.js';

/** Tolerances of `gradcheck`: an element passes when |analytic - numeric| <= atol + rtol |numeric|. */
export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** Relative tolerance (default 1e-4). */
  rtol?: number;
}

/** What `gradcheck` found. */
export interface GradcheckResult {
  ok: boolean;
  /** The largest |analytic - numeric| over every checked element. */
  maxError: number;
  /** Where the worst disagreement was. */
  worst: { input: number; index: number; analytic: number; numeric: number } | null;
}

/**
 * Compares the gradients autograd computes for `fn` (a scalar function of `inputs`) with
 * central finite differences, one input element at a time. Inputs must be float64 leaves with
 * requiresGrad (float32 is too coarse for finite differences).
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: readonly Tensor[], options: GradcheckOptions = {}): GradcheckResult {
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-6;
  const rtol = options.rtol ?? 1e-4;
  inputs.forEach((t, i) => {
    if (t.dtype !== 'float64') throw new Error(`gradcheck: input ${i} must be float64, got ${t.dtype}`);
    if (!t.requiresGrad || !t.isLeaf) throw new Error(`gradcheck: input ${i} must be a leaf with requiresGrad`);
    t.grad = null;
  });
  const out = fn(...inputs);
  if (out.size !== 1) throw new Error(`gradcheck: fn must return a scalar, got ${out.size} elements`);
  out.backward();
  const analytic = inputs.map((t) => (t.grad ? Float64Array.from(t.grad.data) : new Float64Array(t.size)));
  let maxError = 0;
  let ok = true;
  let worst: GradcheckResult['worst'] = null;
  noGrad(() => {
    inputs.forEach((t, i) => {
      const d = t.data;
      for (let k = 0; k < d.length; k++) {
        const orig = d[k]!;
        // each edit marked, as the storage's contract asks: layers keep prepared copies of weights
        d[k] = orig + eps;
        t.markModified();
        const fp = fn(...inputs).item();
        d[k] = orig - eps;
        t.markModified();
        const fm = fn(...inputs).item();
        d[k] = orig;
        t.markModified();
        const numeric = (fp - fm) / (2 * eps);
        const a = analytic[i]![k]!;
        const err = Math.abs(a - numeric);
        if (err > atol + rtol * Math.abs(numeric) || !Number.isFinite(a)) ok = false;
        if (err > maxError || worst === null) {
          if (err >= maxError) worst = { input: i, index: k, analytic: a, numeric };
          maxError = Math.max(maxError, err);
        }
      }
    });
  });
  return { ok, maxError, worst };
}
