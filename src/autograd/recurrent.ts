/**
 * One recurrent layer (both directions) as a single autograd node: the forward runs the whole
 * sequence in the backend's sequence kernel, the backward is the backend's hand-written BPTT.
 *
 * Legend: T steps, B batch, I input features, H hidden size, P projection size (0 = none),
 * Hout = P || H, D directions.
 */
import { Tensor } from '../tensor/tensor.js';
import { allocLike, convert, type FloatArray } from '../tensor/dtype.js';
import { getBackend, type RecurrentDims, type RecurrentForwardResult, type RecurrentKind, type RecurrentWeights, type WeightStamp, type RecurrentGradTargets } from '../backend/backend.js';
import { regularises, regularisedForward, regularisedBackward, type RecurrentRegularisers } from '../backend/regularise.js';
import { gradSink, needsGrad, record } from './engine.js';
import { floatData, floatType } from './ops/util.js';

/** One direction's parameters by the roles of its cell's rule (see RecurrentWeights). */
export interface DirectionParams {
  wih: Tensor;
  whh: Tensor | null;
  bih: Tensor | null;
  bhh: Tensor | null;
  whr: Tensor | null;
  /** the rule's further roles (layer norms, peepholes), in the rule's order */
  extra?: Readonly<Record<string, Tensor>>;
}

/** A direction's parameter tensors in one fixed order: the base roles, then the extra ones. */
function paramTensors(p: DirectionParams): Tensor[] {
  return [p.wih, p.whh, p.bih, p.bhh, p.whr, ...Object.values(p.extra ?? {})].filter((t): t is Tensor => t !== null);
}

/**
 * Where a direction's parameters are leaves whose gradients can be added onto in place (see
 * gradSink), those gradients, for the backward to add onto: a decoder's layer called at every step
 * then keeps one gradient per weight instead of handing the engine a new one per step. Null
 * unless every parameter of the base roles can.
 */
function gradTargets(p: DirectionParams, wanted: boolean, dtype: 'float32' | 'float64'): RecurrentGradTargets | null {
  const base = [p.wih, p.whh, p.bih, p.bhh, p.whr];
  if (!wanted || !base.every((t) => !t || (t.requiresGrad && t.isLeaf && t.dtype === dtype))) return null;
  const sinks = base.map((t) => (t ? gradSink(t, dtype) : null));
  if (!base.every((t, i) => !t || sinks[i])) return null;
  return { dwih: sinks[0]!, dwhh: sinks[1]!, dbih: sinks[2]!, dbhh: sinks[3]!, dwhr: sinks[4]! };
}

/** A direction's weights' stamp: its wih tensor (which lives as long as they do), its parameters' versions summed. */
function stampOf(p: DirectionParams): WeightStamp {
  let version = 0;
  for (const t of paramTensors(p)) version += t.version;
  return { owner: p.wih, version };
}

/** A direction's parameters as the kernels take them, in `dtype` (converted where they differ). */
export function directionWeights(p: DirectionParams, dtype: 'float32' | 'float64'): RecurrentWeights {
  const w: RecurrentWeights = {
    wih: floatData(p.wih, dtype),
    whh: p.whh ? floatData(p.whh, dtype) : null,
    bih: p.bih ? floatData(p.bih, dtype) : null,
    bhh: p.bhh ? floatData(p.bhh, dtype) : null,
    whr: p.whr ? floatData(p.whr, dtype) : null,
  };
  if (p.extra) w.extra = Object.fromEntries(Object.entries(p.extra).map(([role, t]) => [role, floatData(t, dtype)]));
  // the parameters' own arrays (no conversion): a backend may keep them prepared between calls
  if (w.wih === p.wih.data) w.stamp = stampOf(p);
  return w;
}

/**
 * Runs one layer over x (T, B, I) from h0 (D, B, Hout) and, for the LSTM, c0 (D, B, H).
 * Returns out (T, B, D*Hout), hN (D, B, Hout) and cN (D, B, H) or null. Shapes are checked by
 * the modules before this is called.
 */
export function recurrentLayer(kind: RecurrentKind, x: Tensor, dirs: readonly DirectionParams[], h0: Tensor,
  c0: Tensor | null, hiddenSize: number, projSize: number,
  variant: Pick<RecurrentDims, 'resetAfter' | 'gateActivation'> = {},
  /** With one direction: run it in reverse (the reverse direction of a layer run on its own). */
  reverseOnly = false,
  /** Each direction's recurrent dropout and zoneout (none where null or missing). */
  regs: readonly (RecurrentRegularisers | null)[] = [],
  /**
   * Each batch row's length, where the backend takes them for these dims (`recurrentLengths`;
   * no regularisers): a padded batch in one call per direction, as RecurrentBase's stretches compute it.
   */
  lengths: Int32Array | null = null): [Tensor, Tensor, Tensor | null] {
  const reversed = (d: number): boolean => (dirs.length === 1 ? reverseOnly : d === 1);
  const bk = getBackend();
  const [T, B, I] = x.shape as [number, number, number];
  const H = hiddenSize;
  const P = projSize;
  const Hout = P || H;
  const D = dirs.length;
  const dims: RecurrentDims = { kind, T, B, I, H, P, ...variant };
  const dtype = floatType(x);
  const xd = floatData(x, dtype);
  const h0d = floatData(h0, dtype);
  const c0d = c0 ? floatData(c0, dtype) : null;
  const weights = dirs.map((p) => directionWeights(p, dtype));
  const params = dirs.flatMap(paramTensors);
  const inputs = [x, h0, ...(c0 ? [c0] : []), ...params];
  const keep = needsGrad(...inputs);
  const BHo = B * Hout;
  const BH = B * H;
  const reg = (d: number): RecurrentRegularisers | null => (regularises(regs[d]) ? regs[d]! : null);
  const runs: RecurrentForwardResult[] = weights.map((w, d) => {
    const h0s = h0d.subarray(d * BHo, (d + 1) * BHo);
    const c0s = c0d ? c0d.subarray(d * BH, (d + 1) * BH) : null;
    const r = reg(d);
    if (r && lengths) throw new Error('recurrentLayer: row lengths and regularisers are not taken together');
    return r ? regularisedForward(bk, dims, w, xd, h0s, c0s, reversed(d), r, keep) : bk.recurrentForward(dims, w, xd, h0s, c0s, reversed(d), keep, lengths);
  });

  let outData: FloatArray;
  if (D === 1) outData = runs[0]!.out;
  else {
    // interleave directions along the feature axis: out[t, b, d*Hout + j]
    outData = allocLike(xd, T * B * D * Hout);
    for (let r = 0; r < T * B; r++) {
      for (let d = 0; d < D; d++) outData.set(runs[d]!.out.subarray(r * Hout, (r + 1) * Hout), (r * D + d) * Hout);
    }
  }
  // one direction's final states are the backend's own new arrays: no copy
  let hNData = runs[0]!.hN;
  let cNData = runs[0]!.cN;
  if (D > 1) {
    hNData = allocLike(xd, D * BHo);
    runs.forEach((r, d) => hNData.set(r.hN, d * BHo));
    if (cNData) {
      const c = (cNData = allocLike(xd, D * BH));
      runs.forEach((r, d) => c.set(r.cN!, d * BH));
    }
  }
  const out = new Tensor(outData, [T, B, D * Hout]);
  const hN = new Tensor(hNData, [D, B, Hout]);
  const cN = cNData ? new Tensor(cNData, [D, B, H]) : null;
  if (!keep) return [out, hN, cN];

  const outputs = cN ? [out, hN, cN] : [out, hN];
  record(`${kind}Layer`, inputs, outputs, (gs) => {
    const [gOut, ghN, gcN] = gs as [Tensor | null, Tensor | null, Tensor | null | undefined];
    // like PyTorch, only the gradients some input requires are computed
    const needs = { input: x.requiresGrad, params: params.some((p) => p.requiresGrad) };
    let dx: FloatArray | null = null;
    const dh0 = allocLike(xd, D * BHo);
    const dc0 = c0 ? allocLike(xd, D * BH) : null;
    const paramGrads: (Tensor | null)[] = [];
    weights.forEach((w, d) => {
      let dOut: FloatArray | null = null;
      if (gOut) {
        const g = floatData(gOut, dtype);
        if (D === 1) dOut = g;
        else {
          dOut = allocLike(xd, T * BHo);
          for (let r = 0; r < T * B; r++) dOut.set(g.subarray((r * D + d) * Hout, (r * D + d + 1) * Hout), r * Hout);
        }
      }
      const dhN = ghN ? floatData(ghN, dtype).subarray(d * BHo, (d + 1) * BHo) : null;
      const dcN = gcN ? floatData(gcN, dtype).subarray(d * BH, (d + 1) * BH) : null;
      const c0s = c0d ? c0d.subarray(d * BH, (d + 1) * BH) : null;
      const into = reg(d) ? null : gradTargets(dirs[d]!, needs.params, dtype);
      const g = reg(d)
        ? regularisedBackward(bk, dims, w, xd, reversed(d), runs[d]!, dOut, dhN, dcN, needs)
        : bk.recurrentBackward(dims, w, xd, h0d.subarray(d * BHo, (d + 1) * BHo), c0s, reversed(d), runs[d]!, dOut, dhN, dcN, needs, lengths, into);
      if (g.dx) {
        if (!dx) dx = g.dx;
        else for (let i = 0; i < dx.length; i++) dx[i] = dx[i]! + g.dx[i]!;
      }
      dh0.set(g.dh0, d * BHo);
      if (dc0 && g.dc0) dc0.set(g.dc0, d * BH);
      const p = dirs[d]!;
      const add = (t: Tensor | null, gd: FloatArray | null): void => {
        if (t) paramGrads.push(gd ? new Tensor(t.dtype === dtype ? gd : convert(gd, t.dtype), t.shape) : null);
      };
      add(p.wih, g.dwih);
      add(p.whh, g.dwhh);
      add(p.bih, g.dbih);
      add(p.bhh, g.dbhh);
      add(p.whr, g.dwhr);
      for (const [role, t] of Object.entries(p.extra ?? {})) add(t, g.dextra?.[role] ?? null);
    });
    const cvt = (t: Tensor, d: FloatArray | null): Tensor | null => (d ? new Tensor(t.dtype === dtype ? d : convert(d, t.dtype), t.shape) : null);
    return [cvt(x, dx), cvt(h0, dh0), ...(c0 && dc0 ? [cvt(c0, dc0)] : []), ...paramGrads];
  }, () => runs.forEach((r) => r.cache?.release?.()));
  return [out, hN, cN];
}
