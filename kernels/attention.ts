// Additive (Bahdanau) attention's scores, float32, forward and backward
// (src/backend/reference/attention.ts is the specification):
//   scores[n, s] = sum_h v[h] tanh(q[n, h] + k[n, s, h]).
// Written as a chain of broadcast add, tanh and a one-column product, each step of a decoder
// wrote and read back three (N, S, H) arrays and reduced them again for the gradients; here each
// (n, s) row is one pass. Threads split the rows n; each score and each gradient element is
// computed whole by one thread in a fixed order, and v's gradient sums per-row shares in row
// order, so results are the same for any thread count.
import { Attn, arg } from './abi';
import { vtanh, vexp } from './vmath';
import { colSum, share4, ld, st } from './simd';
import { barrier } from './barrier';

/** Thread tid's rows of the scores (and the tanh values); see the slots of Attn. */
export function additiveScores(args: usize, tid: i32): void {
  const N = arg(args, Attn.N), S = arg(args, Attn.S), H = arg(args, Attn.H), nth = arg(args, Attn.NTH);
  const q = <usize>arg(args, Attn.Q), k = <usize>arg(args, Attn.K), v = <usize>arg(args, Attn.V);
  const scores = <usize>arg(args, Attn.SCORES), act = <usize>arg(args, Attn.ACT);
  const n0 = (N * tid) / nth, n1 = (N * (tid + 1)) / nth;
  const body = H & ~3, tail = H - body;
  // lanes past H hold whatever follows the rows: kept out of the sums
  const live = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(tail));
  for (let n = n0; n < n1; n++) {
    const qr = q + <usize>(n * H) * 4;
    for (let s = 0; s < S; s++) {
      const kr = k + <usize>((n * S + s) * H) * 4;
      const ar = act + <usize>((n * S + s) * H) * 4;
      let acc = f32x4.splat(0);
      for (let h = 0; h < body; h += 4) {
        const o = <usize>h * 4;
        const a = vtanh(f32x4.add(ld(qr + o), ld(kr + o)));
        if (act) v128.store(ar + o, a);
        acc = f32x4.add(acc, f32x4.mul(ld(v + o), a));
      }
      if (tail) {
        const o = <usize>body * 4;
        const a = v128.and(vtanh(f32x4.add(ld(qr + o), ld(kr + o))), live);
        if (act) st(ar + o, a, tail);
        acc = f32x4.add(acc, v128.and(f32x4.mul(ld(v + o), a), live));
      }
      const sum = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
      store<f32>(scores + <usize>(n * S + s) * 4, sum);
    }
  }
}

/**
 * Thread tid's rows of the gradients from the scores' gradient g and the forward's tanh values:
 * d = g[n, s] v (1 - a^2); dk[n, s] = d; dq[n] = sum_s d; dv = sum_{n, s} g[n, s] a.
 */
export function additiveScoresBackward(args: usize, tid: i32): void {
  const N = arg(args, Attn.N), S = arg(args, Attn.S), H = arg(args, Attn.H), nth = arg(args, Attn.NTH);
  const v = <usize>arg(args, Attn.V), act = <usize>arg(args, Attn.ACT), g = <usize>arg(args, Attn.G);
  const dq = <usize>arg(args, Attn.DQ), dk = <usize>arg(args, Attn.DK), dv = <usize>arg(args, Attn.DV), dvRows = <usize>arg(args, Attn.DVROWS);
  const n0 = (N * tid) / nth, n1 = (N * (tid + 1)) / nth;
  const one = f32x4.splat(1);
  for (let n = n0; n < n1; n++) {
    const qr = dq + <usize>(n * H) * 4;
    const vr = dvRows + <usize>(n * H) * 4;
    memory.fill(qr, 0, <usize>H * 4);
    if (dv) memory.fill(vr, 0, <usize>H * 4);
    for (let s = 0; s < S; s++) {
      const gs = f32x4.splat(load<f32>(g + <usize>(n * S + s) * 4));
      const ar = act + <usize>((n * S + s) * H) * 4;
      const kr = dk + <usize>((n * S + s) * H) * 4;
      for (let h = 0; h < H; h += 4) {
        const o = <usize>h * 4;
        const m = min(4, H - h);
        const a = ld(ar + o);
        const d = f32x4.mul(f32x4.mul(gs, ld(v + o)), f32x4.sub(one, f32x4.mul(a, a)));
        if (dk) st(kr + o, d, m);
        st(qr + o, f32x4.add(ld(qr + o), d), m);
        if (dv) st(vr + o, f32x4.add(ld(vr + o), f32x4.mul(gs, a)), m);
      }
    }
  }
  if (!dv) return;
  if (nth > 1) barrier(<usize>arg(args, Attn.CTRL), nth);
  colSum(dvRows, N, H, dv, share4(H, tid, nth), share4(H, tid + 1, nth));
}

/** sum_h v[h] tanh(q[h] + k[h]) over one row pair (H features), in additiveScores' order. */
@inline function score(qr: usize, kr: usize, v: usize, H: i32): f32 {
  const body = H & ~3, tail = H - body;
  let acc = f32x4.splat(0);
  for (let h = 0; h < body; h += 4) {
    const o = <usize>h * 4;
    acc = f32x4.add(acc, f32x4.mul(ld(v + o), vtanh(f32x4.add(ld(qr + o), ld(kr + o)))));
  }
  if (tail) {
    const o = <usize>body * 4;
    const live = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(tail));
    acc = f32x4.add(acc, v128.and(f32x4.mul(ld(v + o), vtanh(f32x4.add(ld(qr + o), ld(kr + o)))), live));
  }
  return (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
}

/**
 * One row of a whole attention step: the scores of query row qr over the S keys of kRow plus the
 * bias, masked (maskRow: S int32, or 0), softmax into wr (S), and the context cr (H), the
 * weights' average of the S values of valsRow. A row's keys (and values) lie kStride floats
 * apart: H where each row's keys are together, N * H where they are time-major.
 */
export function attendRow(qr: usize, kRow: usize, valsRow: usize, kStride: i32, v: usize, bias: f32, maskRow: usize, S: i32, H: i32, wr: usize, cr: usize): void {
  let m: f32 = -Infinity;
  for (let s = 0; s < S; s++) {
    if (maskRow && load<i32>(maskRow + <usize>s * 4) != 0) {
      store<f32>(wr + <usize>s * 4, -Infinity);
      continue;
    }
    const x = score(qr, kRow + <usize>s * <usize>kStride * 4, v, H) + bias;
    store<f32>(wr + <usize>s * 4, x);
    m = max(m, x);
  }
  let total: f32 = 0;
  for (let s = 0; s < S; s++) {
    const x = load<f32>(wr + <usize>s * 4);
    const e: f32 = x == -Infinity ? 0 : f32x4.extract_lane(vexp(f32x4.splat(x - m)), 0);
    store<f32>(wr + <usize>s * 4, e);
    total += e;
  }
  const inv: f32 = 1 / total;
  memory.fill(cr, 0, <usize>H * 4);
  for (let s = 0; s < S; s++) {
    const ws = load<f32>(wr + <usize>s * 4) * inv;
    store<f32>(wr + <usize>s * 4, ws);
    if (ws == 0) continue;
    const wv = f32x4.splat(ws);
    const vr = valsRow + <usize>s * <usize>kStride * 4;
    for (let h = 0; h < H; h += 4) {
      const o = <usize>h * 4;
      st(cr + o, f32x4.add(ld(cr + o), f32x4.mul(wv, ld(vr + o))), min(4, H - h));
    }
  }
}

/**
 * attendRow's backward: from its weights wr, the context's gradient dcr and the weights' (dwr, or
 * 0), the scores' gradient into dsr (S), dq into dqr (written), dk and dValues rows (laid out as
 * kRow and valsRow; 0 for none) written, or added onto with `add`, and dv's share added onto
 * dvRow (0 for none). Returns the bias's share of this row.
 */
export function attendRowBackward(qr: usize, kRow: usize, valsRow: usize, kStride: i32, v: usize, wr: usize, dcr: usize, dwr: usize, S: i32, H: i32,
  dsr: usize, dqr: usize, dkRow: usize, dvalsRow: usize, dvRow: usize, add: bool): f32 {
  const one = f32x4.splat(1);
  // the weights' gradient, and its average under the weights
  let dot: f32 = 0;
  for (let s = 0; s < S; s++) {
    const vr = valsRow + <usize>s * <usize>kStride * 4;
    let acc = f32x4.splat(0);
    for (let h = 0; h < H; h += 4) {
      const o = <usize>h * 4;
      const live = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(H - h));
      acc = f32x4.add(acc, v128.and(f32x4.mul(ld(dcr + o), ld(vr + o)), live));
    }
    let g = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
    if (dwr) g += load<f32>(dwr + <usize>s * 4);
    store<f32>(dsr + <usize>s * 4, g);
    dot += load<f32>(wr + <usize>s * 4) * g;
  }
  let rowSum: f32 = 0;
  for (let s = 0; s < S; s++) {
    const g = load<f32>(wr + <usize>s * 4) * (load<f32>(dsr + <usize>s * 4) - dot);
    store<f32>(dsr + <usize>s * 4, g);
    rowSum += g;
  }
  memory.fill(dqr, 0, <usize>H * 4);
  for (let s = 0; s < S; s++) {
    const r = <usize>s * <usize>kStride * 4;
    if (dvalsRow) {
      const wv = f32x4.splat(load<f32>(wr + <usize>s * 4));
      for (let h = 0; h < H; h += 4) {
        const o = r + <usize>h * 4;
        const d = f32x4.mul(wv, ld(dcr + <usize>h * 4));
        st(dvalsRow + o, add ? f32x4.add(ld(dvalsRow + o), d) : d, min(4, H - h));
      }
    }
    const gs = f32x4.splat(load<f32>(dsr + <usize>s * 4));
    for (let h = 0; h < H; h += 4) {
      const o = <usize>h * 4;
      const m = min(4, H - h);
      const a = vtanh(f32x4.add(ld(qr + o), ld(kRow + r + o)));
      const d = f32x4.mul(f32x4.mul(gs, ld(v + o)), f32x4.sub(one, f32x4.mul(a, a)));
      if (dkRow) st(dkRow + r + o, add ? f32x4.add(ld(dkRow + r + o), d) : d, m);
      st(dqr + o, f32x4.add(ld(dqr + o), d), m);
      if (dvRow) st(dvRow + o, f32x4.add(ld(dvRow + o), f32x4.mul(gs, a)), m);
    }
  }
  return rowSum;
}

/**
 * Thread tid's rows of a whole attention step (see the slots of Attn and attendRow). Nothing
 * else is kept: backward computes the tanh values again from q and K, which costs less than
 * writing them out and reading them back.
 */
export function additiveAttention(args: usize, tid: i32): void {
  const N = arg(args, Attn.N), S = arg(args, Attn.S), H = arg(args, Attn.H), nth = arg(args, Attn.NTH);
  const q = <usize>arg(args, Attn.Q), k = <usize>arg(args, Attn.K), v = <usize>arg(args, Attn.V), vals = <usize>arg(args, Attn.VALUES);
  const bias = load<f32>(<usize>arg(args, Attn.BIAS)), mask = <usize>arg(args, Attn.MASK);
  const w = <usize>arg(args, Attn.WEIGHTS), ctx = <usize>arg(args, Attn.CONTEXT);
  const n0 = (N * tid) / nth, n1 = (N * (tid + 1)) / nth;
  for (let n = n0; n < n1; n++) {
    const kv = <usize>(n * S * H) * 4;
    attendRow(q + <usize>(n * H) * 4, k + kv, vals + kv, H, v, bias, mask ? mask + <usize>(n * S) * 4 : 0, S, H, w + <usize>(n * S) * 4, ctx + <usize>(n * H) * 4);
  }
}

/**
 * Thread tid's rows of additiveAttention's backward (see the slots of Attn and
 * attendRowBackward); dv sums the rows' shares in row order after a barrier.
 */
export function additiveAttentionBackward(args: usize, tid: i32): void {
  const N = arg(args, Attn.N), S = arg(args, Attn.S), H = arg(args, Attn.H), nth = arg(args, Attn.NTH);
  const q = <usize>arg(args, Attn.Q), k = <usize>arg(args, Attn.K), v = <usize>arg(args, Attn.V), vals = <usize>arg(args, Attn.VALUES);
  const w = <usize>arg(args, Attn.WEIGHTS), dctx = <usize>arg(args, Attn.DCONTEXT), dw = <usize>arg(args, Attn.DWEIGHTS);
  const dq = <usize>arg(args, Attn.DQ), dk = <usize>arg(args, Attn.DK), dvals = <usize>arg(args, Attn.DVALUES);
  const dv = <usize>arg(args, Attn.DV), dvRows = <usize>arg(args, Attn.DVROWS), ds = <usize>arg(args, Attn.DSCORES), dbRows = <usize>arg(args, Attn.DBROWS);
  const n0 = (N * tid) / nth, n1 = (N * (tid + 1)) / nth;
  for (let n = n0; n < n1; n++) {
    const kv = <usize>(n * S * H) * 4;
    const vd = dv ? dvRows + <usize>(n * H) * 4 : 0;
    if (vd) memory.fill(vd, 0, <usize>H * 4);
    const b = attendRowBackward(q + <usize>(n * H) * 4, k + kv, vals + kv, H, v, w + <usize>(n * S) * 4, dctx + <usize>(n * H) * 4, dw ? dw + <usize>(n * S) * 4 : 0, S, H,
      ds + <usize>(n * S) * 4, dq + <usize>(n * H) * 4, dk ? dk + kv : 0, dvals ? dvals + kv : 0, vd, false);
    store<f32>(dbRows + <usize>n * 4, b);
  }
  if (!dv) return;
  if (nth > 1) barrier(<usize>arg(args, Attn.CTRL), nth);
  colSum(dvRows, N, H, dv, share4(H, tid, nth), share4(H, tid + 1, nth));
}
