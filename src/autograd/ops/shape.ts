import { Tensor } from '../../tensor/tensor.js';
import { formatShape, normDim, numel, shapeEquals, stridesOf, checkShape } from '../../tensor/shape.js';
import { allocLike, type FloatArray, type TypedArray, promoteFloat } from '../../tensor/dtype.js';
import { needsGrad, record, result } from '../engine.js';
import { be, alloc, floatData, floatType, requireInt, reduceTo } from './util.js';
import { cast } from './elementwise.js';

/** Same elements, new shape (one entry may be -1); shares storage with the input. */
export function reshape(a: Tensor, shape: readonly number[]): Tensor {
  const who = 'reshape';
  if (!Array.isArray(shape)) throw new Error(`${who}: shape must be an array of integers, got ${String(shape)}`);
  const s = [...shape];
  const free = s.indexOf(-1);
  if (free >= 0) {
    if (s.indexOf(-1, free + 1) >= 0) throw new Error(`${who}: only one dimension can be -1, got ${formatShape(shape)}`);
    const known = s.reduce((n, d, i) => (i === free ? n : n * d), 1);
    if (known === 0 || a.size % known !== 0) throw new Error(`${who}: cannot reshape ${formatShape(a.shape)} (${a.size} elements) to ${formatShape(shape)}`);
    s[free] = a.size / known;
  }
  checkShape(s, who);
  if (numel(s) !== a.size) throw new Error(`${who}: cannot reshape ${formatShape(a.shape)} (${a.size} elements) to ${formatShape(shape)} (${numel(s)} elements)`);
  if (shapeEquals(s, a.shape)) return a;
  if (a.dtype === 'int32' || !needsGrad(a)) return new Tensor(a.data, s);
  const out = new Tensor(a.data, s);
  record(who, [a], [out], (gs) => [gs[0] ? new Tensor(gs[0].data, a.shape) : null]);
  return out;
}

export function unsqueeze(a: Tensor, dim: number): Tensor {
  const d = normDim(dim, a.ndim + 1, 'unsqueeze');
  const s = [...a.shape];
  s.splice(d, 0, 1);
  return reshape(a, s);
}

export function squeeze(a: Tensor, dim?: number): Tensor {
  if (dim === undefined) return reshape(a, a.shape.filter((d) => d !== 1));
  const d = normDim(dim, a.ndim, 'squeeze');
  if (a.shape[d] !== 1) return a;
  return reshape(a, a.shape.filter((_, i) => i !== d));
}

function permuteData(d: TypedArray, shape: readonly number[], perm: readonly number[]): TypedArray {
  const out = allocLike(d, d.length);
  if (d instanceof Int32Array) {
    // the kernels are float-only; indices are exact in float64
    const tmp = new Float64Array(d.length);
    be().permute(Float64Array.from(d), shape, perm, tmp);
    out.set(tmp);
    return out;
  }
  be().permute(d, shape, perm, out as FloatArray);
  return out;
}

/** Reorders dimensions: output dimension i is input dimension dims[i]. Copies. */
export function permute(a: Tensor, dims: readonly number[]): Tensor {
  const who = 'permute';
  if (!Array.isArray(dims) || dims.length !== a.ndim) throw new Error(`${who}: dims must list all ${a.ndim} dimensions, got ${JSON.stringify(dims)}`);
  const perm = dims.map((d) => normDim(d, a.ndim, who));
  if (new Set(perm).size !== perm.length) throw new Error(`${who}: dims ${JSON.stringify(dims)} repeat a dimension`);
  if (perm.every((p, i) => p === i)) return a;
  const shape = perm.map((p) => a.shape[p]!);
  const data = permuteData(a.data, a.shape, perm);
  if (a.dtype === 'int32') return new Tensor(data, shape);
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return result(who, data as FloatArray, shape, [a], (g) => [new Tensor(permuteData(g.data, shape, inv), a.shape)]);
}

export function transpose(a: Tensor, dim0: number, dim1: number): Tensor {
  const d0 = normDim(dim0, a.ndim, 'transpose');
  const d1 = normDim(dim1, a.ndim, 'transpose');
  const perm = a.shape.map((_, i) => i);
  perm[d0] = d1;
  perm[d1] = d0;
  return permute(a, perm);
}

/** Repeats size-1 dimensions (and prepends new ones) to reach `shape`; -1 keeps a size. Copies. */
export function expand(a: Tensor, shape: readonly number[]): Tensor {
  const who = 'expand';
  if (shape.length < a.ndim) throw new Error(`${who}: target ${formatShape(shape)} has fewer dimensions than the tensor ${formatShape(a.shape)}`);
  const off = shape.length - a.ndim;
  const target = shape.map((s, i) => (s === -1 && i >= off ? a.shape[i - off]! : s));
  const padded = [...new Array<number>(off).fill(1), ...a.shape];
  padded.forEach((s, i) => {
    if (s !== 1 && s !== target[i]) throw new Error(`${who}: cannot expand ${formatShape(a.shape)} to ${formatShape(shape)} (dimension ${i}: ${s} vs ${target[i]})`);
  });
  checkShape(target, who);
  const dtype = floatType(a);
  const out = alloc(dtype, target);
  be().broadcastTo(floatData(a, dtype), padded, out, target);
  return result(who, out, target, [a], (g) => [reduceTo(g, a.shape, a.dtype)]);
}

function blockCopy(src: TypedArray, dst: TypedArray, outer: number, srcN: number, dstN: number, inner: number, srcStart: number, dstStart: number, count: number): void {
  for (let o = 0; o < outer; o++) {
    const s = (o * srcN + srcStart) * inner;
    const d = (o * dstN + dstStart) * inner;
    dst.set(src.subarray(s, s + count * inner), d);
  }
}

/** Elements start..end-1 along `dim` (negative values count from the end; clamped like Python slices). */
export function slice(a: Tensor, dim: number, start: number, end?: number): Tensor {
  const who = 'slice';
  const d = normDim(dim, a.ndim, who);
  const n = a.shape[d]!;
  if (!Number.isInteger(start) || (end !== undefined && !Number.isInteger(end))) throw new Error(`${who}: start and end must be integers, got ${start}, ${end}`);
  const clamp = (v: number): number => Math.min(n, Math.max(0, v < 0 ? v + n : v));
  const s0 = clamp(start);
  const s1 = Math.max(s0, end === undefined ? n : clamp(end));
  const count = s1 - s0;
  const outer = numel(a.shape.slice(0, d));
  const inner = numel(a.shape.slice(d + 1));
  const shape = a.shape.map((v, i) => (i === d ? count : v));
  const out = allocLike(a.data, numel(shape));
  blockCopy(a.data, out, outer, n, count, inner, s0, 0, count);
  if (a.dtype === 'int32') return new Tensor(out, shape);
  return result(who, out as FloatArray, shape, [a], (g) => {
    const gd = allocLike(g.data, a.size);
    blockCopy(g.data, gd, outer, count, n, inner, 0, s0, count);
    return [new Tensor(gd, a.shape)];
  });
}

/** Joins tensors along an existing dimension (float types promote; int32 joins only with int32). */
export function concat(tensors: readonly Tensor[], dim = 0): Tensor {
  const who = 'concat';
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error(`${who}: expected a non-empty array of tensors`);
  const first = tensors[0]!;
  const d = normDim(dim, first.ndim, who);
  const allInt = tensors.every((t) => t.dtype === 'int32');
  if (!allInt && tensors.some((t) => t.dtype === 'int32')) throw new Error(`${who}: cannot join int32 and floating-point tensors`);
  const dtype = allInt ? 'int32' : tensors.reduce<'float32' | 'float64'>((acc, t) => promoteFloat(acc, t.dtype), 'float32');
  const parts: readonly Tensor[] = allInt ? tensors : tensors.map((t) => cast(t, dtype));
  parts.forEach((t, i) => {
    if (t.ndim !== first.ndim || t.shape.some((s, j) => j !== d && s !== first.shape[j])) {
      throw new Error(`${who}: tensor ${i} has shape ${formatShape(t.shape)}, which does not match ${formatShape(first.shape)} outside dimension ${d}`);
    }
  });
  const total = parts.reduce<number>((n, t) => n + t.shape[d]!, 0);
  const outer = numel(first.shape.slice(0, d));
  const inner = numel(first.shape.slice(d + 1));
  const shape = first.shape.map((v: number, i: number) => (i === d ? total : v));
  const out = allocLike(parts[0]!.data, numel(shape));
  let at = 0;
  const starts: number[] = [];
  for (const t of parts) {
    starts.push(at);
    blockCopy(t.data, out, outer, t.shape[d]!, total, inner, 0, at, t.shape[d]!);
    at += t.shape[d]!;
  }
  if (allInt) return new Tensor(out, shape);
  return result(who, out as FloatArray, shape, parts, (g) =>
    parts.map((t, i) => {
      if (!t.requiresGrad) return null;
      const gd = allocLike(g.data, t.size);
      blockCopy(g.data, gd, outer, total, t.shape[d]!, inner, starts[i]!, 0, t.shape[d]!);
      return new Tensor(gd, t.shape);
    }),
  );
}

/** Joins tensors of one shape along a new dimension. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error('stack: expected a non-empty array of tensors');
  const d = normDim(dim, tensors[0]!.ndim + 1, 'stack');
  tensors.forEach((t, i) => {
    if (!shapeEquals(t.shape, tensors[0]!.shape)) throw new Error(`stack: tensor ${i} has shape ${formatShape(t.shape)}, expected ${formatShape(tensors[0]!.shape)}`);
  });
  return concat(tensors.map((t) => unsqueeze(t, d)), d);
}

/** `torch.gather`: out[p] = a[p with p[dim] = index[p]]; index (int32) has a's rank. */
export function gather(a: Tensor, dim: number, index: Tensor): Tensor {
  const who = 'gather';
  requireInt(index, who);
  const d = normDim(dim, a.ndim, who);
  if (index.ndim !== a.ndim) throw new Error(`${who}: index must have the input's rank ${a.ndim}, got shape ${formatShape(index.shape)}`);
  index.shape.forEach((s, i) => {
    if (i !== d && s > a.shape[i]!) throw new Error(`${who}: index shape ${formatShape(index.shape)} exceeds input shape ${formatShape(a.shape)} in dimension ${i}`);
  });
  const xs = stridesOf(a.shape);
  const is = stridesOf(index.shape);
  const n = a.shape[d]!;
  const offsets = new Int32Array(index.size);
  const idx = index.data;
  for (let p = 0; p < index.size; p++) {
    let off = 0;
    let rem = p;
    for (let i = 0; i < index.ndim; i++) {
      const c = Math.floor(rem / is[i]!);
      rem -= c * is[i]!;
      if (i === d) {
        const v = idx[p]!;
        if (v < 0 || v >= n) throw new Error(`${who}: index ${v} is out of range for dimension ${d} of size ${n}`);
        off += v * xs[i]!;
      } else off += c * xs[i]!;
    }
    offsets[p] = off;
  }
  const out = allocLike(a.data, index.size);
  for (let p = 0; p < offsets.length; p++) out[p] = a.data[offsets[p]!]!;
  if (a.dtype === 'int32') return new Tensor(out, index.shape);
  return result(who, out as FloatArray, index.shape, [a], (g) => {
    const gd = allocLike(g.data, a.size);
    for (let p = 0; p < offsets.length; p++) gd[offsets[p]!] = gd[offsets[p]!]! + g.data[p]!;
    return [new Tensor(gd, a.shape)];
  });
}

/**
 * Picks slices along `dim` by an int32 index of any shape, whose shape takes the place of
 * dimension `dim` (an embedding lookup is `weight.indexSelect(0, tokens)`).
 */
export function indexSelect(a: Tensor, dim: number, index: Tensor): Tensor {
  const who = 'indexSelect';
  requireInt(index, who);
  const d = normDim(dim, a.ndim, who);
  const n = a.shape[d]!;
  const outer = numel(a.shape.slice(0, d));
  const inner = numel(a.shape.slice(d + 1));
  const idx = index.data;
  for (let i = 0; i < idx.length; i++) {
    const v = idx[i]!;
    if (v < 0 || v >= n) throw new Error(`${who}: index ${v} (at flat position ${i}) is out of range for dimension ${d} of size ${n}`);
  }
  const m = idx.length;
  const shape = [...a.shape.slice(0, d), ...index.shape, ...a.shape.slice(d + 1)];
  const out = allocLike(a.data, outer * m * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < m; i++) {
      const s = (o * n + idx[i]!) * inner;
      out.set(a.data.subarray(s, s + inner), (o * m + i) * inner);
    }
  }
  if (a.dtype === 'int32') return new Tensor(out, shape);
  return result(who, out as FloatArray, shape, [a], (g) => {
    const gd = allocLike(g.data, a.size);
    const gv = g.data;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < m; i++) {
        const dst = (o * n + idx[i]!) * inner;
        const src = (o * m + i) * inner;
        for (let j = 0; j < inner; j++) gd[dst + j] = gd[dst + j]! + gv[src + j]!;
      }
    }
    return [new Tensor(gd, a.shape)];
  });
}

/**
 * Embedding lookup: rows of weight (V, E) at int32 ids of any shape -> (...ids, E). Rows at
 * `paddingIdx` get no gradient, as in PyTorch. Ids are range-checked by the caller.
 */
export function embeddingLookup(weight: Tensor, ids: Tensor, paddingIdx: number | null): Tensor {
  const [V, E] = weight.shape as [number, number];
  const idx = ids.data;
  const shape = [...ids.shape, E];
  const out = allocLike(weight.data, idx.length * E);
  for (let i = 0; i < idx.length; i++) out.set(weight.data.subarray(idx[i]! * E, (idx[i]! + 1) * E), i * E);
  return result('embedding', out as FloatArray, shape, [weight], (g) => {
    const gd = allocLike(g.data, V * E);
    const gv = g.data;
    for (let i = 0; i < idx.length; i++) {
      const row = idx[i]!;
      if (row === paddingIdx) continue;
      for (let j = 0; j < E; j++) gd[row * E + j] = gd[row * E + j]! + gv[i * E + j]!;
    }
    return [new Tensor(gd, weight.shape)];
  });
}
