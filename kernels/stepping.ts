// Stepping one batch row (generation, streaming) on several threads: each thread owns a block of
// hidden units and reads only its share of W_hh, and a worker may compute the next call's first
// product ahead, while the caller runs the JavaScript between calls (Rec.PRE).
//
// Legend: T steps, I input, H hidden, G gates, GH = G*H.
import { gemmPackedCols, gemvPackedCols, NR } from './gemm';
import { Rec, CellKernel, Ctrl, arg } from './abi';
import { ld } from './simd';
import { barrier } from './barrier';
import { gatesOf, rowForward } from './gates';

/** The direction this thread read its panels of W_hh in at its last step (see stepUnits). */
let revPanels = false;

/**
 * The first 8-unit block of thread t's share (t = nth: the end): blocks split evenly, or, with
 * main > 0, the calling thread's first `main` blocks and the rest split evenly between the others.
 */
export function unitBlock(blocks: i32, t: i32, nth: i32, main: i32): i32 {
  if (main <= 0) return (blocks * t) / nth;
  if (t == 0) return 0;
  return main + ((blocks - main) * (t - 1)) / (nth - 1);
}

/**
 * This thread's units' columns of h @ whh^T into hh (columns g * H + u). Its share of the
 * weights, about 1/nth of W_hh, is read every step. Where the share is a little larger than the
 * core's L2 (LSTM, H = 256, two threads: 512 KiB of a 512 KiB L2), reading it in the same order
 * each step evicts each panel just before it is needed again; every other step reading it
 * backwards starts on what the last step read, still cached. (Measured on 544 KiB of panels:
 * 59-69 GB/s in one order, 63-70 GB/s alternating; the L3 here is fast.)
 */
export function recurrentProduct(h: usize, wpack: usize, H: i32, G: i32, u0: i32, u1: i32, hh: usize, ws: usize): void {
  revPanels = !revPanels;
  if (revPanels) for (let g = G - 1; g >= 0; g--) gemvPackedCols(h, wpack, H, g * H + u0, g * H + u1, hh, ws, false, true);
  else for (let g = 0; g < G; g++) gemvPackedCols(h, wpack, H, g * H + u0, g * H + u1, hh, ws);
}

/** Threads (ids 1..7) that compute ahead; each has a control word flagging its work after a call (AHEAD_THREADS in pool.ts). */
export const AHEAD_THREADS: i32 = Ctrl.AHEAD_THREADS;

/** Control word 24 + tid: 1 while worker tid computes ahead, its call already counted done (pool.ts). */
export const AHEAD_WORD: usize = Ctrl.AHEAD * 4;

/** The pool's control word counting the workers done with the call. */
export const DONE_WORD: usize = Ctrl.DONE * 4;

/**
 * What a PREOK word holds once its thread's columns are computed ahead: the split they were
 * computed for (the thread count and the calling thread's blocks), which a call must share to
 * use them, as its units are the same only then.
 */
// @ts-ignore: decorator
@inline function splitKey(nth: i32, main: i32): i32 {
  return nth | (main << 8);
}

/** Whether PRE holds this thread's columns of h0 @ whh^T (computed ahead from an equal h, for this split). */
export function precomputed(args: usize, tid: i32, nth: i32, h0: usize, H: i32): bool {
  const pre = <usize>arg(args, Rec.PRE);
  if (!pre || tid == 0 || tid >= AHEAD_THREADS) return false;
  if (load<i32>(<usize>arg(args, Rec.PREOK) + <usize>tid * 4) != splitKey(nth, arg(args, Rec.MAIN))) return false;
  const mine = <usize>arg(args, Rec.HAHEAD) + <usize>(tid * H) * 4;
  let diff = i32x4.splat(0);
  for (let j = 0; j < H; j += 4) diff = v128.or(diff, v128.xor(ld(h0 + <usize>j * 4), ld(mine + <usize>j * 4)));
  return !v128.any_true(diff); // bit for bit (a state changed in place, or another one, does not match)
}

/**
 * A worker's work after a pipelined call (see Rec.PRE): copies the last step's h (whole: the
 * caller made sure of a barrier), counts itself done so the caller returns, then computes its
 * columns of the next step's product. The pool clears the flag when the kernel returns.
 */
export function computeAhead(args: usize, ctrl: usize, tid: i32, nth: i32, hLast: usize, wpack: usize, H: i32, G: i32): void {
  if (!ASC_FEATURE_THREADS || tid == 0 || tid >= AHEAD_THREADS) return;
  // everything from the argument block first: once counted done, the caller reuses its memory
  const ok = <usize>arg(args, Rec.PREOK) + <usize>tid * 4;
  const mine = <usize>arg(args, Rec.HAHEAD) + <usize>(tid * H) * 4;
  const pre = <usize>arg(args, Rec.PRE), tws = <usize>arg(args, Rec.TWS) + <usize>tid * 256;
  const blocks = H / NR;
  const main = arg(args, Rec.MAIN);
  const u0 = unitBlock(blocks, tid, nth, main) * NR, u1 = unitBlock(blocks, tid + 1, nth, main) * NR;
  store<i32>(ok, 0);
  memory.copy(mine, hLast, <usize>H * 4);
  atomic.store<i32>(ctrl + AHEAD_WORD + <usize>tid * 4, 1);
  atomic.add<i32>(ctrl + DONE_WORD, 1);
  atomic.notify(ctrl + DONE_WORD, 1);
  recurrentProduct(mine, wpack, H, G, u0, u1, pre, tws);
  store<i32>(ok, splitKey(nth, main));
}

/**
 * One batch row (generation) on several threads: each thread owns a block of hidden units, all
 * their gates' columns of the (prepacked) weights and their gate math, so it reads only its
 * share of the weights; a barrier between steps makes the whole h visible to every thread.
 */
export function stepUnits(kind: i32, T: i32, I: i32, H: i32, x: usize, wih: usize, wpack: usize, bih: usize, bhh: usize,
  h0: usize, c0: usize, out: usize, gates: usize, cAll: usize, tcAll: usize, hnAll: usize, hh: usize, reverse: bool,
  ws: usize, ctrl: usize, tid: i32, nth: i32, ids: usize, table: usize, args: usize): void {
  const G = gatesOf(kind);
  const GH = G * H;
  const blocks = H / NR;
  const main = arg(args, Rec.MAIN);
  const u0 = unitBlock(blocks, tid, nth, main) * NR, u1 = unitBlock(blocks, tid + 1, nth, main) * NR;
  const cnt = u1 - u0;
  const o = <usize>u0 * 4;
  const bi = bih ? bih + o : 0, bh = bhh ? bhh + o : 0;
  if (ids) {
    for (let t = 0; t < T; t++) {
      const row = gates + <usize>(t * GH) * 4;
      const src = table + <usize>(load<i32>(ids + <usize>t * 4) * GH) * 4;
      for (let g = 0; g < G; g++) memory.copy(row + <usize>(g * H + u0) * 4, src + <usize>(g * H + u0) * 4, <usize>cnt * 4);
    }
  } else {
    // every step's projection at once: this thread's panels of wih^T read once per MC steps
    for (let g = 0; g < G; g++) gemmPackedCols(T, x, I, wih, I, g * H + u0, g * H + u1, gates, GH, ws);
  }
  let hp = h0;
  let cp = c0;
  // the first step's h0 @ whh^T, computed ahead by this thread at the end of the last call
  const ahead = precomputed(args, tid, nth, h0, H);
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const hsrc = s == 0 && ahead ? <usize>arg(args, Rec.PRE) : hh;
    if (hsrc == hh) recurrentProduct(hp, wpack, H, G, u0, u1, hh, ws);
    const row = gates + <usize>(t * GH) * 4 + o;
    const k = <usize>(t * H) * 4 + o; // (t, 0, u0) in a (T, 1, H) buffer
    if (cnt > 0) {
      rowForward(kind, row, hsrc + o, bi, bh, hp + o, cp + o, cAll + k, tcAll + k, hnAll + k, out + k, H, cnt);
    }
    hp = out + <usize>(t * H) * 4;
    if (kind == CellKernel.LSTM) cp = cAll + <usize>(t * H) * 4;
    if (s < T - 1) barrier(ctrl, nth);
  }
}
