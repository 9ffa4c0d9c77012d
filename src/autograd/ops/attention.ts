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

/**
 * A whole additive-attention step as one node: scores = `additiveScores(q, keys, v)` + bias,
 * -Infinity where `mask` (N, S) is 1, softmax over the S keys into weights (N, S), and
 * context (N, H) = weights @ values per row. Returns [context, weights]. The same values as that
 * chain of ops (within float rounding), in one pass over the keys a step and nothing kept for
 * backward but the weights. Every row must keep at least one key.
 */
export function additiveAttention(q: Tensor, keys: Tensor, values: Tensor, v: Tensor, bias: Tensor | null = null, mask: Tensor | null = null): [Tensor, Tensor] {
  const who = 'additiveAttention';
  if (!(q instanceof Tensor) || q.ndim !== 2 || q.dtype === 'int32') throw new Error(`${who}: q must be a floating-point Tensor (N, H), got ${q instanceof Tensor ? `${q.dtype} ${formatShape(q.shape)}` : typeof q}`);
  const [N, H] = q.shape as [number, number];
  for (const [t, name] of [[keys, 'keys'], [values, 'values']] as const) {
    if (!(t instanceof Tensor) || t.ndim !== 3 || t.shape[0] !== N || t.shape[2] !== H || t.dtype === 'int32' || t.shape[1]! < 1) {
      throw new Error(`${who}: ${name} must be a floating-point Tensor (N, S, H) = [${N}, S >= 1, ${H}], got ${t instanceof Tensor ? `${t.dtype} ${formatShape(t.shape)}` : typeof t}`);
    }
  }
  const S = keys.shape[1]!;
  if (values.shape[1] !== S) throw new Error(`${who}: keys and values must have one length, got ${formatShape(keys.shape)} and ${formatShape(values.shape)}`);
  if (!(v instanceof Tensor) || v.ndim !== 1 || v.shape[0] !== H || v.dtype === 'int32') {
    throw new Error(`${who}: v must be a floating-point Tensor (H) = [${H}], got ${v instanceof Tensor ? `${v.dtype} ${formatShape(v.shape)}` : typeof v}`);
  }
  if (bias !== null && (!(bias instanceof Tensor) || bias.size !== 1 || bias.dtype === 'int32')) throw new Error(`${who}: bias must be a floating-point Tensor of one element or null, got ${bias instanceof Tensor ? `${bias.dtype} ${formatShape(bias.shape)}` : typeof bias}`);
  for (const t of [keys, values, v, bias]) if (t && t.dtype !== q.dtype) throw new Error(`${who}: q, keys, values, v and bias must share one dtype, got ${q.dtype} and ${t.dtype}`);
  let m: Int32Array | null = null;
  if (mask !== null) {
    checkMask(mask, [[N, S]], 'mask', who);
    checkSomeKey(N, S, (n, s) => mask.data[n * S + s] === 1, (n) => `row ${n}`, who);
    m = Int32Array.from(mask.data);
  }
  const dtype = floatType(q);
  const qd = floatData(q), kd = floatData(keys), vals = floatData(values), vd = floatData(v);
  const weights = alloc(dtype, [N, S]);
  const context = alloc(dtype, [N, H]);
  be().additiveAttention(qd, kd, vals, vd, bias ? bias.data[0]! : 0, m, N, S, H, weights, context);
  const outs: [Tensor, Tensor] = [new Tensor(context, [N, H]), new Tensor(weights, [N, S])];
  const inputs = bias ? [q, keys, values, v, bias] : [q, keys, values, v];
  if (!needsGrad(...inputs)) return outs;
  record(who, inputs, outs, ([gc, gw]) => {
    if (!gc && !gw) return inputs.map(() => null);
    const dq = alloc(dtype, [N, H]);
    const dk = keys.requiresGrad ? alloc(dtype, [N, S, H]) : null;
    const dvals = values.requiresGrad ? alloc(dtype, [N, S, H]) : null;
    const dv = v.requiresGrad ? alloc(dtype, [H]) : null;
    const dc = gc ? floatData(gc, dtype) : alloc(dtype, [N, H]);
    const db = be().additiveAttentionBackward(qd, kd, vals, vd, weights, dc, gw ? floatData(gw, dtype) : null, N, S, H, dq, dk, dvals, dv);
    const grads: (Tensor | null)[] = [q.requiresGrad ? new Tensor(dq, [N, H]) : null, dk && new Tensor(dk, [N, S, H]), dvals && new Tensor(dvals, [N, S, H]), dv && new Tensor(dv, [H])];
    if (bias) {
      const d = alloc(dtype, bias.shape);
      d[0] = db;
      grads.push(bias.requiresGrad ? new Tensor(d, bias.shape) : null);
    }
    return grads;
  });
  return outs;
}

/** A 0/1 mask tensor checked against the shapes it may have. */
export function checkMask(m: Tensor, shapes: readonly (readonly number[])[], name: string, who: string): void {
  if (!(m instanceof Tensor)) throw new Error(`${who}: ${name} must be a Tensor of 0/1 values (1 = may not attend)`);
  if (!shapes.some((s) => s.length === m.ndim && s.every((d, i) => d === m.shape[i]))) {
    throw new Error(`${who}: ${name} must have shape ${shapes.map((s) => formatShape(s)).join(' or ')}, got ${formatShape(m.shape)}`);
  }
  for (let i = 0; i < m.size; i++) {
    const v = m.data[i]!;
    if (v !== 0 && v !== 1) throw new Error(`${who}: ${name} must hold only 0 and 1 (1 = may not attend), got ${v} at element ${i}`);
  }
}

/**
 * Refuses masks that leave a query nothing to attend to (PyTorch returns NaN there): `blocked`
 * gives whether query row r (of `rows`) may not attend key s.
 */
export function checkSomeKey(rows: number, S: number, blocked: (r: number, s: number) => boolean, describe: (r: number) => string, who: string): void {
  for (let r = 0; r < rows; r++) {
    let open = false;
    for (let s = 0; s < S && !open; s++) if (!blocked(r, s)) open = true;
    if (!open) throw new Error(`${who}: the masks leave ${describe(r)} no key to attend to (every key masked); unmask at least one`);
  }
}
