/**
 * Recurrent dropout and zoneout, for every kind of cell on every backend: a sequence becomes one
 * call of the backend's own kernels per step (T = 1), with the regulariser applied to the state
 * between steps. So every cell gets both at once, each backend's kernels stay the specification's,
 * and what a regulariser does is written here only.
 *
 * Legend: T steps, B batch, I input features, H hidden size, Hout = P || H (the width of h).
 *
 * Recurrent dropout (Gal & Ghahramani 2016, Keras's `recurrent_dropout`): the state h_{t-1}
 * entering step t is h_{t-1} * m, with one mask m (B, Hout) for the whole sequence (0, or
 * 1 / (1 - p) where kept). As in Keras, the masked h replaces h_{t-1} everywhere in the step: for
 * an LSTM only the recurrent product reads it, for a GRU also the interpolation (1 - z) n + z h.
 *
 * Zoneout (Krueger et al. 2016): each unit of h (and of c) keeps its previous value with
 * probability p: h_t = d_t * h_{t-1} + (1 - d_t) * h~_t, d_t in {0, 1} drawn per step and unit in
 * training, and d_t = p (the expectation) at evaluation. The output at step t is h_t.
 *
 * BPTT through one step, from dh_t and dc_t (the step's output gradient added to dh_t):
 *   dh~_t = (1 - d_t) dh_t,  dc~_t = (1 - e_t) dc_t    (e_t: c's zoneout weights)
 *   the step kernel's backward from (dh~_t, dc~_t) gives dx_t, dh_in, dc_{t-1}', and the weights'
 *   dh_{t-1} = d_t dh_t + m * dh_in,   dc_{t-1} = e_t dc_t + dc_{t-1}'
 */
import { allocLike, type FloatArray } from '../tensor/dtype.js';
import {
  ALL_RECURRENT_GRADS, generateByRuns, type Backend, type RecurrentCache, type RecurrentDims, type RecurrentForwardResult,
  type RecurrentGrads, type RecurrentNeeds, type RecurrentStepper, type RecurrentWeights, type StepResult, type StepperExtras,
} from './backend.js';

/**
 * One direction's regularisers for one sequence. A zoneout weight is an array (T, B, width) of
 * per-step keep flags (training) or one number for every unit and step (evaluation: p).
 */
export interface RecurrentRegularisers {
  /** (B, Hout): multiplies h_{t-1} where it enters each step; constant over the sequence */
  recurrentMask: FloatArray | null;
  /** zoneout of h: (T, B, Hout) in 0..1, or one weight */
  zoneH: FloatArray | number | null;
  /** zoneout of c (cells with c): (T, B, H), or one weight */
  zoneC: FloatArray | number | null;
}

/** Whether the regularisers change anything. */
export function regularises(r: RecurrentRegularisers | null | undefined): r is RecurrentRegularisers {
  return !!r && (r.recurrentMask !== null || (r.zoneH !== null && r.zoneH !== 0) || (r.zoneC !== null && r.zoneC !== 0));
}

interface StepRecord {
  /** the step's rows of x (one view, read again by backward) */
  x: FloatArray;
  /** the state the step kernel read: h_{t-1} * m, and c_{t-1} */
  hin: FloatArray;
  cin: FloatArray | null;
  run: RecurrentForwardResult;
}

interface RegularisedCache extends RecurrentCache {
  steps: StepRecord[];
  reg: RecurrentRegularisers;
}

/** A new array w * prev + (1 - w) * next, w one weight or an array read from `at` on. */
function blend(prev: FloatArray, next: FloatArray, w: FloatArray | number, at: number): FloatArray {
  const out = allocLike(next, next.length);
  if (typeof w === 'number') {
    for (let i = 0; i < next.length; i++) out[i] = w * prev[i]! + (1 - w) * next[i]!;
  } else {
    for (let i = 0; i < next.length; i++) {
      const d = w[at + i]!;
      out[i] = d * prev[i]! + (1 - d) * next[i]!;
    }
  }
  return out;
}

function masked(h: FloatArray, m: FloatArray | null): FloatArray {
  if (!m) return h;
  const out = allocLike(h, h.length);
  for (let i = 0; i < h.length; i++) out[i] = h[i]! * m[i]!;
  return out;
}

/**
 * One direction of a layer over x (T, B, I) with regularisers: the backend's T = 1 kernels step
 * by step. Same contract as `Backend.recurrentForward`.
 */
export function regularisedForward(bk: Backend, dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray,
  c0: FloatArray | null, reverse: boolean, reg: RecurrentRegularisers, keepCache: boolean): RecurrentForwardResult {
  const { T, B, I, H, P } = dims;
  const Hout = P || H;
  const step: RecurrentDims = { ...dims, T: 1 };
  const out = allocLike(x, T * B * Hout);
  const steps: StepRecord[] = [];
  let h = h0;
  let c = c0;
  try {
    for (let s = 0; s < T; s++) {
      const t = reverse ? T - 1 - s : s;
      const hin = masked(h, reg.recurrentMask);
      const xt = x.subarray(t * B * I, (t + 1) * B * I);
      const run = bk.recurrentForward(step, w, xt, hin, c, false, keepCache);
      const hNew = reg.zoneH !== null && reg.zoneH !== 0 ? blend(h, run.hN, reg.zoneH, t * B * Hout) : run.hN;
      const cNew = c && run.cN && reg.zoneC !== null && reg.zoneC !== 0 ? blend(c, run.cN, reg.zoneC, t * B * H) : run.cN;
      out.set(hNew, t * B * Hout);
      if (keepCache) steps.push({ x: xt, hin, cin: c, run });
      h = hNew;
      c = cNew;
    }
  } catch (e) {
    for (const r of steps) r.run.cache?.release?.();
    throw e;
  }
  const cache: RegularisedCache | null = keepCache
    ? { backend: bk.name, steps, reg, release: () => { for (const r of steps) r.run.cache?.release?.(); steps.length = 0; } }
    : null;
  return { out, hN: h, cN: c, cache };
}

/** Adds b into a (both of one length), or returns b when a is null. */
function accumulate(a: FloatArray | null, b: FloatArray | null): FloatArray | null {
  if (!b) return a;
  if (!a) return b;
  for (let i = 0; i < a.length; i++) a[i] = a[i]! + b[i]!;
  return a;
}

/** Backpropagation through a `regularisedForward` run; the contract of `Backend.recurrentBackward`. */
export function regularisedBackward(bk: Backend, dims: RecurrentDims, w: RecurrentWeights, x: FloatArray,
  reverse: boolean, fwd: RecurrentForwardResult, dOut: FloatArray | null, dhN: FloatArray | null, dcN: FloatArray | null,
  needs: RecurrentNeeds = ALL_RECURRENT_GRADS): RecurrentGrads {
  const cache = fwd.cache as RegularisedCache | null;
  if (!cache || cache.steps.length !== dims.T) throw new Error('recurrentBackward: the forward was run without keepCache, or its cache was released');
  const { T, B, I, H, P } = dims;
  const Hout = P || H;
  const step: RecurrentDims = { ...dims, T: 1 };
  const { recurrentMask: m, zoneH, zoneC } = cache.reg;
  const hasC = fwd.cN !== null;
  let dh = allocLike(x, B * Hout);
  if (dhN) dh.set(dhN);
  let dc: FloatArray | null = hasC ? allocLike(x, B * H) : null;
  if (dc && dcN) dc.set(dcN);
  const dx = needs.input ? allocLike(x, T * B * I) : null;
  const g: RecurrentGrads = { dx, dh0: dh, dc0: dc, dwih: null, dwhh: null, dbih: null, dbhh: null, dwhr: null, dextra: null };
  const dextra: Record<string, FloatArray> = {};
  for (let s = T - 1; s >= 0; s--) {
    const t = reverse ? T - 1 - s : s;
    const rec = cache.steps[s]!;
    if (dOut) for (let i = 0; i < B * Hout; i++) dh[i] = dh[i]! + dOut[t * B * Hout + i]!;
    // split each state's gradient between the kept previous value and the step's new one
    const split = (d: FloatArray, zone: FloatArray | number | null, width: number): [FloatArray, FloatArray | null] => {
      if (zone === null || zone === 0) return [d, null];
      const toNew = allocLike(d, d.length);
      const toPrev = allocLike(d, d.length);
      for (let i = 0; i < d.length; i++) {
        const z = typeof zone === 'number' ? zone : zone[t * B * width + i]!;
        toNew[i] = (1 - z) * d[i]!;
        toPrev[i] = z * d[i]!;
      }
      return [toNew, toPrev];
    };
    const [dhNew, dhPrev] = split(dh, zoneH, Hout);
    const [dcNew, dcPrev] = dc ? split(dc, zoneC, H) : [null, null];
    const r = bk.recurrentBackward(step, w, rec.x, rec.hin, rec.cin, false, rec.run, null, dhNew, dcNew, needs);
    if (dx && r.dx) dx.set(r.dx, t * B * I);
    const dhin = r.dh0;
    const next = allocLike(x, B * Hout);
    for (let i = 0; i < next.length; i++) next[i] = (dhPrev ? dhPrev[i]! : 0) + (m ? m[i]! : 1) * dhin[i]!;
    dh = next;
    if (dc) {
      const nc = allocLike(x, B * H);
      for (let i = 0; i < nc.length; i++) nc[i] = (dcPrev ? dcPrev[i]! : 0) + r.dc0![i]!;
      dc = nc;
    }
    if (needs.params) {
      g.dwih = accumulate(g.dwih, r.dwih);
      g.dwhh = accumulate(g.dwhh, r.dwhh);
      g.dbih = accumulate(g.dbih, r.dbih);
      g.dbhh = accumulate(g.dbhh, r.dbhh);
      g.dwhr = accumulate(g.dwhr, r.dwhr);
      for (const [role, d] of Object.entries(r.dextra ?? {})) dextra[role] = accumulate(dextra[role] ?? null, d)!;
    }
  }
  g.dh0 = dh;
  g.dc0 = dc;
  if (needs.params && Object.keys(dextra).length) g.dextra = dextra;
  return g;
}

/**
 * A stepper for a layer trained with zoneout: at evaluation each step's new state is
 * p * previous + (1 - p) * new, so steps go one at a time through the inner stepper (made without
 * a head), and the head, when there is one, reads the blended state.
 */
export function zoneoutStepper(bk: Backend, inner: RecurrentStepper, p: number,
  /** values of x per step and row: the input width, or 1 (a token id) with an embedding */
  inputWidth: number, head?: StepperExtras['head']): RecurrentStepper {
  const s: RecurrentStepper = {
    run(x, T, B, h0, c0, lastOnly = false): StepResult {
      const Hout = h0.length / B;
      const per = B * inputWidth;
      let h = h0;
      let c = c0;
      const out = allocLike(h0, T * B * Hout);
      for (let t = 0; t < T; t++) {
        const r = inner.run(x.subarray(t * per, (t + 1) * per), 1, B, h, c);
        h = blend(h, r.hN, p, 0);
        c = c && r.cN ? blend(c, r.cN, p, 0) : r.cN;
        out.set(h, t * B * Hout);
      }
      let logits: FloatArray | null = null;
      if (head) {
        const rows = T * B;
        logits = allocLike(h0, rows * head.O);
        if (head.bias) for (let r = 0; r < rows; r++) logits.set(head.bias, r * head.O);
        bk.gemm(false, true, rows, head.O, Hout, out, 0, head.weight, 0, logits, 0, head.bias !== null);
      }
      return { out: lastOnly ? h : out, hN: h, cN: c, logits };
    },
    generate: (first, n, h0, c0, sample, uniforms, above) => generateByRuns(s, first, n, h0, c0, sample, uniforms, above),
    dispose: () => inner.dispose(),
  };
  return s;
}
