import { Tensor } from '../../tensor/tensor.js';
import { formatShape } from '../../tensor/shape.js';
import { needsGrad, record } from '../engine.js';
import { alloc, be, floatData, floatType } from './util.js';

/**
 * Additive (Bahdanau) attention's scores as one node: q (N, H), keys (N, S, H), v (H) ->
 * scores (N, S) = sum_h v[h] tanh(q[n, h] + keys[n, s, h]). The same values as
 * `q.reshape([N, 1, H]).add(keys).tanh().matmul(v)` in one pass: a decoder computes it at every
 * step over all its source positions, where the chain wrote and read back three (N, S, H) arrays.
 * The tanh values are kept for backward.
 */
export function additiveScores(q: Tensor, keys: Tensor, v: Tensor): Tensor {
  const who = 'additiveScores';
  if (!(q instanceof Tensor) || q.ndim !== 2 || q.dtype === 'int32') throw new Error(`${who}: q must be a floating-point Tensor (N, H), got ${q instanceof Tensor ? `${q.dtype} ${formatShape(q.shape)}` : typeof q}`);
  const [N, H] = q.shape as [number, number];
  if (!(keys instanceof Tensor) || keys.ndim !== 3 || keys.shape[0] !== N || keys.shape[2] !== H || keys.dtype === 'int32') {
    throw new Error(`${who}: keys must be a floating-point Tensor (N, S, H) = [${N}, S, ${H}], got ${keys instanceof Tensor ? `${keys.dtype} ${formatShape(keys.shape)}` : typeof keys}`);
  }
  if (!(v instanceof Tensor) || v.ndim !== 1 || v.shape[0] !== H || v.dtype === 'int32') {
    throw new Error(`${who}: v must be a floating-point Tensor (H) = [${H}], got ${v instanceof Tensor ? `${v.dtype} ${formatShape(v.shape)}` : typeof v}`);
  }
  if (keys.dtype !== q.dtype || v.dtype !== q.dtype) throw new Error(`${who}: q, keys and v must share one dtype, got ${q.dtype}, ${keys.dtype} and ${v.dtype}`);
  const S = keys.shape[1]!;
  const dtype = floatType(q);
  const qd = floatData(q), kd = floatData(keys), vd = floatData(v);
  const scores = alloc(dtype, [N, S]);
  const grad = needsGrad(q, keys, v);
  const act = grad ? alloc(dtype, [N, S, H]) : null;
  be().additiveScores(qd, kd, vd, N, S, H, scores, act);
  const out = new Tensor(scores, [N, S]);
  if (!grad) return out;
  record(who, [q, keys, v], [out], ([g]) => {
    if (!g) return [null, null, null];
    const dq = alloc(dtype, [N, H]);
    const dk = keys.requiresGrad ? alloc(dtype, [N, S, H]) : null;
    const dv = v.requiresGrad ? alloc(dtype, [H]) : null;
    be().additiveScoresBackward(act!, vd, floatData(g, dtype), N, S, H, dq, dk, dv);
    return [q.requiresGrad ? new Tensor(dq, [N, H]) : null, dk ? new Tensor(dk, [N, S, H]) : null, dv ? new Tensor(dv, [H]) : null];
  });
  return out;
}
