// The fused sequence forward, float32: one direction of one RNN / LSTM / GRU layer per call, the
// whole sequence inside WebAssembly. Same cache layout and equations as the reference backend
// (src/backend/reference/recurrent.ts), which it must match.
//
// Legend: T steps, B batch, I input, H hidden, P projection (0 = none), Hout = P || H, G gates,
// GH = G*H. All pointers are byte addresses.
//
// Threads: every thread calls the same function with its id `tid` (0..nth-1) on shared memory.
// The recurrence splits by batch rows (rows never interact, so each row's arithmetic is the same
// whatever thread runs it); the matrix products split by whole output elements (gemmShare).
// Results are therefore identical for any thread count.
import { gemmShare, gemmPacked, gemmPackedCols, packBShare, shortcuts, NR } from './gemm';
import { Rec, CellKernel, arg } from './abi';
import { barrier } from './barrier';
import { gatesOf, rowForward } from './gates';
import { stepUnits, computeAhead } from './stepping';

/** Forward over the whole sequence; see the argument slots above. */
export function recurrentForward(args: usize, tid: i32): void {
  const kind = arg(args, Rec.KIND), T = arg(args, Rec.T), B = arg(args, Rec.B), I = arg(args, Rec.I), H = arg(args, Rec.H), P = arg(args, Rec.P);
  const reverse = arg(args, Rec.REV) != 0;
  const x = <usize>arg(args, Rec.X), wih = <usize>arg(args, Rec.WIH), whh = <usize>arg(args, Rec.WHH);
  const bih = <usize>arg(args, Rec.BIH), bhh = <usize>arg(args, Rec.BHH), whr = <usize>arg(args, Rec.WHR);
  const h0 = <usize>arg(args, Rec.H0), c0 = <usize>arg(args, Rec.C0);
  const out = <usize>arg(args, Rec.OUT), gates = <usize>arg(args, Rec.GATES);
  const cAll = <usize>arg(args, Rec.C), tcAll = <usize>arg(args, Rec.TC), mAll = <usize>arg(args, Rec.M), hnAll = <usize>arg(args, Rec.HN);
  const hh = <usize>arg(args, Rec.HH), wpack = <usize>arg(args, Rec.WPACK), rpack = <usize>arg(args, Rec.RPACK);
  const nth = arg(args, Rec.NTH), ctrl = <usize>arg(args, Rec.CTRL);
  const ws = <usize>arg(args, Rec.WS) + <usize>tid * arg(args, Rec.WSB);
  const G = gatesOf(kind);
  const GH = G * H;
  const Hout = P > 0 ? P : H;
  const BH = B * H;
  const b0 = (B * tid) / nth, b1 = (B * (tid + 1)) / nth; // this thread's batch rows

  const ids = <usize>arg(args, Rec.IDS), table = <usize>arg(args, Rec.TABLE);
  const lens = <usize>arg(args, Rec.LENS);
  if (arg(args, Rec.PREPACKED) && B == 1 && nth > 1 && P == 0 && H % NR == 0 && !lens) {
    stepUnits(kind, T, I, H, x, wih, wpack, bih, bhh, h0, c0, out, gates, cAll, tcAll, hnAll, hh, reverse, ws, ctrl, tid, nth, ids, table, args);
    const ahead = arg(args, Rec.PRE) != 0;
    if (arg(args, Rec.HEAD) || ahead) barrier(ctrl, nth); // every thread's units of the last step
    if (arg(args, Rec.HEAD)) {
      const O = arg(args, Rec.O);
      const panels = (O + NR - 1) / NR;
      const j0 = ((panels * tid) / nth) * NR, j1 = min(O, ((panels * (tid + 1)) / nth) * NR);
      headRows(args, 0, T, Hout, out, j0, j1, ws);
    }
    if (ahead) computeAhead(args, ctrl, tid, nth, out + <usize>((reverse ? 0 : T - 1) * H) * 4, wpack, H, G);
    return;
  }
  // wih^T packed, from which each thread projects its own rows of every step (0: the product
  // is shared by columns instead, see Rec.XPACK)
  let xp: usize = 0;
  if (arg(args, Rec.PREPACKED)) xp = wih; // weights packed once for many calls
  else {
    // the per-thread rows only where the whole product takes the general tiled path: the sums
    // are then the same whoever computes them (not gemm's one-row or few-column shortcuts)
    if (arg(args, Rec.XPACK) && shortcuts(false, T * B, GH, I) == 0) xp = <usize>arg(args, Rec.XPACK);
    if (xp) packBShare(wih, true, I, GH, xp, tid, nth);
    else gemmShare(false, true, T * B, GH, I, x, wih, gates, false, ws, tid, nth); // (T*B, GH) input projection of every step
    packBShare(whh, true, Hout, GH, wpack, tid, nth); // whh^T, packed once for all steps
    if (P > 0) packBShare(whr, true, H, P, rpack, tid, nth);
    barrier(ctrl, nth);
  }
  if (xp) {
    // this thread's rows of every step: a row of the embedding's table, or x @ wih^T (every
    // step's rows in one product where this thread has them all: the panels read once per MC rows)
    if (!ids && b1 - b0 == B) gemmPacked(false, T * B, GH, I, x, I, xp, gates, false, ws);
    else for (let t = 0; t < T; t++) {
      const r0 = t * B + b0;
      if (ids) {
        for (let r = r0; r < r0 + b1 - b0; r++) {
          memory.copy(gates + <usize>(r * GH) * 4, table + <usize>(load<i32>(ids + <usize>r * 4) * GH) * 4, <usize>GH * 4);
        }
      } else {
        gemmPacked(false, b1 - b0, GH, I, x + <usize>(r0 * I) * 4, I, xp, gates + <usize>(r0 * GH) * 4, false, ws);
      }
    }
  }

  let hp = h0;
  let cp = c0;
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    // (rows, GH) = h[rows] @ whh^T
    gemmPacked(false, b1 - b0, GH, Hout, hp + <usize>(b0 * Hout) * 4, Hout, wpack, hh + <usize>(b0 * GH) * 4, false, ws);
    const gBase = gates + <usize>(t * B * GH) * 4;
    const sBase = <usize>(t * BH) * 4;
    for (let b = b0; b < b1; b++) {
      const row = gBase + <usize>(b * GH) * 4;
      const hrow = hh + <usize>(b * GH) * 4;
      const k = sBase + <usize>(b * H) * 4; // (t, b, 0) in a (T, B, H) buffer
      if (lens && t >= load<i32>(lens + <usize>b * 4)) {
        // a padded step: the forward direction has ended (0), the reverse one not yet begun (its start)
        if (reverse) memory.copy(out + k, h0 + <usize>(b * H) * 4, <usize>H * 4);
        else memory.fill(out + k, 0, <usize>H * 4);
        if (kind == CellKernel.LSTM) {
          if (reverse) memory.copy(cAll + k, c0 + <usize>(b * H) * 4, <usize>H * 4);
          else memory.fill(cAll + k, 0, <usize>H * 4);
        }
        continue;
      }
      rowForward(kind, row, hrow, bih, bhh, hp + <usize>(b * H) * 4, cp + <usize>(b * H) * 4, cAll + k, tcAll + k, hnAll + k, (P > 0 ? mAll : out) + k, H, H);
    }
    if (P > 0) gemmPacked(false, b1 - b0, P, H, mAll + sBase + <usize>(b0 * H) * 4, H, rpack, out + <usize>((t * B + b0) * P) * 4, false, ws);
    hp = out + <usize>(t * B * Hout) * 4;
    if (kind == CellKernel.LSTM) cp = cAll + sBase;
  }
  if (arg(args, Rec.HEAD)) {
    // this thread's rows of every step
    for (let t = 0; t < T; t++) headRows(args, t * B + b0, t * B + b1, Hout, out, 0, arg(args, Rec.O), ws);
  }
}

/**
 * The stepper's head on rows r0..r1 of out (rows, Hout), columns j0..j1 (j0 a multiple of NR):
 * LOGITS[r, j] = HEADB[j] + out[r] . head[:, j].
 */
export function headRows(args: usize, r0: i32, r1: i32, Hout: i32, out: usize, j0: i32, j1: i32, ws: usize): void {
  const O = arg(args, Rec.O);
  const head = <usize>arg(args, Rec.HEAD), hb = <usize>arg(args, Rec.HEADB), logits = <usize>arg(args, Rec.LOGITS);
  if (j1 <= j0 || r1 <= r0) return;
  if (hb) for (let r = r0; r < r1; r++) memory.copy(logits + <usize>(r * O + j0) * 4, hb + <usize>j0 * 4, <usize>(j1 - j0) * 4);
  // all the rows in tiles, the head's panels read once per tile of rows instead of once a row;
  // each row sums as it would alone (gemmPackedCols)
  gemmPackedCols(r1 - r0, out + <usize>(r0 * Hout) * 4, Hout, head, Hout, j0, j1, logits + <usize>(r0 * O) * 4, O, ws, hb != 0);
}
