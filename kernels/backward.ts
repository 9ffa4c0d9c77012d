// Backpropagation through time for the fused sequence forward (forward.ts), float32: the same
// arguments and cache, the reference backend's equations (src/backend/reference/recurrent.ts).
//
// Legend: T steps, B batch, I input, H hidden, P projection (0 = none), Hout = P || H, G gates,
// GH = G*H. Threads split the recurrence by batch rows and the products by output elements, so
// results are identical for any thread count.
import { gemmShare, gemmPacked, packBShare } from './gemm';
import { Rec, CellKernel, arg } from './abi';
import { colSum, share4, addInto } from './simd';
import { barrier } from './barrier';
import { gatesOf, lstmRowBackward, gruRowBackward, rnnRowBackward } from './gates';

/** Backpropagation through time for a forward with the same arguments; see the slots above. */
export function recurrentBackward(args: usize, tid: i32): void {
  const kind = arg(args, Rec.KIND), T = arg(args, Rec.T), B = arg(args, Rec.B), I = arg(args, Rec.I), H = arg(args, Rec.H), P = arg(args, Rec.P);
  const reverse = arg(args, Rec.REV) != 0;
  const x = <usize>arg(args, Rec.X), wih = <usize>arg(args, Rec.WIH), whh = <usize>arg(args, Rec.WHH), whr = <usize>arg(args, Rec.WHR);
  const h0 = <usize>arg(args, Rec.H0), c0 = <usize>arg(args, Rec.C0);
  const out = <usize>arg(args, Rec.OUT), gates = <usize>arg(args, Rec.GATES);
  const cAll = <usize>arg(args, Rec.C), tcAll = <usize>arg(args, Rec.TC), mAll = <usize>arg(args, Rec.M), hnAll = <usize>arg(args, Rec.HN);
  const wpack = <usize>arg(args, Rec.WPACK), rpack = <usize>arg(args, Rec.RPACK);
  const nth = arg(args, Rec.NTH), ctrl = <usize>arg(args, Rec.CTRL);
  const ws = <usize>arg(args, Rec.WS) + <usize>tid * arg(args, Rec.WSB);
  const dOut = <usize>arg(args, Rec.DOUT), dh = <usize>arg(args, Rec.DH), dc = <usize>arg(args, Rec.DC);
  const dAx = <usize>arg(args, Rec.DAX), dAh = <usize>arg(args, Rec.DAH), dhAll = <usize>arg(args, Rec.DHALL), dmBuf = <usize>arg(args, Rec.DM);
  const hPrevAll = <usize>arg(args, Rec.HPREV);
  const dx = <usize>arg(args, Rec.DX), dwih = <usize>arg(args, Rec.DWIH), dwhh = <usize>arg(args, Rec.DWHH);
  const dbih = <usize>arg(args, Rec.DBIH), dbhh = <usize>arg(args, Rec.DBHH), dwhr = <usize>arg(args, Rec.DWHR);
  const accX = <usize>arg(args, Rec.ACCX), accH = <usize>arg(args, Rec.ACCH);
  const lens = <usize>arg(args, Rec.LENS);
  const add = arg(args, Rec.GADD) != 0;
  const G = gatesOf(kind);
  const GH = G * H;
  const Hout = P > 0 ? P : H;
  const BH = B * H;
  const BHo = B * Hout;
  const one = f32x4.splat(1);
  const b0 = (B * tid) / nth, b1 = (B * (tid + 1)) / nth; // this thread's batch rows
  const rows = b1 - b0;
  if (accX) memory.fill(accX + <usize>(b0 * GH) * 4, 0, <usize>(rows * GH) * 4);
  if (accH) memory.fill(accH + <usize>(b0 * GH) * 4, 0, <usize>(rows * GH) * 4);

  if (!arg(args, Rec.PREPACKED)) {
    packBShare(whh, false, GH, Hout, wpack, tid, nth); // whh as the right operand of dA @ whh
    if (P > 0) packBShare(whr, false, P, H, rpack, tid, nth);
    barrier(ctrl, nth);
  }
  const dm = P > 0 ? dmBuf : dh;

  for (let s = T - 1; s >= 0; s--) {
    const t = reverse ? T - 1 - s : s;
    const tp = reverse ? t + 1 : t - 1;
    const gBase = gates + <usize>(t * B * GH) * 4;
    const sBase = <usize>(t * BH) * 4;
    if (dOut && !lens) addInto(dh + <usize>(b0 * Hout) * 4, dOut + <usize>(t * BHo + b0 * Hout) * 4, rows * Hout);
    if (kind == CellKernel.LSTM && P > 0) {
      memory.copy(dhAll + <usize>(t * B * P + b0 * P) * 4, dh + <usize>(b0 * P) * 4, <usize>(rows * P) * 4);
      gemmPacked(false, rows, H, P, dh + <usize>(b0 * P) * 4, P, rpack, dm + <usize>(b0 * H) * 4, false, ws);
    }
    const hp = s > 0 ? out + <usize>(tp * BHo) * 4 : h0;
    const cp = s > 0 ? cAll + <usize>(tp * BH) * 4 : c0;
    for (let b = b0; b < b1; b++) {
      const row = gBase + <usize>(b * GH) * 4;
      const drow = dAx + <usize>(t * B * GH + b * GH) * 4;
      const kk = <usize>(b * H) * 4; // (b, 0) in a (B, H) buffer
      const ax = accX ? accX + <usize>(b * GH) * 4 : 0;
      if (lens) {
        if (t >= load<i32>(lens + <usize>b * 4)) {
          // a padded step: no gradient of its gates; dh and dc pass it unchanged (see Rec.LENS)
          memory.fill(drow, 0, <usize>GH * 4);
          if (kind == CellKernel.GRU) memory.fill(dAh + <usize>(t * B * GH + b * GH) * 4, 0, <usize>GH * 4);
          continue;
        }
        if (dOut) addInto(dh + kk, dOut + <usize>(t * BHo) * 4 + kk, H);
      }
      if (kind == CellKernel.LSTM) lstmRowBackward(row, drow, tcAll + sBase + kk, cp + kk, dm + kk, dc + kk, H, ax);
      else if (kind == CellKernel.GRU) gruRowBackward(row, drow, dAh + <usize>(t * B * GH + b * GH) * 4, hnAll + sBase + kk, hp + kk, dh + kk, H, ax, accH ? accH + <usize>(b * GH) * 4 : 0);
      else rnnRowBackward(drow, out + sBase + kk, dh + kk, H, kind == CellKernel.RNN_RELU, ax);
      // below, dh of a padded row keeps its value: every row's product then adds onto dh
      if (lens && kind != CellKernel.GRU) memory.fill(dh + kk, 0, <usize>H * 4);
    }
    // dh[rows] (+)= dA_t[rows] @ whh
    const dAt = (kind == CellKernel.GRU ? dAh : dAx) + <usize>(t * B * GH + b0 * GH) * 4;
    gemmPacked(false, rows, Hout, GH, dAt, GH, wpack, dh + <usize>(b0 * Hout) * 4, kind == CellKernel.GRU || lens != 0, ws);
  }
  // h_{t-1} of every step, by time position (this thread's steps), for dwhh
  if (hPrevAll) for (let t = (T * tid) / nth; t < (T * (tid + 1)) / nth; t++) {
    const first = reverse ? t == T - 1 : t == 0;
    const src = first ? h0 : out + <usize>((reverse ? t + 1 : t - 1) * BHo) * 4;
    memory.copy(hPrevAll + <usize>(t * BHo) * 4, src, <usize>BHo * 4);
  }
  barrier(ctrl, nth);

  const TB = T * B;
  const dAhAll = kind == CellKernel.GRU ? dAh : dAx;
  // a zero pointer: that gradient is not wanted
  if (dx) gemmShare(false, false, TB, I, GH, dAx, wih, dx, false, ws, tid, nth);
  if (dwih) gemmShare(true, false, GH, I, TB, dAx, x, dwih, add, ws, tid, nth);
  if (dwhh) gemmShare(true, false, GH, Hout, TB, dAhAll, hPrevAll, dwhh, add, ws, tid, nth);
  const j0 = share4(GH, tid, nth), j1 = share4(GH, tid + 1, nth);
  // bias gradients: the rows' sums over the steps, summed over the rows
  if (dbih) colSum(accX, B, GH, dbih, j0, j1, add);
  if (dbhh) {
    // without the GRU's reset gate both biases see the same gradient: sum it once (unless each adds onto its own)
    if (kind != CellKernel.GRU) {
      if (dbih && !add) {
        if (j1 > j0) memory.copy(dbhh + <usize>j0 * 4, dbih + <usize>j0 * 4, <usize>(j1 - j0) * 4);
      } else colSum(accX, B, GH, dbhh, j0, j1, add);
    } else colSum(accH, B, GH, dbhh, j0, j1, add);
  }
  if (dwhr) gemmShare(true, false, P, H, TB, dhAll, mAll, dwhr, add, ws, tid, nth);
}
