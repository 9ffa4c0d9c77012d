import type { FloatArray } from '../../tensor/dtype.js';
import type { AdamScalars } from '../backend.js';

/**
 * One Adam/AdamW update in place, PyTorch's rule: g' = sign g + l2 p; m = b1 m + (1 - b1) g';
 * v = b2 v + (1 - b2) g'^2 (or its running maximum, amsgrad); p = shrink p - stepSize m / (sqrt(v) / sqrt(bc2) + eps).
 * The moments are stored as float32 where the parameter is float32, as PyTorch keeps them.
 */
export function adamStep(p: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray, vmax: FloatArray | null, s: AdamScalars): void {
  const { beta1: b1, beta2: b2, stepSize, eps, sign: sg, l2, shrink } = s;
  const c1 = 1 - b1;
  const c2 = 1 - b2;
  const inv = 1 / s.bc2Sqrt;
  if (!vmax && p instanceof Float32Array && g instanceof Float32Array && m instanceof Float32Array && v instanceof Float32Array) {
    // the common case in one tight, monomorphic pass; the moments are rounded to float32 as
    // PyTorch stores them, without reading them back
    for (let i = 0; i < p.length; i++) {
      const p0 = p[i]!;
      const gi = sg * g[i]! + l2 * p0;
      const mi = Math.fround(b1 * m[i]! + c1 * gi);
      const vi = Math.fround(b2 * v[i]! + c2 * gi * gi);
      m[i] = mi;
      v[i] = vi;
      p[i] = p0 * shrink - stepSize * (mi / (Math.sqrt(vi) * inv + eps));
    }
    return;
  }
  for (let i = 0; i < p.length; i++) {
    const p0 = p[i]!;
    const gi = sg * g[i]! + l2 * p0;
    m[i] = b1 * m[i]! + c1 * gi;
    v[i] = b2 * v[i]! + c2 * gi * gi;
    let vi = v[i]!;
    if (vmax) {
      vmax[i] = Math.max(vmax[i]!, vi);
      vi = vmax[i]!;
    }
    p[i] = p0 * shrink - stepSize * (m[i]! / (Math.sqrt(vi) * inv + eps));
  }
}
