import type { Tensor } from '../tensor/tensor.js';

/** Options of `clipGradNorm`. */
export interface ClipGradNormOptions {
  /** 2 (default), any p >= 1, or Infinity for the largest absolute value. */
  normType?: number;
  /** Throw when the total norm is NaN or infinite (default false, like PyTorch). */
  errorIfNonfinite?: boolean;
}

/**
 * Scales all gradients together so their total norm is at most `maxNorm`
 * (coefficient maxNorm / (norm + 1e-6), as PyTorch). Returns the total norm before clipping.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, options: ClipGradNormOptions = {}): number {
  const who = 'clipGradNorm';
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) throw new Error(`${who}: maxNorm must be a non-negative number, got ${String(maxNorm)}`);
  const p = options.normType ?? 2;
  if (typeof p !== 'number' || !(p >= 1)) throw new Error(`${who}: normType must be >= 1 or Infinity, got ${String(p)}`);
  const grads = [...params].map((t) => t.grad).filter((g): g is Tensor => g !== null);
  let total = 0;
  if (p === Infinity) {
    for (const g of grads) {
      const d = g.data;
      for (let i = 0; i < d.length; i++) total = Math.max(total, Math.abs(d[i]!));
    }
  } else {
    let acc = 0;
    for (const g of grads) {
      const d = g.data;
      // the square as a product: Math.pow per element costs several times more
      if (p === 2) for (let i = 0; i < d.length; i++) acc += d[i]! * d[i]!;
      else for (let i = 0; i < d.length; i++) acc += Math.pow(Math.abs(d[i]!), p);
    }
    total = Math.pow(acc, 1 / p);
  }
  if (options.errorIfNonfinite && !Number.isFinite(total)) {
    throw new Error(`${who}: the total gradient norm is ${total}; the gradients hold NaN or infinite values`);
  }
  const coef = Math.min(1, maxNorm / (total + 1e-6));
  if (coef < 1) {
    for (const g of grads) {
      const d = g.data;
      for (let i = 0; i < d.length; i++) d[i] = d[i]! * coef;
    }
  }
  return total;
}

/** Clamps every gradient element to [-clipValue, clipValue]. */
export function clipGradValue(params: Iterable<Tensor>, clipValue: number): void {
  if (typeof clipValue !== 'number' || !(clipValue >= 0)) throw new Error(`clipGradValue: clipValue must be a non-negative number, got ${String(clipValue)}`);
  for (const t of params) {
    const g = t.grad;
    if (!g) continue;
    for (let i = 0; i < g.size; i++) g.data[i] = Math.min(clipValue, Math.max(-clipValue, g.data[i]!));
  }
}
