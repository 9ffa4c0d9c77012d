// The LSTM variants whose step needs more than gates.ts's row math, float32: the layer-normalised
// LSTM (a LayerNorm over each whole row of W_ih x and of W_hh h, and over the new cell state) and
// the peephole LSTM. Equations and BPTT as the reference kernels
// (src/backend/reference/cells/layernorm-lstm.ts, peephole-lstm.ts), which these must match.
//
// Legend: T steps, B batch, H hidden, GH = 4H (gates i, f, g, o). All pointers are byte
// addresses; every buffer has 16 bytes of slack after it, so four-lane loads at a row's ragged
// end stay in bounds, and ragged tails store only their valid lanes.
//
// Threads split the batch rows: a row's recurrent product, norms, gates and state are computed
// whole by one thread, step after step, so the threads meet once (after packing W_hh) and the
// results do not depend on their count. The input projection x @ W_ih^T comes in computed.
import { gemmPacked, packBShare } from './gemm';
import { vsigmoidGate, vtanhGate, madd } from './vmath';
import { Variant, VariantKind, arg } from './abi';
import { ld, st } from './simd';
import { barrier } from './barrier';

/** PyTorch's LayerNorm epsilon. */
const EPS: f64 = 1e-5;

/** The sum of the four lanes, in float64. */
// @ts-ignore: decorator
@inline function lanes(v: v128): f64 {
  return <f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1) + <f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3);
}

/** Normalises n floats at src into dst (may be src): (v - mean) / sqrt(var + eps), var biased. Returns 1 / sqrt(var + eps). */
function normalise(src: usize, dst: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) acc = f32x4.add(acc, ld(src + <usize>j * 4));
  let sum = lanes(acc);
  for (; j < n; j++) sum += <f64>load<f32>(src + <usize>j * 4);
  const mean = <f32>(sum / n);
  const mv = f32x4.splat(mean);
  acc = f32x4.splat(0);
  j = 0;
  for (; j + 4 <= n; j += 4) {
    const d = f32x4.sub(ld(src + <usize>j * 4), mv);
    acc = madd(d, d, acc);
  }
  let sq = lanes(acc);
  for (; j < n; j++) {
    const d = <f64>(load<f32>(src + <usize>j * 4) - mean);
    sq += d * d;
  }
  const rstd = <f32>(1 / Math.sqrt(sq / n + EPS));
  const rv = f32x4.splat(rstd);
  j = 0;
  for (; j + 4 <= n; j += 4) v128.store(dst + <usize>j * 4, f32x4.mul(f32x4.sub(ld(src + <usize>j * 4), mv), rv));
  for (; j < n; j++) store<f32>(dst + <usize>j * 4, (load<f32>(src + <usize>j * 4) - mean) * rstd);
  return rstd;
}

/**
 * LayerNorm's backward on one row of n: from the output's gradient dy and the normalised row
 * nrm, the input's gradient dz = rstd (dy gain - mean(dy gain) - nrm mean(dy gain nrm)); adds
 * dy nrm and dy into the gain's and shift's sums ag, ab.
 */
function normBackward(dy: usize, nrm: usize, rstd: f32, gain: usize, dz: usize, n: i32, ag: usize, ab: usize): void {
  let a1 = f32x4.splat(0), a2 = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j * 4;
    const d = ld(dy + o), x = ld(nrm + o);
    const g = f32x4.mul(d, ld(gain + o));
    a1 = f32x4.add(a1, g);
    a2 = madd(g, x, a2);
    v128.store(ag + o, madd(d, x, ld(ag + o)));
    v128.store(ab + o, f32x4.add(ld(ab + o), d));
  }
  let mg = lanes(a1), mgn = lanes(a2);
  for (; j < n; j++) {
    const o = <usize>j * 4;
    const d = load<f32>(dy + o), x = load<f32>(nrm + o);
    const g = d * load<f32>(gain + o);
    mg += <f64>g;
    mgn += <f64>(g * x);
    store<f32>(ag + o, load<f32>(ag + o) + d * x);
    store<f32>(ab + o, load<f32>(ab + o) + d);
  }
  const m1 = f32x4.splat(<f32>(mg / n)), m2 = f32x4.splat(<f32>(mgn / n)), rv = f32x4.splat(rstd);
  for (j = 0; j < n; j += 4) {
    const o = <usize>j * 4;
    const g = f32x4.mul(ld(dy + o), ld(gain + o));
    st(dz + o, f32x4.mul(rv, f32x4.sub(f32x4.sub(g, m1), f32x4.mul(ld(nrm + o), m2))), min(4, n - j));
  }
}

/** One row of the layer-normalised LSTM's step (row index tb of the (T, B) buffers). */
function layerNormRow(args: usize, tb: i32, hhRow: usize, cp: usize, H: i32): void {
  const GH = 4 * H;
  const gRow = <usize>(tb * GH) * 4, hRow = <usize>(tb * H) * 4;
  const nx = <usize>arg(args, Variant.NX) + gRow, nh = <usize>arg(args, Variant.NH) + gRow;
  const gates = <usize>arg(args, Variant.GATES) + gRow, nc = <usize>arg(args, Variant.NC) + hRow;
  store<f32>(<usize>arg(args, Variant.RX) + <usize>tb * 4, normalise(<usize>arg(args, Variant.AX) + gRow, nx, GH));
  store<f32>(<usize>arg(args, Variant.RH) + <usize>tb * 4, normalise(hhRow, nh, GH));
  const gi = <usize>arg(args, Variant.LNI_W), bi = <usize>arg(args, Variant.LNI_B);
  const gh = <usize>arg(args, Variant.LNH_W), bh = <usize>arg(args, Variant.LNH_B);
  for (let q = 0; q < 4; q++) {
    for (let j = 0; j < H; j += 4) {
      const o = <usize>(q * H + j) * 4;
      const v = madd(ld(nx + o), ld(gi + o), madd(ld(nh + o), ld(gh + o), f32x4.add(ld(bi + o), ld(bh + o))));
      st(gates + o, q == 2 ? vtanhGate(v) : vsigmoidGate(v), min(4, H - j));
    }
  }
  const H4 = <usize>H * 4;
  for (let j = 0; j < H; j += 4) {
    const o = <usize>j * 4;
    // f c + i g, normalised below into c's norm
    st(nc + o, madd(ld(gates + H4 + o), ld(cp + o), f32x4.mul(ld(gates + o), ld(gates + 2 * H4 + o))), min(4, H - j));
  }
  store<f32>(<usize>arg(args, Variant.RC) + <usize>tb * 4, normalise(nc, nc, H));
  const gc = <usize>arg(args, Variant.LNC_W), bc = <usize>arg(args, Variant.LNC_B);
  const c = <usize>arg(args, Variant.C) + hRow, tc = <usize>arg(args, Variant.TC) + hRow, h = <usize>arg(args, Variant.OUT) + hRow;
  for (let j = 0; j < H; j += 4) {
    const o = <usize>j * 4, n = min(4, H - j);
    const cv = madd(ld(nc + o), ld(gc + o), ld(bc + o));
    const t = vtanhGate(cv);
    st(c + o, cv, n);
    st(tc + o, t, n);
    st(h + o, f32x4.mul(ld(gates + 3 * H4 + o), t), n);
  }
}

/** One row of the peephole LSTM's step. */
function peepholeRow(args: usize, tb: i32, hhRow: usize, cp: usize, H: i32): void {
  const GH = 4 * H;
  const H4 = <usize>H * 4;
  const gRow = <usize>(tb * GH) * 4, hRow = <usize>(tb * H) * 4;
  const ax = <usize>arg(args, Variant.AX) + gRow, gates = <usize>arg(args, Variant.GATES) + gRow;
  const bih = <usize>arg(args, Variant.BIH), bhh = <usize>arg(args, Variant.BHH);
  const wci = <usize>arg(args, Variant.WCI), wcf = <usize>arg(args, Variant.WCF), wco = <usize>arg(args, Variant.WCO);
  const c = <usize>arg(args, Variant.C) + hRow, tc = <usize>arg(args, Variant.TC) + hRow, h = <usize>arg(args, Variant.OUT) + hRow;
  for (let j = 0; j < H; j += 4) {
    const o = <usize>j * 4, n = min(4, H - j);
    let zi = f32x4.add(ld(ax + o), ld(hhRow + o)), zf = f32x4.add(ld(ax + H4 + o), ld(hhRow + H4 + o));
    let zg = f32x4.add(ld(ax + 2 * H4 + o), ld(hhRow + 2 * H4 + o)), zo = f32x4.add(ld(ax + 3 * H4 + o), ld(hhRow + 3 * H4 + o));
    if (bih) {
      zi = f32x4.add(zi, ld(bih + o)); zf = f32x4.add(zf, ld(bih + H4 + o));
      zg = f32x4.add(zg, ld(bih + 2 * H4 + o)); zo = f32x4.add(zo, ld(bih + 3 * H4 + o));
    }
    if (bhh) {
      zi = f32x4.add(zi, ld(bhh + o)); zf = f32x4.add(zf, ld(bhh + H4 + o));
      zg = f32x4.add(zg, ld(bhh + 2 * H4 + o)); zo = f32x4.add(zo, ld(bhh + 3 * H4 + o));
    }
    const cpv = ld(cp + o);
    const i = vsigmoidGate(madd(ld(wci + o), cpv, zi));
    const f = vsigmoidGate(madd(ld(wcf + o), cpv, zf));
    const g = vtanhGate(zg);
    const cv = madd(f, cpv, f32x4.mul(i, g));
    const og = vsigmoidGate(madd(ld(wco + o), cv, zo));
    const t = vtanhGate(cv);
    st(gates + o, i, n);
    st(gates + H4 + o, f, n);
    st(gates + 2 * H4 + o, g, n);
    st(gates + 3 * H4 + o, og, n);
    st(c + o, cv, n);
    st(tc + o, t, n);
    st(h + o, f32x4.mul(og, t), n);
  }
}

/** Forward over the whole sequence; see Variant. */
export function variantForward(args: usize, tid: i32): void {
  const kind = arg(args, Variant.KIND), T = arg(args, Variant.T), B = arg(args, Variant.B), H = arg(args, Variant.H);
  const reverse = arg(args, Variant.REV) != 0;
  const GH = 4 * H;
  const whh = <usize>arg(args, Variant.WHH), wpack = <usize>arg(args, Variant.WPACK);
  const h0 = <usize>arg(args, Variant.H0), c0 = <usize>arg(args, Variant.C0);
  const out = <usize>arg(args, Variant.OUT), cAll = <usize>arg(args, Variant.C), hh = <usize>arg(args, Variant.HH);
  const nth = arg(args, Variant.NTH), ctrl = <usize>arg(args, Variant.CTRL);
  const ws = <usize>arg(args, Variant.WS) + <usize>tid * arg(args, Variant.WSB);
  const b0 = (B * tid) / nth, b1 = (B * (tid + 1)) / nth; // this thread's batch rows
  packBShare(whh, true, H, GH, wpack, tid, nth); // whh^T, packed once for all steps
  barrier(ctrl, nth);
  if (b1 <= b0) return;
  let hp = h0, cp = c0;
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    // this thread's rows of h_{t-1} @ whh^T
    gemmPacked(false, b1 - b0, GH, H, hp + <usize>(b0 * H) * 4, H, wpack, hh + <usize>(b0 * GH) * 4, false, ws);
    for (let b = b0; b < b1; b++) {
      const hhRow = hh + <usize>(b * GH) * 4, cRow = cp + <usize>(b * H) * 4;
      if (kind == VariantKind.LAYERNORM) layerNormRow(args, t * B + b, hhRow, cRow, H);
      else peepholeRow(args, t * B + b, hhRow, cRow, H);
    }
    hp = out + <usize>(t * B * H) * 4;
    cp = cAll + <usize>(t * B * H) * 4;
  }
}

/** The layer-normalised LSTM's backward through one row of one step (see the reference kernel). */
function layerNormRowBack(args: usize, tb: i32, b: i32, cp: usize, H: i32, scr: usize, acc: usize): void {
  const GH = 4 * H;
  const H4 = <usize>H * 4, G4 = <usize>GH * 4;
  const gRow = <usize>(tb * GH) * 4, hRow = <usize>(tb * H) * 4;
  const gates = <usize>arg(args, Variant.GATES) + gRow;
  const tc = <usize>arg(args, Variant.TC) + hRow;
  const dh = <usize>arg(args, Variant.DH) + <usize>(b * H) * 4, dc = <usize>arg(args, Variant.DC) + <usize>(b * H) * 4;
  const dC = scr, dr = scr + H4 + 16, ds = dr + H4 + 16;
  const one = f32x4.splat(1);
  for (let j = 0; j < H; j += 4) {
    const o = <usize>j * 4, n = min(4, H - j);
    const og = ld(gates + 3 * H4 + o), t = ld(tc + o), d = ld(dh + o);
    st(ds + 3 * H4 + o, f32x4.mul(f32x4.mul(d, t), f32x4.mul(og, f32x4.sub(one, og))), n);
    st(dC + o, madd(f32x4.mul(d, og), f32x4.sub(one, f32x4.mul(t, t)), ld(dc + o)), n);
  }
  const rc = load<f32>(<usize>arg(args, Variant.RC) + <usize>tb * 4);
  normBackward(dC, <usize>arg(args, Variant.NC) + hRow, rc, <usize>arg(args, Variant.LNC_W), dr, H, acc + 4 * G4, acc + 4 * G4 + H4);
  for (let j = 0; j < H; j += 4) {
    const o = <usize>j * 4, n = min(4, H - j);
    const i = ld(gates + o), f = ld(gates + H4 + o), g = ld(gates + 2 * H4 + o), r = ld(dr + o);
    st(ds + o, f32x4.mul(f32x4.mul(r, g), f32x4.mul(i, f32x4.sub(one, i))), n);
    st(ds + H4 + o, f32x4.mul(f32x4.mul(r, ld(cp + o)), f32x4.mul(f, f32x4.sub(one, f))), n);
    st(ds + 2 * H4 + o, f32x4.mul(f32x4.mul(r, i), f32x4.sub(one, f32x4.mul(g, g))), n);
    st(dc + o, f32x4.mul(r, f), n);
  }
  const rx = load<f32>(<usize>arg(args, Variant.RX) + <usize>tb * 4), rh = load<f32>(<usize>arg(args, Variant.RH) + <usize>tb * 4);
  normBackward(ds, <usize>arg(args, Variant.NX) + gRow, rx, <usize>arg(args, Variant.LNI_W), <usize>arg(args, Variant.DAX) + gRow, GH, acc, acc + G4);
  normBackward(ds, <usize>arg(args, Variant.NH) + gRow, rh, <usize>arg(args, Variant.LNH_W), <usize>arg(args, Variant.DAH) + gRow, GH, acc + 2 * G4, acc + 3 * G4);
}

/** The peephole LSTM's backward through one row of one step (see the reference kernel). */
function peepholeRowBack(args: usize, tb: i32, b: i32, cp: usize, H: i32, acc: usize): void {
  const GH = 4 * H;
  const H4 = <usize>H * 4;
  const gRow = <usize>(tb * GH) * 4, hRow = <usize>(tb * H) * 4;
  const gates = <usize>arg(args, Variant.GATES) + gRow, dA = <usize>arg(args, Variant.DAX) + gRow;
  const c = <usize>arg(args, Variant.C) + hRow, tc = <usize>arg(args, Variant.TC) + hRow;
  const wci = <usize>arg(args, Variant.WCI), wcf = <usize>arg(args, Variant.WCF), wco = <usize>arg(args, Variant.WCO);
  const dh = <usize>arg(args, Variant.DH) + <usize>(b * H) * 4, dc = <usize>arg(args, Variant.DC) + <usize>(b * H) * 4;
  const one = f32x4.splat(1);
  for (let j = 0; j < H; j += 4) {
    const o = <usize>j * 4, n = min(4, H - j);
    const i = ld(gates + o), f = ld(gates + H4 + o), g = ld(gates + 2 * H4 + o), og = ld(gates + 3 * H4 + o);
    const t = ld(tc + o), cpv = ld(cp + o), d = ld(dh + o);
    const dzo = f32x4.mul(f32x4.mul(d, t), f32x4.mul(og, f32x4.sub(one, og)));
    const dC = madd(dzo, ld(wco + o), madd(f32x4.mul(d, og), f32x4.sub(one, f32x4.mul(t, t)), ld(dc + o)));
    const dzi = f32x4.mul(f32x4.mul(dC, g), f32x4.mul(i, f32x4.sub(one, i)));
    const dzf = f32x4.mul(f32x4.mul(dC, cpv), f32x4.mul(f, f32x4.sub(one, f)));
    const dzg = f32x4.mul(f32x4.mul(dC, i), f32x4.sub(one, f32x4.mul(g, g)));
    st(dA + o, dzi, n);
    st(dA + H4 + o, dzf, n);
    st(dA + 2 * H4 + o, dzg, n);
    st(dA + 3 * H4 + o, dzo, n);
    st(dc + o, madd(dzf, ld(wcf + o), madd(dzi, ld(wci + o), f32x4.mul(dC, f))), n);
    st(acc + o, madd(dzi, cpv, ld(acc + o)), n);
    st(acc + H4 + o, madd(dzf, cpv, ld(acc + H4 + o)), n);
    st(acc + 2 * H4 + o, madd(dzo, ld(c + o), ld(acc + 2 * H4 + o)), n);
  }
}

/** Floats of one batch row's sums of the extra parameters' gradients (Variant.ACC). */
export function variantAccFloats(kind: i32, H: i32): i32 {
  return kind == VariantKind.LAYERNORM ? 16 * H + 2 * H : 3 * H;
}

/** Backpropagation through time for a forward with the same arguments; see Variant. */
export function variantBackward(args: usize, tid: i32): void {
  const kind = arg(args, Variant.KIND), T = arg(args, Variant.T), B = arg(args, Variant.B), H = arg(args, Variant.H);
  const reverse = arg(args, Variant.REV) != 0;
  const GH = 4 * H;
  const whh = <usize>arg(args, Variant.WHH), wpack = <usize>arg(args, Variant.WPACK);
  const c0 = <usize>arg(args, Variant.C0), cAll = <usize>arg(args, Variant.C);
  const dOut = <usize>arg(args, Variant.DOUT), dh = <usize>arg(args, Variant.DH);
  const dAh = <usize>arg(args, kind == VariantKind.LAYERNORM ? Variant.DAH : Variant.DAX);
  const nth = arg(args, Variant.NTH), ctrl = <usize>arg(args, Variant.CTRL);
  const ws = <usize>arg(args, Variant.WS) + <usize>tid * arg(args, Variant.WSB);
  const scr = <usize>arg(args, Variant.SCR) + <usize>tid * arg(args, Variant.SCRB);
  const accPer = variantAccFloats(kind, H);
  const accAll = <usize>arg(args, Variant.ACC);
  const b0 = (B * tid) / nth, b1 = (B * (tid + 1)) / nth;
  packBShare(whh, false, GH, H, wpack, tid, nth); // whh as the right operand of dA @ whh
  barrier(ctrl, nth);
  if (b1 <= b0) return;
  memory.fill(accAll + <usize>(b0 * accPer) * 4, 0, <usize>((b1 - b0) * accPer) * 4);
  for (let s = T - 1; s >= 0; s--) {
    const t = reverse ? T - 1 - s : s;
    const tp = reverse ? t + 1 : t - 1;
    const cp = s > 0 ? cAll + <usize>(tp * B * H) * 4 : c0;
    if (dOut) {
      const src = dOut + <usize>((t * B + b0) * H) * 4, dst = dh + <usize>(b0 * H) * 4;
      const n = (b1 - b0) * H;
      for (let j = 0; j < n; j += 4) st(dst + <usize>j * 4, f32x4.add(ld(dst + <usize>j * 4), ld(src + <usize>j * 4)), min(4, n - j));
    }
    for (let b = b0; b < b1; b++) {
      const acc = accAll + <usize>(b * accPer) * 4;
      if (kind == VariantKind.LAYERNORM) layerNormRowBack(args, t * B + b, b, cp + <usize>(b * H) * 4, H, scr, acc);
      else peepholeRowBack(args, t * B + b, b, cp + <usize>(b * H) * 4, H, acc);
    }
    // dh_{t-1} = dA_h @ whh, this thread's rows
    gemmPacked(false, b1 - b0, H, GH, dAh + <usize>((t * B + b0) * GH) * 4, GH, wpack, dh + <usize>(b0 * H) * 4, false, ws);
  }
}
