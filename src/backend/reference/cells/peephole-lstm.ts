/**
 * LSTM with peephole connections (Gers & Schmidhuber 2000), in the form ONNX's LSTM takes with
 * its input P: the input and forget gates see the previous cell state, the output gate the new
 * one. PyTorch's gate order (i, f, g, o) and biases, plus one weight per unit for each peephole.
 *
 *   z = W_ih x + b_ih + W_hh h + b_hh = [zi, zf, zg, zo]        (B, 4H)
 *   i = sigmoid(zi + w_ci c),  f = sigmoid(zf + w_cf c),  g = tanh(zg)
 *   c' = f c + i g,  o = sigmoid(zo + w_co c'),  h' = o tanh(c')
 *
 * Backward through one step, from dh' (the output's gradient plus the next step's) and dc' (the
 * next step's cell gradient):
 *   dzo = dh' tanh(c') o (1 - o)
 *   dC  = dc' + dh' o (1 - tanh(c')^2) + dzo w_co             (all of c''s gradient)
 *   dzi = dC g i (1 - i),  dzf = dC c f (1 - f),  dzg = dC i (1 - g^2)
 *   dc  = dC f + dzi w_ci + dzf w_cf                           (carried to the step before)
 *   dw_ci += dzi c,  dw_cf += dzf c,  dw_co += dzo c'
 *   dh  = dz @ W_hh;  dW_ih, dW_hh, db over every step as for the LSTM.
 *
 * Legend: T steps, B batch, I input, H hidden.
 */
import { allocLike, type FloatArray } from '../../../tensor/dtype.js';
import type { RecurrentCache, RecurrentDims, RecurrentForwardResult, RecurrentGrads, RecurrentNeeds, RecurrentWeights } from '../../backend.js';
import { gemm } from '../gemm.js';
import { inputProjection, positionAt, statesRead, columnSums, inputProjectionGrads, rounded, sigmoid } from './common.js';

interface PeepholeCache extends RecurrentCache {
  /** (T, B, 4H) the activated gates i, f, g, o */
  gates: FloatArray;
  /** (T, B, H) the cell states, and their tanh */
  c: FloatArray;
  tc: FloatArray;
}

const peep = (w: RecurrentWeights, role: 'wci' | 'wcf' | 'wco'): FloatArray => {
  const p = w.extra?.[role];
  if (!p) throw new Error(`peephole LSTM: the weights have no '${role}'`);
  return p;
};

export function peepholeForward(dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
  reverse: boolean, keepCache: boolean): RecurrentForwardResult {
  const { T, B, I, H } = dims;
  const GH = 4 * H;
  const BH = B * H;
  const wci = peep(w, 'wci'), wcf = peep(w, 'wcf'), wco = peep(w, 'wco');
  const gates = inputProjection(x, w.wih, w.bih, T * B, GH, I); // (T*B, 4H): W_ih x + b_ih, activated in place
  const hh = allocLike(x, B * GH);
  const out = allocLike(x, T * BH);
  const cAll = allocLike(x, T * BH);
  const tcAll = allocLike(x, T * BH);
  let hArr: FloatArray = h0, hOff = 0;
  let cArr: FloatArray = c0!, cOff = 0;
  for (let s = 0; s < T; s++) {
    const t = positionAt(s, T, reverse);
    gemm(false, true, B, GH, H, hArr, hOff, w.whh!, 0, hh, 0, false);
    for (let b = 0; b < B; b++) {
      const row = (t * B + b) * GH;
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        const z = (q: number): number => gates[row + q * H + j]! + hh[b * GH + q * H + j]! + (w.bhh ? w.bhh[q * H + j]! : 0);
        const cp = cArr[cOff + k]!;
        const i = sigmoid(z(0) + wci[j]! * cp);
        const f = sigmoid(z(1) + wcf[j]! * cp);
        const g = Math.tanh(z(2));
        const c = f * cp + i * g;
        const o = sigmoid(z(3) + wco[j]! * c);
        const tc = Math.tanh(c);
        gates[row + j] = i;
        gates[row + H + j] = f;
        gates[row + 2 * H + j] = g;
        gates[row + 3 * H + j] = o;
        cAll[t * BH + k] = c;
        tcAll[t * BH + k] = tc;
        out[t * BH + k] = o * tc;
      }
    }
    hArr = out;
    hOff = t * BH;
    cArr = cAll;
    cOff = t * BH;
  }
  const hN = out.slice(hOff, hOff + BH);
  const cN = cAll.slice(cOff, cOff + BH);
  const cache: PeepholeCache | null = keepCache ? { backend: 'reference', gates, c: cAll, tc: tcAll } : null;
  return { out, hN, cN, cache };
}

export function peepholeBackward(dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
  reverse: boolean, fwd: RecurrentForwardResult, dOut: FloatArray | null, dhN: FloatArray | null, dcN: FloatArray | null,
  needs: RecurrentNeeds): RecurrentGrads {
  const cache = fwd.cache as PeepholeCache | null;
  if (!cache || cache.backend !== 'reference') throw new Error('recurrentBackward: the forward pass kept no reference cache');
  const { T, B, I, H } = dims;
  const GH = 4 * H;
  const BH = B * H;
  const wci = peep(w, 'wci'), wcf = peep(w, 'wcf'), wco = peep(w, 'wco');
  const { gates, c: cAll, tc: tcAll } = cache;
  const dA = allocLike(x, T * B * GH);
  const dh = allocLike(x, BH);
  if (dhN) dh.set(dhN);
  const dc = allocLike(x, BH);
  if (dcN) dc.set(dcN);
  const accCi = new Float64Array(H), accCf = new Float64Array(H), accCo = new Float64Array(H);
  for (let s = T - 1; s >= 0; s--) {
    const t = positionAt(s, T, reverse);
    const tp = reverse ? t + 1 : t - 1;
    const cPrev = s > 0 ? cAll : c0!;
    const cpOff = s > 0 ? tp * BH : 0;
    if (dOut) for (let k = 0; k < BH; k++) dh[k] = dh[k]! + dOut[t * BH + k]!;
    for (let b = 0; b < B; b++) {
      const row = (t * B + b) * GH;
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        const i = gates[row + j]!, f = gates[row + H + j]!, g = gates[row + 2 * H + j]!, o = gates[row + 3 * H + j]!;
        const tc = tcAll[t * BH + k]!;
        const cp = cPrev[cpOff + k]!;
        const dzo = dh[k]! * tc * o * (1 - o);
        const dC = dc[k]! + dh[k]! * o * (1 - tc * tc) + dzo * wco[j]!;
        const dzi = dC * g * i * (1 - i);
        const dzf = dC * cp * f * (1 - f);
        const dzg = dC * i * (1 - g * g);
        dA[row + j] = dzi;
        dA[row + H + j] = dzf;
        dA[row + 2 * H + j] = dzg;
        dA[row + 3 * H + j] = dzo;
        dc[k] = dC * f + dzi * wci[j]! + dzf * wcf[j]!;
        accCi[j] += dzi * cp;
        accCf[j] += dzf * cp;
        accCo[j] += dzo * cAll[t * BH + k]!;
      }
    }
    gemm(false, false, B, H, GH, dA, t * B * GH, w.whh!, 0, dh, 0, false);
  }
  const TB = T * B;
  const { dx, dwih } = inputProjectionGrads(dA, x, w.wih, TB, GH, I, needs.input, needs.params);
  if (!needs.params) return { dx, dh0: dh, dc0: dc, dwih: null, dwhh: null, dbih: null, dbhh: null, dwhr: null, dextra: null };
  const dwhh = allocLike(x, GH * H);
  gemm(true, false, GH, H, TB, dA, 0, statesRead(fwd.out, h0, T, B, H, reverse), 0, dwhh, 0, false);
  const db = columnSums(dA, TB, GH);
  return {
    dx, dh0: dh, dc0: dc, dwih, dwhh, dbih: w.bih ? db : null, dbhh: w.bhh ? db.slice() : null, dwhr: null,
    dextra: { wci: rounded(accCi, x), wcf: rounded(accCf, x), wco: rounded(accCo, x) },
  };
}
