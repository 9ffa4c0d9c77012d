// CTC's forward-backward (src/backend/reference/ctc.ts is the specification, in log space).
// Here in probability space with a scale per step, as Graves et al. (2006) describe it: each
// step's alphas (and betas) are divided by their sum, and the logs of those sums are added up,
// so the trellis needs no exp or log per state. Emissions are taken relative to the step's
// largest trellis label (exp(lp - m_t) <= 1), which keeps every ratio that can matter inside
// float64's range. A state whose share of its step falls below float64's range is lost; the
// probability of all alignments, which every step recomputes from its alphas and betas, then
// disagrees between steps, and the sample is marked (NaN) to be redone in log space. Threads
// take every nth sample; a sample is computed whole by one thread.
//
// Legend: T steps of the batch, N samples, C classes; per sample Tn valid steps, S labels, L = 2S + 1
// trellis states (blank, label 1, blank, ..., label S, blank).
import { Ctc, arg } from './abi';
import { vexp64neg } from './vmath';

/** How far, in log, two steps' estimates of the total probability may differ before the sample is redone. */
const AGREE: f64 = 1e-7;
/** Below this, a step's sum of alpha times beta is too near float64's subnormal numbers to divide by. */
const TINY: f64 = 1e-250;

// @ts-ignore: decorator
@inline function f64at(p: usize, i: i32): f64 {
  return load<f64>(p + (<usize>i << 3));
}
// @ts-ignore: decorator
@inline function f64put(p: usize, i: i32, v: f64): void {
  store<f64>(p + (<usize>i << 3), v);
}

/** Bytes of one thread's workspace for up to T steps, S labels and C classes. */
export function ctcWorkspaceBytes(T: i32, S: i32, C: i32): i32 {
  const R = 2 * S + 4;
  // alphas and emissions (T rows of R each), the step maxima and scales (T each), two rows of
  // betas and the skips (R each), a row of classes
  return (2 * T * R + 2 * T + 3 * R + C) * 8 + 64;
}

/** Thread tid's samples; see the slots of Ctc (abi.ts). */
export function ctcLoss(args: usize, tid: i32): void {
  const N = arg(args, Ctc.N), nth = arg(args, Ctc.NTH);
  const ws = <usize>arg(args, Ctc.WS) + <usize>tid * <usize>arg(args, Ctc.WSB);
  // every nth sample: lengths vary, and interleaving evens the threads' shares out
  for (let n = tid; n < N; n += nth) ctcSample(args, n, ws);
}

function ctcSample(args: usize, n: i32, ws: usize): void {
  const Tb = arg(args, Ctc.T), N = arg(args, Ctc.N), C = arg(args, Ctc.C);
  const lp = <usize>arg(args, Ctc.LP), grad = <usize>arg(args, Ctc.GRAD), nllOut = <usize>arg(args, Ctc.NLL);
  const blank = arg(args, Ctc.BLANK);
  const T = load<i32>(<usize>arg(args, Ctc.ILEN) + (<usize>n << 2));
  const S = load<i32>(<usize>arg(args, Ctc.TLEN) + (<usize>n << 2));
  const labels = <usize>arg(args, Ctc.TARGETS) + (<usize>load<i32>(<usize>arg(args, Ctc.OFFSETS) + (<usize>n << 2)) << 2);
  const L = 2 * S + 1;
  // the gradient's rows of this sample start at zero, the steps past its length stay so
  if (grad) for (let t = 0; t < Tb; t++) memory.fill(grad + (<usize>((t * N + n) * C) << 2), 0, <usize>C << 2);
  // too few steps for the labels and the blanks between repeats: no alignment
  let need = S;
  for (let k = 1; k < S; k++) if (load<i32>(labels + (<usize>k << 2)) == load<i32>(labels + (<usize>(k - 1) << 2))) need++;
  if (T < need || T == 0) {
    f64put(nllOut, n, T == 0 && S == 0 ? 0 : Infinity);
    return;
  }
  // Rows of alphas are R = L + 3 wide: two zeros in front, so that s - 1 and s - 2 exist for every
  // s, the L states, and one slot behind, so that states can be taken two at a time (f64x2) though
  // L is odd; the emission and the skip there are 0, which keeps that slot 0. Rows of betas and
  // the skips run from 0 to L + 2: backward reads s + 1 and s + 2.
  const R = L + 3;
  const alpha = ws + 16, em = alpha + (<usize>(T * R) << 3), mx = em + (<usize>(T * R) << 3), scale = mx + (<usize>T << 3);
  const b0 = scale + (<usize>T << 3) + 16, b1 = b0 + (<usize>R << 3), skip = b1 + (<usize>R << 3), occ = skip + (<usize>R << 3);
  // skip[s] is 1 where alpha_t(s) may come from s - 2 (a label that differs from the one before it)
  for (let s = 0; s < R; s++) {
    const on = s > 1 && s < L && (s & 1) && load<i32>(labels + (<usize>(s >> 1) << 2)) != load<i32>(labels + (<usize>((s >> 1) - 1) << 2));
    f64put(skip, s, on ? 1 : 0);
  }
  // emissions relative to each step's largest trellis label: the blank's, then the labels' two at a time
  for (let t = 0; t < T; t++) {
    const row = lp + (<usize>((t * N + n) * C) << 2);
    const lb = <f64>load<f32>(row + (<usize>blank << 2));
    let m = lb;
    for (let k = 0; k < S; k++) m = max(m, <f64>load<f32>(row + (<usize>load<i32>(labels + (<usize>k << 2)) << 2)));
    f64put(mx, t, m);
    const e = em + (<usize>(t * R) << 3);
    const ms = f64x2.splat(m);
    const eb = f64x2.extract_lane(vexp64neg(f64x2.sub(f64x2.splat(lb), ms)), 0);
    f64put(e, 0, eb);
    f64put(e, L, 0);
    for (let k = 0; k < S; k += 2) {
      const c0 = load<i32>(labels + (<usize>k << 2));
      const c1 = k + 1 < S ? load<i32>(labels + (<usize>(k + 1) << 2)) : c0;
      let v = f64x2.splat(<f64>load<f32>(row + (<usize>c0 << 2)));
      v = f64x2.replace_lane(v, 1, <f64>load<f32>(row + (<usize>c1 << 2)));
      const x = vexp64neg(f64x2.sub(v, ms));
      f64put(e, 2 * k + 1, f64x2.extract_lane(x, 0));
      f64put(e, 2 * k + 2, eb);
      if (k + 1 < S) {
        f64put(e, 2 * k + 3, f64x2.extract_lane(x, 1));
        f64put(e, 2 * k + 4, eb);
      }
    }
  }
  // forward: a_t(s) = (a_{t-1}(s) + a_{t-1}(s-1) + skip(s) a_{t-1}(s-2)) e_t(s) / sum_{t-1}; the true
  // alpha_t(s) is a_t(s) exp(K_t), K_t = K_{t-1} + log sum_{t-1} + m_t (scale[t] holds K_t)
  for (let t = 0; t < T; t++) {
    const row = alpha + (<usize>(t * R) << 3);
    f64put(row, -2, 0);
    f64put(row, -1, 0);
  }
  for (let s = 0; s <= L; s++) f64put(alpha, s, s < 2 ? f64at(em, s) : 0);
  let sum: f64 = f64at(alpha, 0) + (L > 1 ? f64at(alpha, 1) : 0);
  let K = f64at(mx, 0);
  f64put(scale, 0, K);
  for (let t = 1; t < T; t++) {
    if (!(sum > 0) || !isFinite(sum)) { redo(nllOut, n); return; }
    const inv = f64x2.splat(1 / sum);
    K += Math.log(sum) + f64at(mx, t);
    f64put(scale, t, K);
    const prev = alpha + (<usize>((t - 1) * R) << 3), cur = alpha + (<usize>(t * R) << 3), e = em + (<usize>(t * R) << 3);
    let acc = f64x2.splat(0);
    for (let s = 0; s < L; s += 2) {
      const o = <usize>s << 3;
      const from = f64x2.add(f64x2.add(v128.load(prev + o), v128.load(prev + o - 8)), f64x2.mul(v128.load(skip + o), v128.load(prev + o - 16)));
      const a = f64x2.mul(f64x2.mul(from, v128.load(e + o)), inv);
      v128.store(cur + o, a);
      acc = f64x2.add(acc, a);
    }
    sum = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  }
  const lastRow = alpha + (<usize>((T - 1) * R) << 3);
  const end = f64at(lastRow, L - 1) + (L > 1 ? f64at(lastRow, L - 2) : 0);
  if (!(end > 0) || !isFinite(end)) { redo(nllOut, n); return; }
  const logP = f64at(scale, T - 1) + Math.log(end);
  // the backward pass runs even when no gradient is wanted: its agreement check is what shows
  // that no alignment's probability was lost to float64's range on the way forward
  // backward: pre_t(s), the successors' b_{t+1} summed, stands for sum over the paths after t
  // (times exp(J_{t+1})); b_t(s) = pre_t(s) e_t(s) / sum_{t+1}, J_t = J_{t+1} + log sum_{t+1} + m_t.
  // alpha_t(s) pre_t(s) is then the probability of every alignment through s at t, times
  // exp(-K_t - J_{t+1}), so it gives the gradient, d nll / d lp_t(c) = -(sum over s with label c
  // of alpha_t(s) pre_t(s)) / z_t, and each step's estimate of log P = log z_t + K_t + J_{t+1}.
  // Before the last step, "next" holds 1 at state L - 1 alone: pre is then 1 at L - 2 and L - 1
  // (L - 1 is a blank, whose skip is 0) and 0 elsewhere, the paths' two ways to end.
  let next = b0, cur = b1;
  for (let s = 0; s < R; s++) {
    f64put(next, s, s == L - 1 ? 1 : 0);
    f64put(cur, s, 0);
  }
  let J: f64 = 0, inv: f64 = 1;
  for (let t = T - 1; t >= 0; t--) {
    const e = em + (<usize>(t * R) << 3), a = alpha + (<usize>(t * R) << 3);
    for (let k = 0; k < S; k++) f64put(occ, load<i32>(labels + (<usize>k << 2)), 0);
    const iv = f64x2.splat(inv);
    let acc = f64x2.splat(0), zs = f64x2.splat(0);
    // pairs (s, s + 1) from s = 0: lane 0 a blank, lane 1 a label
    for (let s = 0; s < L; s += 2) {
      const o = <usize>s << 3;
      const pre = f64x2.add(f64x2.add(v128.load(next + o), v128.load(next + o + 8)), f64x2.mul(v128.load(skip + o + 16), v128.load(next + o + 16)));
      const b = f64x2.mul(f64x2.mul(pre, v128.load(e + o)), iv);
      v128.store(cur + o, b);
      acc = f64x2.add(acc, b);
      const r = f64x2.mul(v128.load(a + o), pre);
      zs = f64x2.add(zs, r);
      if (s + 1 < L) {
        const c = load<i32>(labels + (<usize>(s >> 1) << 2));
        f64put(occ, c, f64at(occ, c) + f64x2.extract_lane(r, 1));
      }
    }
    sum = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
    const zb = f64x2.extract_lane(zs, 0);
    const z = zb + f64x2.extract_lane(zs, 1);
    // a step whose alignments' share is near float64's smallest numbers has lost digits: log space
    if (!(z > TINY) || !(Math.abs(Math.log(z) + f64at(scale, t) + J - logP) <= AGREE)) { redo(nllOut, n); return; }
    if (grad) {
      const row = grad + (<usize>((t * N + n) * C) << 2);
      const invZ = 1 / z;
      store<f32>(row + (<usize>blank << 2), <f32>(-zb * invZ));
      for (let k = 0; k < S; k++) {
        const c = load<i32>(labels + (<usize>k << 2));
        store<f32>(row + (<usize>c << 2), <f32>(-f64at(occ, c) * invZ));
      }
    }
    if (t > 0) {
      if (!(sum > 0) || !isFinite(sum)) { redo(nllOut, n); return; }
      J -= Math.log(inv) - f64at(mx, t);
      inv = 1 / sum;
    }
    const tmp = next; next = cur; cur = tmp;
  }
  f64put(nllOut, n, -logP);
}

/** Marks sample n to be computed again in log space (its rows of the gradient are then rewritten). */
function redo(nllOut: usize, n: i32): void {
  f64put(nllOut, n, NaN);
}
