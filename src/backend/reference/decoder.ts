/**
 * A recurrent decoder with additive attention and input feeding, plain loops: the specification
 * of the fused kernels, written as the steps a decoder takes one op at a time (the query's
 * projection, the attention step, one step of the cell on [x_t, context_t]) and their backward
 * in reverse order.
 *
 * Legend: T steps, N rows, E the step input's width, H hidden (and the keys' and context's
 * width), S keys a row, G gates, GH = G * H.
 */
import { allocLike, type FloatArray } from '../../tensor/dtype.js';
import type { AttentionDecoderDims, AttentionDecoderGrads, AttentionDecoderResult, AttentionDecoderWeights, RecurrentCache, RecurrentDims, RecurrentForwardResult, RecurrentWeights } from '../backend.js';
import { gateCount } from '../cells.js';
import { gemm } from './gemm.js';
import { additiveAttention, additiveAttentionBackward } from './attention.js';
import { recurrentForward, recurrentBackward } from './recurrent.js';

interface DecoderCache extends RecurrentCache {
  /** each step's query (T, N, H), cell input [x_t, context_t] (T, N, E + H) and one-step forward */
  q: FloatArray;
  xin: FloatArray;
  steps: RecurrentForwardResult[];
}

const cellDims = (d: AttentionDecoderDims): RecurrentDims => ({ kind: d.kind, T: 1, B: d.N, I: d.E + d.H, H: d.H, P: 0 });
const cellWeights = (w: AttentionDecoderWeights): RecurrentWeights => ({ wih: w.wih, whh: w.whh, bih: w.bih, bhh: w.bhh, whr: null });

/** (A, B, H) -> (B, A, H): time-major keys to each row's together, and back. */
function swap(a: FloatArray, A: number, B: number, H: number): FloatArray {
  const out = allocLike(a, a.length);
  for (let i = 0; i < A; i++) for (let j = 0; j < B; j++) out.set(a.subarray((i * B + j) * H, (i * B + j + 1) * H), (j * A + i) * H);
  return out;
}

/** See AttentionKernels.decoderForward. */
export function decoderForward(d: AttentionDecoderDims, w: AttentionDecoderWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
  timeKeys: FloatArray, timePk: FloatArray, mask: Int32Array | null, keepCache: boolean): AttentionDecoderResult {
  const { T, N, E, H, S } = d;
  const keys = swap(timeKeys, S, N, H), pk = swap(timePk, S, N, H);
  const I = E + H;
  const out = allocLike(x, T * N * H), weights = allocLike(x, T * N * S), context = allocLike(x, T * N * H);
  const q = allocLike(x, T * N * H), xin = allocLike(x, T * N * I);
  const steps: RecurrentForwardResult[] = [];
  const dims = cellDims(d), cw = cellWeights(w);
  let hp = h0, cp = c0;
  for (let t = 0; t < T; t++) {
    const qt = q.subarray(t * N * H, (t + 1) * N * H);
    if (w.ba) for (let n = 0; n < N; n++) qt.set(w.ba, n * H);
    gemm(false, true, N, H, H, hp, 0, w.wa, 0, qt, 0, w.ba !== null);
    const ct = context.subarray(t * N * H, (t + 1) * N * H);
    additiveAttention(qt, pk, keys, w.va, w.vb, mask, N, S, H, weights.subarray(t * N * S, (t + 1) * N * S), ct);
    const xt = xin.subarray(t * N * I, (t + 1) * N * I);
    for (let n = 0; n < N; n++) {
      xt.set(x.subarray((t * N + n) * E, (t * N + n + 1) * E), n * I);
      xt.set(ct.subarray(n * H, (n + 1) * H), n * I + E);
    }
    const r = recurrentForward(dims, cw, xt, hp, cp, false, keepCache);
    out.set(r.out, t * N * H);
    steps.push(r);
    hp = r.hN;
    cp = r.cN;
  }
  const cache: DecoderCache | null = keepCache ? { backend: 'reference', q, xin, steps } : null;
  return { out, hN: hp.slice(), cN: cp ? cp.slice() : null, weights, context, cache };
}

/** See AttentionKernels.decoderBackward. */
export function decoderBackward(d: AttentionDecoderDims, w: AttentionDecoderWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
  timeKeys: FloatArray, timePk: FloatArray, fwd: AttentionDecoderResult,
  dOut: FloatArray | null, dContext: FloatArray | null, dWeights: FloatArray | null, dhN: FloatArray | null, dcN: FloatArray | null): AttentionDecoderGrads {
  const cache = fwd.cache as DecoderCache | null;
  if (!cache || cache.backend !== 'reference' || !('steps' in cache)) throw new Error('decoderBackward: the forward pass kept no reference cache');
  const { kind, T, N, E, H, S } = d;
  const keys = swap(timeKeys, S, N, H), pk = swap(timePk, S, N, H);
  const I = E + H, GH = gateCount(kind) * H;
  const lstm = kind === 'lstm';
  const dims = cellDims(d), cw = cellWeights(w);
  const g = {
    dx: allocLike(x, T * N * E), dkeys: allocLike(x, N * S * H), dpk: allocLike(x, N * S * H),
    dwih: allocLike(x, GH * I), dwhh: allocLike(x, GH * H), dbih: w.bih ? allocLike(x, GH) : null, dbhh: w.bhh ? allocLike(x, GH) : null,
    dwa: allocLike(x, H * H), dba: w.ba ? allocLike(x, H) : null, dva: allocLike(x, H), dvb: 0,
  };
  const add = (a: FloatArray | null, b: FloatArray | null): void => {
    if (a && b) for (let i = 0; i < a.length; i++) a[i] = a[i]! + b[i]!;
  };
  let dh = dhN ? dhN.slice() : allocLike(x, N * H);
  let dc = lstm ? (dcN ? dcN.slice() : allocLike(x, N * H)) : null;
  const dq = allocLike(x, N * H), dk = allocLike(x, N * S * H), dvals = allocLike(x, N * S * H), dv = allocLike(x, H);
  const dctx = allocLike(x, N * H);
  for (let t = T - 1; t >= 0; t--) {
    if (dOut) for (let i = 0; i < N * H; i++) dh[i] = dh[i]! + dOut[t * N * H + i]!;
    const hp = t === 0 ? h0 : fwd.out.subarray((t - 1) * N * H, t * N * H);
    const cp = !lstm ? null : t === 0 ? c0 : cache.steps[t - 1]!.cN;
    const xt = cache.xin.subarray(t * N * I, (t + 1) * N * I);
    const s = recurrentBackward(dims, cw, xt, hp, cp, false, cache.steps[t]!, null, dh, dc, { input: true, params: true });
    add(g.dwih, s.dwih);
    add(g.dwhh, s.dwhh);
    add(g.dbih, s.dbih);
    add(g.dbhh, s.dbhh);
    for (let n = 0; n < N; n++) {
      g.dx.set(s.dx!.subarray(n * I, n * I + E), (t * N + n) * E);
      for (let h = 0; h < H; h++) dctx[n * H + h] = s.dx![n * I + E + h]! + (dContext ? dContext[(t * N + n) * H + h]! : 0);
    }
    const qt = cache.q.subarray(t * N * H, (t + 1) * N * H);
    g.dvb += additiveAttentionBackward(qt, pk, keys, w.va, fwd.weights.subarray(t * N * S, (t + 1) * N * S), dctx,
      dWeights ? dWeights.subarray(t * N * S, (t + 1) * N * S) : null, N, S, H, dq, dk, dvals, dv);
    add(g.dpk, dk);
    add(g.dkeys, dvals);
    add(g.dva, dv);
    // dh_{t-1}: the cell's, plus the query's
    dh = s.dh0.slice();
    gemm(false, false, N, H, H, dq, 0, w.wa, 0, dh, 0, true);
    gemm(true, false, H, H, N, dq, 0, hp, 0, g.dwa, 0, true);
    if (g.dba) for (let n = 0; n < N; n++) for (let h = 0; h < H; h++) g.dba[h] = g.dba[h]! + dq[n * H + h]!;
    dc = s.dc0;
  }
  return { ...g, dkeys: swap(g.dkeys, N, S, H), dpk: swap(g.dpk, N, S, H), dh0: dh, dc0: dc };
}
