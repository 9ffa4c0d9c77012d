// Gate math of the fused RNN / LSTM / GRU kernels, float32, four lanes at a time: one batch row
// of one step forward, and its backward. The equations are the reference backend's
// (src/backend/reference/recurrent.ts).
//
// Legend: H hidden, G gates (LSTM 4: i,f,g,o; GRU 3: r,z,n; RNN 1). All pointers are byte addresses.
import { vsigmoidGate, vtanhGate, madd } from './vmath';
import { CellKernel } from './abi';
import { ld, st, accum } from './simd';

// One function per kind, each alone (exported so that Binaryen keeps it out of its caller), so its
// polynomial constants and values stay in registers. `row` is the row of the gates buffer: on entry
// the input projection, on return the activated gates; `hrow` the row of h_{t-1} @ whh^T.

/** LSTM: c = f c' + i g, h = o tanh(c) (h: out, or m before a projection). */
export function lstmRowForward(row: usize, hrow: usize, bih: usize, bhh: usize, cprev: usize, c: usize, tc: usize, h: usize, H: i32, cnt: i32): void {
  const H4 = <usize>H * 4;
  const end = <usize>(cnt & ~3) * 4;
  const n = cnt & 3;
  // first each gate's activations over the units, one gate at a time (one rational in the loop:
  // its constants stay in registers; four gates at once spill them), then the cell
  for (let g: usize = 0; g < 4; g++) {
    const q = g * H4;
    activateGate(row + q, hrow + q, bih ? bih + q : 0, bhh ? bhh + q : 0, end, n, g == 2, false);
  }
  for (let o: usize = 0; o < end; o += 16) lstmCell(row, cprev, c, tc, h, H4, o, 4);
  if (n) lstmCell(row, cprev, c, tc, h, H4, end, n);
}

/**
 * One gate's activations over a row's units, in place at x (bytes 0..end, then n ragged lanes):
 * tanh or the sigmoid, chosen outside the loops. The pre-activation sums as the reference's: the
 * LSTM's ((x + b_ih) + hh) + b_hh, the GRU's (x + b_ih) + (hh + b_hh).
 */
// @ts-ignore: decorator
@inline function activateGate(x: usize, hrow: usize, bih: usize, bhh: usize, end: usize, n: i32, tanh: bool, gru: bool): void {
  if (tanh) {
    for (let o: usize = 0; o < end; o += 16) st(x + o, vtanhGate(preActivation(x, hrow, bih, bhh, o, gru)), 4);
    if (n) st(x + end, vtanhGate(preActivation(x, hrow, bih, bhh, end, gru)), n);
  } else {
    for (let o: usize = 0; o < end; o += 16) st(x + o, vsigmoidGate(preActivation(x, hrow, bih, bhh, o, gru)), 4);
    if (n) st(x + end, vsigmoidGate(preActivation(x, hrow, bih, bhh, end, gru)), n);
  }
}

/** A gate's pre-activation at byte offset o, summed as activateGate says. */
// @ts-ignore: decorator
@inline function preActivation(x: usize, hrow: usize, bih: usize, bhh: usize, o: usize, gru: bool): v128 {
  let a = ld(x + o);
  if (bih) a = f32x4.add(a, ld(bih + o));
  if (gru) {
    let b = ld(hrow + o);
    if (bhh) b = f32x4.add(b, ld(bhh + o));
    return f32x4.add(a, b);
  }
  a = f32x4.add(a, ld(hrow + o));
  if (bhh) a = f32x4.add(a, ld(bhh + o));
  return a;
}

/** Four units' cell from their activated gates: c = f c' + i g, h = o tanh(c). */
// @ts-ignore: decorator
@inline function lstmCell(row: usize, cprev: usize, c: usize, tc: usize, h: usize, H4: usize, o: usize, n: i32): void {
  const ig = ld(row + o), fg = ld(row + H4 + o), gg = ld(row + 2 * H4 + o), og = ld(row + 3 * H4 + o);
  const cv = madd(fg, ld(cprev + o), f32x4.mul(ig, gg));
  const tcv = vtanhGate(cv);
  st(c + o, cv, n);
  st(tc + o, tcv, n);
  st(h + o, f32x4.mul(og, tcv), n);
}

/** GRU: r, z, n = tanh(xn + r (hn + bhn)), h = (1 - z) n + z h'; keeps hn + bhn for backward. */
export function gruRowForward(row: usize, hrow: usize, bih: usize, bhh: usize, hprev: usize, hnOut: usize, h: usize, H: i32, cnt: i32): void {
  const H4 = <usize>H * 4;
  const end = <usize>(cnt & ~3) * 4;
  const n = cnt & 3;
  // r and z first, one gate at a time (as lstmRowForward), then n and h
  for (let g: usize = 0; g < 2; g++) {
    const q = g * H4;
    activateGate(row + q, hrow + q, bih ? bih + q : 0, bhh ? bhh + q : 0, end, n, false, true);
  }
  for (let o: usize = 0; o < end; o += 16) gruCell(row, hrow, bih, bhh, hprev, hnOut, h, H4, o, 4);
  if (n) gruCell(row, hrow, bih, bhh, hprev, hnOut, h, H4, end, n);
}

/** Four units' n and h from their activated r and z: n = tanh(xn + r (hn + bhn)), h = (1 - z) n + z h'. */
// @ts-ignore: decorator
@inline function gruCell(row: usize, hrow: usize, bih: usize, bhh: usize, hprev: usize, hnOut: usize, h: usize, H4: usize, o: usize, n: i32): void {
  let xn = ld(row + 2 * H4 + o), hn = ld(hrow + 2 * H4 + o);
  if (bih) xn = f32x4.add(xn, ld(bih + 2 * H4 + o));
  if (bhh) hn = f32x4.add(hn, ld(bhh + 2 * H4 + o));
  const r = ld(row + o), z = ld(row + H4 + o);
  const nn = vtanhGate(madd(r, hn, xn));
  st(row + 2 * H4 + o, nn, n);
  st(hnOut + o, hn, n);
  st(h + o, madd(z, f32x4.sub(ld(hprev + o), nn), nn), n); // (1 - z) n + z h
}

/** Vanilla RNN: h = tanh(a) or relu(a). */
export function rnnRowForward(row: usize, hrow: usize, bih: usize, bhh: usize, h: usize, H: i32, relu: bool): void {
  const end = <usize>(H & ~3) * 4;
  for (let o: usize = 0; o < end; o += 16) rnnUnits(row, hrow, bih, bhh, h, relu, o, 4);
  if (H & 3) rnnUnits(row, hrow, bih, bhh, h, relu, end, H & 3);
}

/**
 * The gate math of units 0..cnt of one row, whatever the kind: each kind reads and writes only its
 * own of hprev (GRU), cprev, c, tanh(c) (LSTM), hn (GRU's recurrent n-gate input) and h.
 */
// @ts-ignore: decorator
@inline export function rowForward(kind: i32, row: usize, hrow: usize, bih: usize, bhh: usize, hprev: usize, cprev: usize, c: usize, tc: usize,
  hn: usize, h: usize, H: i32, cnt: i32): void {
  if (kind == CellKernel.LSTM) lstmRowForward(row, hrow, bih, bhh, cprev, c, tc, h, H, cnt);
  else if (kind == CellKernel.GRU) gruRowForward(row, hrow, bih, bhh, hprev, hn, h, H, cnt);
  else rnnRowForward(row, hrow, bih, bhh, h, cnt, kind == CellKernel.RNN_RELU);
}

/** Four units of rnnRowForward from byte offset o, storing n lanes. */
// @ts-ignore: decorator
@inline export function rnnUnits(row: usize, hrow: usize, bih: usize, bhh: usize, h: usize, relu: bool, o: usize, n: i32): void {
  let a = ld(row + o);
  if (bih) a = f32x4.add(a, ld(bih + o));
  a = f32x4.add(a, ld(hrow + o));
  if (bhh) a = f32x4.add(a, ld(bhh + o));
  st(h + o, relu ? f32x4.pmax(a, f32x4.splat(0)) : vtanhGate(a), n);
}

// The backward rows also add their gate gradients into the row's sums over the steps (acc,
// accH: a row of (B, G*H), or 0), from which the bias gradients come without another pass.

/** Stores the first n lanes of v at p + off and, with a sums row acc, adds them into acc + off. */
// @ts-ignore: decorator
@inline export function stSum(p: usize, acc: usize, off: usize, v: v128, n: i32): void {
  st(p + off, v, n);
  if (acc) accum(acc + off, v, n);
}

/** LSTM backward: gate gradients into drow from dm (dh of m) and dc, which becomes dc_{t-1}. */
export function lstmRowBackward(row: usize, drow: usize, tc: usize, cprev: usize, dm: usize, dc: usize, H: i32, acc: usize): void {
  const H4 = <usize>H * 4;
  const end = <usize>(H & ~3) * 4;
  for (let o: usize = 0; o < end; o += 16) lstmBackUnits(row, drow, tc, cprev, dm, dc, H4, acc, o, 4);
  if (H & 3) lstmBackUnits(row, drow, tc, cprev, dm, dc, H4, acc, end, H & 3);
}

/** Four units of lstmRowBackward from byte offset o, storing n lanes. */
// @ts-ignore: decorator
@inline export function lstmBackUnits(row: usize, drow: usize, tc: usize, cprev: usize, dm: usize, dc: usize, H4: usize, acc: usize, o: usize, n: i32): void {
  const one = f32x4.splat(1);
  const ig = ld(row + o), fg = ld(row + H4 + o), gg = ld(row + 2 * H4 + o), og = ld(row + 3 * H4 + o);
  const tcv = ld(tc + o);
  const dmv = ld(dm + o);
  const dcv = madd(f32x4.mul(dmv, og), f32x4.sub(one, f32x4.mul(tcv, tcv)), ld(dc + o));
  const di = f32x4.mul(f32x4.mul(dcv, gg), f32x4.mul(ig, f32x4.sub(one, ig)));
  const df = f32x4.mul(f32x4.mul(dcv, ld(cprev + o)), f32x4.mul(fg, f32x4.sub(one, fg)));
  const dg = f32x4.mul(f32x4.mul(dcv, ig), f32x4.sub(one, f32x4.mul(gg, gg)));
  const dov = f32x4.mul(f32x4.mul(dmv, tcv), f32x4.mul(og, f32x4.sub(one, og)));
  stSum(drow, acc, o, di, n);
  stSum(drow, acc, H4 + o, df, n);
  stSum(drow, acc, 2 * H4 + o, dg, n);
  stSum(drow, acc, 3 * H4 + o, dov, n);
  st(dc + o, f32x4.mul(dcv, fg), n);
}

/** GRU backward: gate gradients into drow (input side) and hrow (recurrent side); dh becomes dh z. */
export function gruRowBackward(row: usize, drow: usize, hrow: usize, hn: usize, hprev: usize, dh: usize, H: i32, acc: usize, accH: usize): void {
  const H4 = <usize>H * 4;
  const end = <usize>(H & ~3) * 4;
  for (let o: usize = 0; o < end; o += 16) gruBackUnits(row, drow, hrow, hn, hprev, dh, H4, acc, accH, o, 4);
  if (H & 3) gruBackUnits(row, drow, hrow, hn, hprev, dh, H4, acc, accH, end, H & 3);
}

/** Four units of gruRowBackward from byte offset o, storing n lanes. */
// @ts-ignore: decorator
@inline export function gruBackUnits(row: usize, drow: usize, hrow: usize, hn: usize, hprev: usize, dh: usize, H4: usize, acc: usize, accH: usize, o: usize, n: i32): void {
  const one = f32x4.splat(1);
  const r = ld(row + o), z = ld(row + H4 + o), nn = ld(row + 2 * H4 + o);
  const dhv = ld(dh + o);
  const dan = f32x4.mul(f32x4.mul(dhv, f32x4.sub(one, z)), f32x4.sub(one, f32x4.mul(nn, nn)));
  const dar = f32x4.mul(f32x4.mul(dan, ld(hn + o)), f32x4.mul(r, f32x4.sub(one, r)));
  const daz = f32x4.mul(f32x4.mul(dhv, f32x4.sub(ld(hprev + o), nn)), f32x4.mul(z, f32x4.sub(one, z)));
  stSum(drow, acc, o, dar, n);
  stSum(drow, acc, H4 + o, daz, n);
  stSum(drow, acc, 2 * H4 + o, dan, n);
  stSum(hrow, accH, o, dar, n);
  stSum(hrow, accH, H4 + o, daz, n);
  stSum(hrow, accH, 2 * H4 + o, f32x4.mul(dan, r), n);
  st(dh + o, f32x4.mul(dhv, z), n);
}

/** Vanilla RNN backward: drow = dh tanh'(a) or dh relu'(a), from the step's output h. */
export function rnnRowBackward(drow: usize, h: usize, dh: usize, H: i32, relu: bool, acc: usize): void {
  const end = <usize>(H & ~3) * 4;
  for (let o: usize = 0; o < end; o += 16) rnnBackUnits(drow, h, dh, relu, acc, o, 4);
  if (H & 3) rnnBackUnits(drow, h, dh, relu, acc, end, H & 3);
}

/** Four units of rnnRowBackward from byte offset o, storing n lanes. */
// @ts-ignore: decorator
@inline export function rnnBackUnits(drow: usize, h: usize, dh: usize, relu: bool, acc: usize, o: usize, n: i32): void {
  const hv = ld(h + o);
  const d = relu ? v128.and(ld(dh + o), f32x4.gt(hv, f32x4.splat(0))) : f32x4.mul(ld(dh + o), f32x4.sub(f32x4.splat(1), f32x4.mul(hv, hv)));
  stSum(drow, acc, o, d, n);
}

export function gatesOf(kind: i32): i32 {
  return kind == CellKernel.LSTM ? 4 : kind == CellKernel.GRU ? 3 : 1;
}
