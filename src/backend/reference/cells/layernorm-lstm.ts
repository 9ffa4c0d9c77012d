/**
 * Layer-normalised LSTM, as PyTorch's own LayerNormLSTMCell (its benchmarks' custom_lstms.py):
 * one LayerNorm over all four gate blocks of each product, in place of the biases, and one over
 * the new cell state, which is the state carried on.
 *
 *   s  = LN_i(W_ih x) + LN_h(W_hh h) = [si, sf, sg, so]          (B, 4H)
 *   i, f, o = sigmoid(si, sf, so),  g = tanh(sg)
 *   c' = LN_c(f c + i g),  h' = o tanh(c')
 *   LN(z) = (z - mean z) / sqrt(var z + eps) * gain + shift over the row's features (var biased), eps 1e-5
 *
 * Backward through one step, from dh' and dc' (the next step's gradient of the state c'):
 *   dso = dh' tanh(c') o (1 - o),  dC = dc' + dh' o (1 - tanh(c')^2)
 *   LN_c: dgain_c += dC n_c, dshift_c += dC, dr = LN'(dC gain_c), r = f c + i g
 *   dsi = dr g i (1 - i),  dsf = dr c f (1 - f),  dsg = dr i (1 - g^2),  dc = dr f
 *   LN_i, LN_h likewise from ds: the gradients of W_ih x (for dW_ih, dx) and of W_hh h (dW_hh, dh)
 * where LN'(g) = rstd (g - mean g - n mean(g n)), n the normalised row, rstd = 1 / sqrt(var + eps).
 *
 * Legend: T steps, B batch, I input, H hidden.
 */
import { allocLike, type FloatArray } from '../../../tensor/dtype.js';
import type { RecurrentCache, RecurrentDims, RecurrentForwardResult, RecurrentGrads, RecurrentNeeds, RecurrentWeights } from '../../backend.js';
import { gemm } from '../gemm.js';
import { inputProjection, positionAt, statesRead, inputProjectionGrads, rounded, sigmoid } from './common.js';

/** PyTorch's LayerNorm default. */
export const LAYERNORM_EPS = 1e-5;

interface LayerNormCache extends RecurrentCache {
  /** (T, B, 4H) normalised W_ih x and W_hh h, and (T, B) their 1 / sqrt(var + eps) */
  nx: FloatArray;
  rx: FloatArray;
  nh: FloatArray;
  rh: FloatArray;
  /** (T, B, 4H) the activated gates i, f, g, o */
  gates: FloatArray;
  /** (T, B, H) the normalised f c + i g, its rstd (T, B), the cell state c' and its tanh */
  nc: FloatArray;
  rc: FloatArray;
  c: FloatArray;
  tc: FloatArray;
}

/** Normalises src[off..off+n) into dst[off..): returns 1 / sqrt(var + eps). */
function normalise(src: FloatArray, dst: FloatArray, off: number, n: number): number {
  let mean = 0;
  for (let j = 0; j < n; j++) mean += src[off + j]!;
  mean /= n;
  let v = 0;
  for (let j = 0; j < n; j++) v += (src[off + j]! - mean) ** 2;
  const rstd = 1 / Math.sqrt(v / n + LAYERNORM_EPS);
  for (let j = 0; j < n; j++) dst[off + j] = (src[off + j]! - mean) * rstd;
  return rstd;
}

/**
 * LayerNorm's backward on one row: from the output's gradient dy (n, at dyOff) and the
 * normalised row nrm (at nOff), the input's gradient into dz (at dzOff); the gain's and the
 * shift's gradients are added to dGain, dShift.
 */
function normBackward(dy: ArrayLike<number>, dyOff: number, nrm: FloatArray, nOff: number, rstd: number, gain: FloatArray,
  dz: FloatArray, dzOff: number, n: number, dGain: Float64Array, dShift: Float64Array): void {
  let mg = 0;
  let mgn = 0;
  for (let j = 0; j < n; j++) {
    const g = dy[dyOff + j]! * gain[j]!;
    mg += g;
    mgn += g * nrm[nOff + j]!;
    dGain[j] += dy[dyOff + j]! * nrm[nOff + j]!;
    dShift[j] += dy[dyOff + j]!;
  }
  mg /= n;
  mgn /= n;
  for (let j = 0; j < n; j++) dz[dzOff + j] = rstd * (dy[dyOff + j]! * gain[j]! - mg - nrm[nOff + j]! * mgn);
}

const ROLES = ['lni_w', 'lni_b', 'lnh_w', 'lnh_b', 'lnc_w', 'lnc_b'] as const;
type Role = (typeof ROLES)[number];

function norms(w: RecurrentWeights): Record<Role, FloatArray> {
  const out = {} as Record<Role, FloatArray>;
  for (const r of ROLES) {
    const p = w.extra?.[r];
    if (!p) throw new Error(`layer-norm LSTM: the weights have no '${r}'`);
    out[r] = p;
  }
  return out;
}

export function layerNormForward(dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
  reverse: boolean, keepCache: boolean): RecurrentForwardResult {
  const { T, B, I, H } = dims;
  const GH = 4 * H;
  const BH = B * H;
  const ln = norms(w);
  const ax = inputProjection(x, w.wih, null, T * B, GH, I); // (T*B, 4H) W_ih x
  const nx = allocLike(x, T * B * GH), rx = allocLike(x, T * B);
  const nh = allocLike(x, T * B * GH), rh = allocLike(x, T * B);
  const gates = allocLike(x, T * B * GH);
  const nc = allocLike(x, T * BH), rc = allocLike(x, T * B);
  const cAll = allocLike(x, T * BH), tcAll = allocLike(x, T * BH);
  const out = allocLike(x, T * BH);
  const hh = allocLike(x, B * GH);
  const r = allocLike(x, H); // one row's f c + i g
  let hArr: FloatArray = h0, hOff = 0;
  let cArr: FloatArray = c0!, cOff = 0;
  for (let s = 0; s < T; s++) {
    const t = positionAt(s, T, reverse);
    gemm(false, true, B, GH, H, hArr, hOff, w.whh!, 0, hh, 0, false);
    for (let b = 0; b < B; b++) {
      const tb = t * B + b;
      const row = tb * GH;
      rx[tb] = normalise(ax, nx, row, GH);
      // W_hh h of this row, normalised into nh's row
      for (let j = 0; j < GH; j++) nh[row + j] = hh[b * GH + j]!;
      rh[tb] = normalise(nh, nh, row, GH);
      for (let q = 0; q < 4; q++) {
        for (let j = 0; j < H; j++) {
          const m = q * H + j;
          const v = nx[row + m]! * ln.lni_w[m]! + ln.lni_b[m]! + nh[row + m]! * ln.lnh_w[m]! + ln.lnh_b[m]!;
          gates[row + m] = q === 2 ? Math.tanh(v) : sigmoid(v);
        }
      }
      for (let j = 0; j < H; j++) r[j] = gates[row + H + j]! * cArr[cOff + b * H + j]! + gates[row + j]! * gates[row + 2 * H + j]!;
      rc[tb] = normalise(r, r, 0, H);
      nc.set(r, t * BH + b * H);
      for (let j = 0; j < H; j++) {
        const k = t * BH + b * H + j;
        const c = nc[k]! * ln.lnc_w[j]! + ln.lnc_b[j]!;
        cAll[k] = c;
        tcAll[k] = Math.tanh(c);
        out[k] = gates[row + 3 * H + j]! * tcAll[k]!;
      }
    }
    hArr = out;
    hOff = t * BH;
    cArr = cAll;
    cOff = t * BH;
  }
  const hN = out.slice(hOff, hOff + BH);
  const cN = cAll.slice(cOff, cOff + BH);
  const cache: LayerNormCache | null = keepCache ? { backend: 'reference', nx, rx, nh, rh, gates, nc, rc, c: cAll, tc: tcAll } : null;
  return { out, hN, cN, cache };
}

export function layerNormBackward(dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
  reverse: boolean, fwd: RecurrentForwardResult, dOut: FloatArray | null, dhN: FloatArray | null, dcN: FloatArray | null,
  needs: RecurrentNeeds): RecurrentGrads {
  const cache = fwd.cache as LayerNormCache | null;
  if (!cache || cache.backend !== 'reference') throw new Error('recurrentBackward: the forward pass kept no reference cache');
  const { T, B, I, H } = dims;
  const GH = 4 * H;
  const BH = B * H;
  const ln = norms(w);
  const { nx, rx, nh, rh, gates, nc, rc, c: cAll, tc: tcAll } = cache;
  const dAx = allocLike(x, T * B * GH); // gradient of W_ih x
  const dAh = allocLike(x, T * B * GH); // gradient of W_hh h
  const dh = allocLike(x, BH);
  if (dhN) dh.set(dhN);
  const dc = allocLike(x, BH);
  if (dcN) dc.set(dcN);
  const acc = Object.fromEntries(ROLES.map((r) => [r, new Float64Array(r.startsWith('lnc') ? H : GH)])) as Record<Role, Float64Array>;
  const dC = new Float64Array(H);
  const dr = allocLike(x, H);
  const ds = new Float64Array(GH);
  for (let s = T - 1; s >= 0; s--) {
    const t = positionAt(s, T, reverse);
    const tp = reverse ? t + 1 : t - 1;
    const cPrev = s > 0 ? cAll : c0!;
    const cpOff = s > 0 ? tp * BH : 0;
    if (dOut) for (let k = 0; k < BH; k++) dh[k] = dh[k]! + dOut[t * BH + k]!;
    for (let b = 0; b < B; b++) {
      const tb = t * B + b;
      const row = tb * GH;
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        const o = gates[row + 3 * H + j]!;
        const tc = tcAll[t * BH + k]!;
        ds[3 * H + j] = dh[k]! * tc * o * (1 - o);
        dC[j] = dc[k]! + dh[k]! * o * (1 - tc * tc);
      }
      normBackward(dC, 0, nc, t * BH + b * H, rc[tb]!, ln.lnc_w, dr, 0, H, acc.lnc_w, acc.lnc_b);
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        const i = gates[row + j]!, f = gates[row + H + j]!, g = gates[row + 2 * H + j]!;
        ds[j] = dr[j]! * g * i * (1 - i);
        ds[H + j] = dr[j]! * cPrev[cpOff + k]! * f * (1 - f);
        ds[2 * H + j] = dr[j]! * i * (1 - g * g);
        dc[k] = dr[j]! * f;
      }
      normBackward(ds, 0, nx, row, rx[tb]!, ln.lni_w, dAx, row, GH, acc.lni_w, acc.lni_b);
      normBackward(ds, 0, nh, row, rh[tb]!, ln.lnh_w, dAh, row, GH, acc.lnh_w, acc.lnh_b);
    }
    gemm(false, false, B, H, GH, dAh, t * B * GH, w.whh!, 0, dh, 0, false);
  }
  const TB = T * B;
  const { dx, dwih } = inputProjectionGrads(dAx, x, w.wih, TB, GH, I, needs.input, needs.params);
  if (!needs.params) return { dx, dh0: dh, dc0: dc, dwih: null, dwhh: null, dbih: null, dbhh: null, dwhr: null, dextra: null };
  const dwhh = allocLike(x, GH * H);
  gemm(true, false, GH, H, TB, dAh, 0, statesRead(fwd.out, h0, T, B, H, reverse), 0, dwhh, 0, false);
  const dextra = Object.fromEntries(ROLES.map((r) => [r, rounded(acc[r], x)]));
  return { dx, dh0: dh, dc0: dc, dwih, dwhh, dbih: null, dbhh: null, dwhr: null, dextra };
}
