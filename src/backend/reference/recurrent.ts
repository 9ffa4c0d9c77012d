/**
 * Reference sequence kernels for RNN, LSTM and GRU: one direction of one layer, the whole
 * sequence per call. The specification every fast backend is checked against.
 *
 * Legend: T steps, B batch, I input features, H hidden size, P projection size (0 = none),
 * Hout = P || H (the width of h), G gates (LSTM 4: i,f,g,o; GRU 3: r,z,n; RNN 1).
 *
 * LSTM:  i,f,o = sigmoid(Wi x + bi + Wh h + bh)[gate], g = tanh(...),
 *        c' = f c + i g,  m = o tanh(c'),  h' = m (or Whr m with a projection)
 * GRU:   r,z = sigmoid(...),  n = tanh(Win x + bin + r (Whn h + bhn)),  h' = (1 - z) n + z h
 *        (Keras's reset_after=False: n = tanh(Win x + bin + Whn (r h) + bhn))
 * Keras's hard_sigmoid(x) = clip(0.2 x + 0.5, 0, 1) may replace the gates' sigmoid.
 * RNN:   h' = act(Wih x + bih + Whh h + bhh)
 *
 * "Processing order" is t = 0..T-1 forward and T-1..0 for the reverse direction; the output at
 * position t is always the state right after reading x[t].
 */
import { allocLike, type FloatArray } from '../../tensor/dtype.js';
import {
  ALL_RECURRENT_GRADS, type RecurrentCache, type RecurrentDims, type RecurrentForwardResult, type RecurrentGrads,
  type RecurrentNeeds, type RecurrentWeights,
} from '../backend.js';
import { gemm } from './gemm.js';
import { gateCount } from '../cells.js';
import { sigmoid } from './elementwise.js';

function hardSigmoid(v: number): number {
  return Math.min(1, Math.max(0, 0.2 * v + 0.5));
}

/** d act / d a from the activation's output y. */
function gateSlope(y: number, hard: boolean): number {
  return hard ? (y > 0 && y < 1 ? 0.2 : 0) : y * (1 - y);
}

interface ReferenceCache extends RecurrentCache {
  /** (T, B, G*H) activated gates (LSTM i,f,g,o; GRU r,z,n) */
  gates: FloatArray;
  /** (T, B, H) LSTM cell states */
  c: FloatArray | null;
  /** (T, B, H) tanh of the cell states */
  tc: FloatArray | null;
  /** (T, B, H) LSTM pre-projection outputs m = o tanh(c) */
  m: FloatArray | null;
  /** (T, B, H) GRU Whn h + bhn */
  hn: FloatArray | null;
}

function addRows(dst: FloatArray, dOff: number, rows: number, bias: FloatArray): void {
  const n = bias.length;
  for (let r = 0; r < rows; r++) {
    const o = dOff + r * n;
    for (let j = 0; j < n; j++) dst[o + j] = dst[o + j]! + bias[j]!;
  }
}

function colSum(src: FloatArray, rows: number, n: number): FloatArray {
  const acc = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    for (let j = 0; j < n; j++) acc[j] += src[o + j]!;
  }
  const out = allocLike(src, n);
  out.set(acc);
  return out;
}

/**
 * What every step of one direction computes, from the forward's own arrays: h (T, B, Hout),
 * each gate block's activation (T, B, G*H: LSTM i, f, g, o and GRU r, z, n after their
 * nonlinearities; the RNN's one block before its tanh) and, for the LSTM, c (T, B, H).
 */
export function recurrentActivations(dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null):
  { out: FloatArray; gates: FloatArray; c: FloatArray | null } {
  const r = recurrentForward(dims, w, x, h0, c0, false, true);
  const cache = r.cache as ReferenceCache;
  return { out: r.out, gates: cache.gates, c: cache.c };
}

export function recurrentForward(dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray,
  c0: FloatArray | null, reverse: boolean, keepCache: boolean): RecurrentForwardResult {
  const { kind, T, B, I, H, P } = dims;
  const Hout = P || H;
  const G = gateCount(kind);
  const GH = G * H;
  const BH = B * H;
  // input projection of every step at once: (T*B, I) @ wih^T -> (T*B, GH)
  const gates = allocLike(x, T * B * GH);
  gemm(false, true, T * B, GH, I, x, 0, w.wih, 0, gates, 0, false);
  if (w.bih) addRows(gates, 0, T * B, w.bih);
  const out = allocLike(x, T * B * Hout);
  const hh = allocLike(x, B * GH); // (B, GH) recurrent projection of one step
  const lstm = kind === 'lstm';
  const cAll = lstm ? allocLike(x, T * BH) : null;
  const tcAll = lstm ? allocLike(x, T * BH) : null;
  const mAll = lstm && P > 0 ? allocLike(x, T * BH) : null;
  const hnAll = kind === 'gru' ? allocLike(x, T * BH) : null;
  const act = dims.gateActivation === 'hard_sigmoid' ? hardSigmoid : sigmoid;
  const resetBefore = kind === 'gru' && dims.resetAfter === false;
  const rh = resetBefore ? allocLike(x, BH) : null; // (B, H) r * h of one step
  const hnB = resetBefore ? allocLike(x, BH) : null; // (B, H) Whn (r h) + bhn of one step

  let hArr: FloatArray = h0;
  let hOff = 0;
  let cArr: FloatArray | null = c0;
  let cOff = 0;
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    gemm(false, true, B, GH, Hout, hArr, hOff, w.whh!, 0, hh, 0, false);
    if (w.bhh) addRows(hh, 0, B, w.bhh);
    const gBase = t * B * GH;
    const sBase = t * BH;
    if (lstm) {
      const cAllA = cAll!;
      const tcA = tcAll!;
      const mDst = mAll ?? out; // without a projection m is the output itself
      for (let b = 0; b < B; b++) {
        const row = gBase + b * GH;
        const hrow = b * GH;
        for (let j = 0; j < H; j++) {
          const ig = act(gates[row + j]! + hh[hrow + j]!);
          const fg = act(gates[row + H + j]! + hh[hrow + H + j]!);
          const gg = Math.tanh(gates[row + 2 * H + j]! + hh[hrow + 2 * H + j]!);
          const og = act(gates[row + 3 * H + j]! + hh[hrow + 3 * H + j]!);
          gates[row + j] = ig;
          gates[row + H + j] = fg;
          gates[row + 2 * H + j] = gg;
          gates[row + 3 * H + j] = og;
          const c = fg * cArr![cOff + b * H + j]! + ig * gg;
          cAllA[sBase + b * H + j] = c;
          const tc = Math.tanh(cAllA[sBase + b * H + j]!);
          tcA[sBase + b * H + j] = tc;
          mDst[sBase + b * H + j] = og * tc;
        }
      }
      if (mAll) gemm(false, true, B, P, H, mAll, sBase, w.whr!, 0, out, t * B * P, false);
      cArr = cAllA;
      cOff = sBase;
    } else if (kind === 'gru') {
      const hnA = hnAll!;
      for (let b = 0; b < B; b++) {
        const row = gBase + b * GH;
        const hrow = b * GH;
        for (let j = 0; j < H; j++) {
          const r = act(gates[row + j]! + hh[hrow + j]!);
          const z = act(gates[row + H + j]! + hh[hrow + H + j]!);
          gates[row + j] = r;
          gates[row + H + j] = z;
          if (rh) rh[b * H + j] = r * hArr[hOff + b * H + j]!;
        }
      }
      if (rh) {
        // reset before the product: Whn (r h) + bhn, the n block of whh being rows 2H..3H
        gemm(false, true, B, H, H, rh, 0, w.whh!, 2 * H * H, hnB!, 0, false);
        if (w.bhh) for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) hnB![b * H + j] = hnB![b * H + j]! + w.bhh[2 * H + j]!;
      }
      for (let b = 0; b < B; b++) {
        const row = gBase + b * GH;
        const hrow = b * GH;
        for (let j = 0; j < H; j++) {
          const r = gates[row + j]!;
          const z = gates[row + H + j]!;
          const hn = rh ? hnB![b * H + j]! : hh[hrow + 2 * H + j]!;
          const n = Math.tanh(gates[row + 2 * H + j]! + (rh ? hn : r * hn));
          gates[row + 2 * H + j] = n;
          hnA[sBase + b * H + j] = hn;
          out[sBase + b * H + j] = (1 - z) * n + z * hArr[hOff + b * H + j]!;
        }
      }
    } else {
      const relu = kind === 'rnn_relu';
      for (let i = 0; i < BH; i++) {
        const a = gates[gBase + i]! + hh[i]!;
        out[sBase + i] = relu ? (a > 0 ? a : 0) : Math.tanh(a);
      }
    }
    hArr = out;
    hOff = t * B * Hout;
  }
  const hN = allocLike(x, B * Hout);
  hN.set(hArr.subarray(hOff, hOff + B * Hout));
  let cN: FloatArray | null = null;
  if (lstm) {
    cN = allocLike(x, BH);
    cN.set(cArr!.subarray(cOff, cOff + BH));
  }
  const cache: ReferenceCache | null = keepCache
    ? { backend: 'reference', gates, c: cAll, tc: tcAll, m: mAll, hn: hnAll }
    : null;
  return { out, hN, cN, cache };
}

export function recurrentBackward(dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray,
  c0: FloatArray | null, reverse: boolean, fwd: RecurrentForwardResult, dOut: FloatArray | null,
  dhN: FloatArray | null, dcN: FloatArray | null, needs: RecurrentNeeds = ALL_RECURRENT_GRADS): RecurrentGrads {
  const cache = fwd.cache as ReferenceCache | null;
  if (!cache || cache.backend !== 'reference') throw new Error('recurrentBackward: the forward pass kept no reference cache');
  const { kind, T, B, I, H, P } = dims;
  const Hout = P || H;
  const G = gateCount(kind);
  const GH = G * H;
  const BH = B * H;
  const { gates } = cache;
  const out = fwd.out;
  const lstm = kind === 'lstm';
  const gru = kind === 'gru';
  const dAx = allocLike(x, T * B * GH); // gradient of the input-side pre-activations
  const dAh = gru ? allocLike(x, T * B * GH) : dAx; // hidden side (differs only for the GRU's n gate)
  const dh = allocLike(x, B * Hout);
  if (dhN) dh.set(dhN);
  const dc = lstm ? allocLike(x, BH) : null;
  if (dc && dcN) dc.set(dcN);
  const dhAll = P > 0 ? allocLike(x, T * B * P) : null;
  const dm = P > 0 ? allocLike(x, BH) : dh;
  const hard = dims.gateActivation === 'hard_sigmoid';
  const resetBefore = gru && dims.resetAfter === false;
  const danB = resetBefore ? allocLike(x, BH) : null;
  const drh = resetBefore ? allocLike(x, BH) : null;
  const rzBuf = resetBefore ? allocLike(x, B * 2 * H) : null;
  /** The r and z columns of one step's dAh, contiguous (B, 2H). */
  const dAhRZ = (gBase: number): FloatArray => {
    for (let b = 0; b < B; b++) rzBuf!.set(dAh.subarray(gBase + b * GH, gBase + b * GH + 2 * H), b * 2 * H);
    return rzBuf!;
  };

  for (let s = T - 1; s >= 0; s--) {
    const t = reverse ? T - 1 - s : s;
    const tp = reverse ? t + 1 : t - 1; // the step before in processing order (valid for s > 0)
    const gBase = t * B * GH;
    const sBase = t * BH;
    if (dOut) {
      const o = t * B * Hout;
      for (let i = 0; i < B * Hout; i++) dh[i] = dh[i]! + dOut[o + i]!;
    }
    if (lstm) {
      if (dhAll) {
        dhAll.set(dh, t * B * P);
        gemm(false, false, B, H, P, dh, 0, w.whr!, 0, dm, 0, false);
      }
      const cPrev = s > 0 ? cache.c! : c0!;
      const cpOff = s > 0 ? tp * BH : 0;
      const tc = cache.tc!;
      for (let b = 0; b < B; b++) {
        const row = gBase + b * GH;
        for (let j = 0; j < H; j++) {
          const k = b * H + j;
          const ig = gates[row + j]!, fg = gates[row + H + j]!, gg = gates[row + 2 * H + j]!, og = gates[row + 3 * H + j]!;
          const tcv = tc[sBase + k]!;
          const dmv = dm[k]!;
          const dcv = dc![k]! + dmv * og * (1 - tcv * tcv);
          dAx[row + j] = dcv * gg * gateSlope(ig, hard);
          dAx[row + H + j] = dcv * cPrev[cpOff + k]! * gateSlope(fg, hard);
          dAx[row + 2 * H + j] = dcv * ig * (1 - gg * gg);
          dAx[row + 3 * H + j] = dmv * tcv * gateSlope(og, hard);
          dc![k] = dcv * fg;
        }
      }
      gemm(false, false, B, Hout, GH, dAx, gBase, w.whh!, 0, dh, 0, false);
    } else if (gru) {
      const hPrev = s > 0 ? out : h0;
      const hpOff = s > 0 ? tp * BH : 0;
      const hnA = cache.hn!;
      for (let b = 0; b < B; b++) {
        const row = gBase + b * GH;
        for (let j = 0; j < H; j++) {
          const k = b * H + j;
          const r = gates[row + j]!, z = gates[row + H + j]!, n = gates[row + 2 * H + j]!;
          const dhv = dh[k]!;
          const dan = dhv * (1 - z) * (1 - n * n);
          const daz = dhv * (hPrev[hpOff + k]! - n) * gateSlope(z, hard);
          dAx[row + H + j] = daz;
          dAx[row + 2 * H + j] = dan;
          dAh[row + H + j] = daz;
          if (resetBefore) {
            dAh[row + 2 * H + j] = dan; // the n block's pre-activation Whn (r h) + bhn
            danB![k] = dan;
          } else {
            const dar = dan * hnA[sBase + k]! * gateSlope(r, hard);
            dAx[row + j] = dar;
            dAh[row + j] = dar;
            dAh[row + 2 * H + j] = dan * r;
          }
          dh[k] = dhv * z;
        }
      }
      if (resetBefore) {
        // d(r h) = dan @ Whn; dr = d(r h) h_prev; dh_prev += d(r h) r
        gemm(false, false, B, H, H, danB!, 0, w.whh!, 2 * H * H, drh!, 0, false);
        for (let b = 0; b < B; b++) {
          const row = gBase + b * GH;
          for (let j = 0; j < H; j++) {
            const k = b * H + j;
            const r = gates[row + j]!;
            const dar = drh![k]! * hPrev[hpOff + k]! * gateSlope(r, hard);
            dAx[row + j] = dar;
            dAh[row + j] = dar;
            dh[k] = dh[k]! + drh![k]! * r;
          }
        }
        // the r and z blocks only: the n block went through r h above
        gemm(false, false, B, H, 2 * H, dAhRZ(gBase), 0, w.whh!, 0, dh, 0, true);
      } else {
        gemm(false, false, B, H, GH, dAh, gBase, w.whh!, 0, dh, 0, true);
      }
    } else {
      const relu = kind === 'rnn_relu';
      for (let i = 0; i < BH; i++) {
        const h = out[sBase + i]!;
        dAx[gBase + i] = dh[i]! * (relu ? (h > 0 ? 1 : 0) : 1 - h * h);
      }
      gemm(false, false, B, H, H, dAx, gBase, w.whh!, 0, dh, 0, false);
    }
  }

  // weight gradients over all steps at once
  const TB = T * B;
  let dx: FloatArray | null = null;
  if (needs.input) {
    dx = allocLike(x, TB * I);
    gemm(false, false, TB, I, GH, dAx, 0, w.wih, 0, dx, 0, false);
  }
  if (!needs.params) return { dx, dh0: dh, dc0: dc, dwih: null, dwhh: null, dbih: null, dbhh: null, dwhr: null };
  const dwih = allocLike(x, GH * I);
  gemm(true, false, GH, I, TB, dAx, 0, x, 0, dwih, 0, false);
  // hPrev for every step, in time position: the state each step read
  const hPrevAll = allocLike(x, TB * Hout);
  for (let t = 0; t < T; t++) {
    const first = reverse ? t === T - 1 : t === 0;
    const dst = t * B * Hout;
    if (first) hPrevAll.set(h0.subarray(0, B * Hout), dst);
    else {
      const src = (reverse ? t + 1 : t - 1) * B * Hout;
      hPrevAll.set(out.subarray(src, src + B * Hout), dst);
    }
  }
  const dwhh = allocLike(x, GH * Hout);
  gemm(true, false, GH, Hout, TB, dAh, 0, hPrevAll, 0, dwhh, 0, false);
  if (resetBefore) {
    // rows 2H..3H of dwhh pair the n block's gradient with r h, not h
    const dan = allocLike(x, TB * H);
    const rhAll = allocLike(x, TB * H);
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const row = t * B * GH + b * GH;
        const k = (t * B + b) * H;
        for (let j = 0; j < H; j++) {
          dan[k + j] = dAh[row + 2 * H + j]!;
          rhAll[k + j] = gates[row + j]! * hPrevAll[k + j]!;
        }
      }
    }
    gemm(true, false, H, H, TB, dan, 0, rhAll, 0, dwhh, 2 * H * H, false);
  }
  const dbih = w.bih ? colSum(dAx, TB, GH) : null;
  const dbhh = w.bhh ? colSum(dAh, TB, GH) : null;
  let dwhr: FloatArray | null = null;
  if (dhAll) {
    dwhr = allocLike(x, P * H);
    gemm(true, false, P, H, TB, dhAll, 0, cache.m!, 0, dwhr, 0, false);
  }
  return { dx, dh0: dh, dc0: dc, dwih, dwhh, dbih, dbhh, dwhr };
}
