// Fused sequence kernels, float32: one direction of one RNN / LSTM / GRU layer per call, the
// whole sequence inside WebAssembly. Same cache layout and equations as the reference backend
// (src/backend/reference/recurrent.ts), which they must match.
//
// Legend: T steps, B batch, I input, H hidden, P projection (0 = none), Hout = P || H, G gates
// (LSTM 4: i,f,g,o; GRU 3: r,z,n; RNN 1), GH = G*H. All pointers are byte addresses; every
// buffer has 16 bytes of slack after it, so 4-lane loads at a row's ragged end stay in bounds.
// Gate math runs four lanes at a time; ragged tails store only their valid lanes.
//
// Threads: every thread calls the same function with its id `tid` (0..nth-1) on shared memory.
// The recurrence splits by batch rows (rows never interact, so each row's arithmetic is the same
// whatever thread runs it); the matrix products split by whole output elements (gemmShare).
// Results are therefore identical for any thread count.
import { gemmShare, gemmPacked, packBShare, gemvPackedCols, shortcuts, NR } from './gemm';
import { vsigmoidGate, vtanhGate, vexp, madd } from './vmath';
import { Rec, CellKernel, GenLayer, Ctrl } from './abi';


// @ts-ignore: decorator
@inline function ld(p: usize): v128 {
  return v128.load(p);
}

/** Stores the first n (1..4) lanes of v at p. */
// @ts-ignore: decorator
@inline function st(p: usize, v: v128, n: i32): void {
  if (n == 4) {
    v128.store(p, v);
    return;
  }
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** dst[j] = sum over rows of src[r, j], for columns j0..j1 (a multiple-of-4 start). */
function colSum(src: usize, rows: i32, n: i32, dst: usize, j0: i32, j1: i32): void {
  if (j1 <= j0) return;
  memory.fill(dst + <usize>j0 * 4, 0, <usize>(j1 - j0) * 4);
  for (let r = 0; r < rows; r++) {
    const row = src + <usize>(r * n) * 4;
    for (let j = j0; j < j1; j += 4) st(dst + j * 4, f32x4.add(ld(dst + j * 4), ld(row + j * 4)), min(4, j1 - j));
  }
}

/** Columns of thread tid's share of n, in multiples of 4. */
// @ts-ignore: decorator
@inline function share4(n: i32, tid: i32, nth: i32): i32 {
  const q = (n + 3) / 4;
  return min(n, ((q * tid) / nth) * 4);
}

/**
 * One wait (at most a millisecond) while the generation word at addr still holds gen. V8's
 * baseline compiler (Liftoff, in Node 20) can lose the values a function keeps in registers
 * across memory.atomic.wait: inlined in the barrier's loop, the loop then never saw the new
 * generation and the thread slept for good. So the wait sits alone in its own function, called
 * through a table (below) so that Binaryen cannot inline it; the caller keeps its values on its
 * stack across the call, and nothing after the wait here reads a register.
 */
function blockingWait(addr: usize, gen: i32): void {
  if (ASC_FEATURE_THREADS) atomic.wait<i32>(addr, gen, 1000000);
}

/** The spinning thread's wait: none (a browser's main thread may not block). */
function noWait(addr: usize, gen: i32): void {}

/** How a thread waits at a barrier once spinning has gone on for a while (see setMayWait). */
let waitAt: (addr: usize, gen: i32) => void = blockingWait;

/** Whether this thread may block in atomic.wait (a browser's main thread may not: it spins). */
export function setMayWait(flag: i32): void {
  waitAt = flag != 0 ? blockingWait : noWait;
}

/** The pool's control word set when a thread's share of the job failed (src/backend/wasm/pool.ts). */
const FAILED_WORD: usize = Ctrl.FAILED * 4;

/**
 * Waits until all nth threads have arrived (the pool's barrier words Ctrl.BARRIER_COUNT and _GEN). Stops
 * the kernel (a trap) if a thread failed meanwhile: it will never arrive.
 */
function barrier(ctrl: usize, nth: i32): void {
  if (nth <= 1) return;
  if (ASC_FEATURE_THREADS) {
    const count = ctrl + Ctrl.BARRIER_COUNT * 4, generation = ctrl + Ctrl.BARRIER_GEN * 4;
    const gen = atomic.load<i32>(generation);
    if (atomic.add<i32>(count, 1) == nth - 1) {
      atomic.store<i32>(count, 0);
      atomic.add<i32>(generation, 1);
      atomic.notify(generation, nth);
    } else {
      let spins = 0;
      while (atomic.load<i32>(generation) == gen) {
        if (atomic.load<i32>(ctrl + FAILED_WORD) != 0) unreachable();
        if (++spins > 65536) waitAt(generation, gen);
      }
    }
  }
}

function addInto(dst: usize, src: usize, n: i32): void {
  for (let j = 0; j < n; j += 4) st(dst + j * 4, f32x4.add(ld(dst + j * 4), ld(src + j * 4)), min(4, n - j));
}

// The argument slots (Rec), generation's layer records (GenLayer) and the pool's control words
// (Ctrl) are declared in abi.ts.

// Gate math of one batch row of one step, units 0..H, four lanes at a time. One function per
// kind, each alone (exported so that Binaryen keeps it out of its caller), so its polynomial
// constants and values stay in registers. `row` is the row of the gates buffer: on entry the
// input projection, on return the activated gates; `hrow` the row of h_{t-1} @ whh^T.

/** LSTM: c = f c' + i g, h = o tanh(c) (h: out, or m before a projection). */
export function lstmRowForward(row: usize, hrow: usize, bih: usize, bhh: usize, cprev: usize, c: usize, tc: usize, h: usize, H: i32, cnt: i32): void {
  const H4 = <usize>H * 4;
  const end = <usize>(cnt & ~3) * 4;
  // whole groups of four units, then the ragged rest (the same code with fewer lanes stored)
  for (let o: usize = 0; o < end; o += 16) lstmUnits(row, hrow, bih, bhh, cprev, c, tc, h, H4, o, 4);
  if (cnt & 3) lstmUnits(row, hrow, bih, bhh, cprev, c, tc, h, H4, end, cnt & 3);
}

/** Four units of lstmRowForward from byte offset o, storing n lanes. */
// @ts-ignore: decorator
@inline function lstmUnits(row: usize, hrow: usize, bih: usize, bhh: usize, cprev: usize, c: usize, tc: usize, h: usize, H4: usize, o: usize, n: i32): void {
  // the input projection plus its bias first, then h @ whh^T, then its bias (as the reference)
  let ai = ld(row + o), af = ld(row + H4 + o), ag = ld(row + 2 * H4 + o), ao = ld(row + 3 * H4 + o);
  if (bih) {
    ai = f32x4.add(ai, ld(bih + o));
    af = f32x4.add(af, ld(bih + H4 + o));
    ag = f32x4.add(ag, ld(bih + 2 * H4 + o));
    ao = f32x4.add(ao, ld(bih + 3 * H4 + o));
  }
  ai = f32x4.add(ai, ld(hrow + o));
  af = f32x4.add(af, ld(hrow + H4 + o));
  ag = f32x4.add(ag, ld(hrow + 2 * H4 + o));
  ao = f32x4.add(ao, ld(hrow + 3 * H4 + o));
  if (bhh) {
    ai = f32x4.add(ai, ld(bhh + o));
    af = f32x4.add(af, ld(bhh + H4 + o));
    ag = f32x4.add(ag, ld(bhh + 2 * H4 + o));
    ao = f32x4.add(ao, ld(bhh + 3 * H4 + o));
  }
  const ig = vsigmoidGate(ai), fg = vsigmoidGate(af), gg = vtanhGate(ag), og = vsigmoidGate(ao);
  const cv = madd(fg, ld(cprev + o), f32x4.mul(ig, gg));
  const tcv = vtanhGate(cv);
  st(row + o, ig, n);
  st(row + H4 + o, fg, n);
  st(row + 2 * H4 + o, gg, n);
  st(row + 3 * H4 + o, og, n);
  st(c + o, cv, n);
  st(tc + o, tcv, n);
  st(h + o, f32x4.mul(og, tcv), n);
}

/** GRU: r, z, n = tanh(xn + r (hn + bhn)), h = (1 - z) n + z h'; keeps hn + bhn for backward. */
export function gruRowForward(row: usize, hrow: usize, bih: usize, bhh: usize, hprev: usize, hnOut: usize, h: usize, H: i32, cnt: i32): void {
  const H4 = <usize>H * 4;
  const end = <usize>(cnt & ~3) * 4;
  for (let o: usize = 0; o < end; o += 16) gruUnits(row, hrow, bih, bhh, hprev, hnOut, h, H4, o, 4);
  if (cnt & 3) gruUnits(row, hrow, bih, bhh, hprev, hnOut, h, H4, end, cnt & 3);
}

/** Four units of gruRowForward from byte offset o, storing n lanes. */
// @ts-ignore: decorator
@inline function gruUnits(row: usize, hrow: usize, bih: usize, bhh: usize, hprev: usize, hnOut: usize, h: usize, H4: usize, o: usize, n: i32): void {
  let xr = ld(row + o), xz = ld(row + H4 + o), xn = ld(row + 2 * H4 + o);
  if (bih) {
    xr = f32x4.add(xr, ld(bih + o));
    xz = f32x4.add(xz, ld(bih + H4 + o));
    xn = f32x4.add(xn, ld(bih + 2 * H4 + o));
  }
  let hr = ld(hrow + o), hz = ld(hrow + H4 + o), hn = ld(hrow + 2 * H4 + o);
  if (bhh) {
    hr = f32x4.add(hr, ld(bhh + o));
    hz = f32x4.add(hz, ld(bhh + H4 + o));
    hn = f32x4.add(hn, ld(bhh + 2 * H4 + o));
  }
  const r = vsigmoidGate(f32x4.add(xr, hr));
  const z = vsigmoidGate(f32x4.add(xz, hz));
  const nn = vtanhGate(madd(r, hn, xn));
  st(row + o, r, n);
  st(row + H4 + o, z, n);
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
@inline function rowForward(kind: i32, row: usize, hrow: usize, bih: usize, bhh: usize, hprev: usize, cprev: usize, c: usize, tc: usize,
  hn: usize, h: usize, H: i32, cnt: i32): void {
  if (kind == CellKernel.LSTM) lstmRowForward(row, hrow, bih, bhh, cprev, c, tc, h, H, cnt);
  else if (kind == CellKernel.GRU) gruRowForward(row, hrow, bih, bhh, hprev, hn, h, H, cnt);
  else rnnRowForward(row, hrow, bih, bhh, h, cnt, kind == CellKernel.RNN_RELU);
}

/** Four units of rnnRowForward from byte offset o, storing n lanes. */
// @ts-ignore: decorator
@inline function rnnUnits(row: usize, hrow: usize, bih: usize, bhh: usize, h: usize, relu: bool, o: usize, n: i32): void {
  let a = ld(row + o);
  if (bih) a = f32x4.add(a, ld(bih + o));
  a = f32x4.add(a, ld(hrow + o));
  if (bhh) a = f32x4.add(a, ld(bhh + o));
  st(h + o, relu ? f32x4.pmax(a, f32x4.splat(0)) : vtanhGate(a), n);
}

/** Adds the first n lanes of v into the floats at p. */
// @ts-ignore: decorator
@inline function accum(p: usize, v: v128, n: i32): void {
  st(p, f32x4.add(ld(p), v), n);
}

// The backward rows also add their gate gradients into the row's sums over the steps (acc,
// accH: a row of (B, G*H), or 0), from which the bias gradients come without another pass.

/** Stores the first n lanes of v at p + off and, with a sums row acc, adds them into acc + off. */
// @ts-ignore: decorator
@inline function stSum(p: usize, acc: usize, off: usize, v: v128, n: i32): void {
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
@inline function lstmBackUnits(row: usize, drow: usize, tc: usize, cprev: usize, dm: usize, dc: usize, H4: usize, acc: usize, o: usize, n: i32): void {
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
@inline function gruBackUnits(row: usize, drow: usize, hrow: usize, hn: usize, hprev: usize, dh: usize, H4: usize, acc: usize, accH: usize, o: usize, n: i32): void {
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
@inline function rnnBackUnits(drow: usize, h: usize, dh: usize, relu: bool, acc: usize, o: usize, n: i32): void {
  const hv = ld(h + o);
  const d = relu ? v128.and(ld(dh + o), f32x4.gt(hv, f32x4.splat(0))) : f32x4.mul(ld(dh + o), f32x4.sub(f32x4.splat(1), f32x4.mul(hv, hv)));
  stSum(drow, acc, o, d, n);
}

// @ts-ignore: decorator
@inline function arg(args: usize, i: i32): i32 {
  return load<i32>(args + <usize>i * 4);
}

/** Field i of a record (GenLayer). */
// @ts-ignore: decorator
@inline function field(rec: usize, i: i32): i32 {
  return load<i32>(rec + <usize>i * 4);
}

function gatesOf(kind: i32): i32 {
  return kind == CellKernel.LSTM ? 4 : kind == CellKernel.GRU ? 3 : 1;
}

/** The direction this thread read its panels of W_hh in at its last step (see stepUnits). */
let revPanels = false;

/**
 * The first 8-unit block of thread t's share (t = nth: the end): blocks split evenly, or, with
 * main > 0, the calling thread's first `main` blocks and the rest split evenly between the others.
 */
function unitBlock(blocks: i32, t: i32, nth: i32, main: i32): i32 {
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
function recurrentProduct(h: usize, wpack: usize, H: i32, G: i32, u0: i32, u1: i32, hh: usize, ws: usize): void {
  revPanels = !revPanels;
  if (revPanels) for (let g = G - 1; g >= 0; g--) gemvPackedCols(h, wpack, H, g * H + u0, g * H + u1, hh, ws, false, true);
  else for (let g = 0; g < G; g++) gemvPackedCols(h, wpack, H, g * H + u0, g * H + u1, hh, ws);
}

/** Threads (ids 1..7) that compute ahead; each has a control word flagging its work after a call (AHEAD_THREADS in pool.ts). */
const AHEAD_THREADS: i32 = Ctrl.AHEAD_THREADS;
/** Control word 24 + tid: 1 while worker tid computes ahead, its call already counted done (pool.ts). */
const AHEAD_WORD: usize = Ctrl.AHEAD * 4;
/** The pool's control word counting the workers done with the call. */
const DONE_WORD: usize = Ctrl.DONE * 4;

/** Whether PRE holds this thread's columns of h0 @ whh^T (computed ahead from an equal h). */
function precomputed(args: usize, tid: i32, nth: i32, h0: usize, H: i32): bool {
  const pre = <usize>arg(args, Rec.PRE);
  if (!pre || tid == 0 || tid >= AHEAD_THREADS) return false;
  if (load<i32>(<usize>arg(args, Rec.PREOK) + <usize>tid * 4) != nth) return false;
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
function computeAhead(args: usize, ctrl: usize, tid: i32, nth: i32, hLast: usize, wpack: usize, H: i32, G: i32): void {
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
  store<i32>(ok, nth);
}

/**
 * One batch row (generation) on several threads: each thread owns a block of hidden units, all
 * their gates' columns of the (prepacked) weights and their gate math, so it reads only its
 * share of the weights; a barrier between steps makes the whole h visible to every thread.
 */
function stepUnits(kind: i32, T: i32, I: i32, H: i32, x: usize, wih: usize, wpack: usize, bih: usize, bhh: usize,
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
  for (let t = 0; t < T; t++) {
    const row = gates + <usize>(t * GH) * 4;
    if (ids) {
      const src = table + <usize>(load<i32>(ids + <usize>t * 4) * GH) * 4;
      for (let g = 0; g < G; g++) memory.copy(row + <usize>(g * H + u0) * 4, src + <usize>(g * H + u0) * 4, <usize>cnt * 4);
    } else {
      for (let g = 0; g < G; g++) gemvPackedCols(x + <usize>(t * I) * 4, wih, I, g * H + u0, g * H + u1, row, ws);
    }
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
  if (arg(args, Rec.PREPACKED) && B == 1 && nth > 1 && P == 0 && H % NR == 0) {
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
    // this thread's rows of every step: a row of the embedding's table, or x @ wih^T
    for (let t = 0; t < T; t++) {
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
 * Generation with a token embedding (a table of input projections) and a head, one sequence,
 * through NL stacked layers of one kind and hidden size: each step's input is the token drawn
 * from the previous step's logits (see Rec.UNIF). Each layer's row splits over threads by hidden
 * units as in stepUnits, with a barrier after each layer; after the top layer's barrier every
 * thread runs the whole head and draws from it, so all of them know the next token with no
 * further barrier (the same sums on the same values: the same token).
 * A layer's record (16 i32): 0 I, 1 packed wih^T (layers above the first), 2 packed whh^T, 3 bih,
 * 4 bhh, 5 h0, 6 c0, 7 h (2 * H floats, double-buffered by step parity), 8 c (the same), 9 the
 * gates row (G * H), 10 the recurrent product (G * H), 11 tanh(c) (H), 12 GRU's hn (H).
 */
export function recurrentGenerate(args: usize, tid: i32): void {
  const kind = arg(args, Rec.KIND), T = arg(args, Rec.T), H = arg(args, Rec.H);
  const nth = arg(args, Rec.NTH), ctrl = <usize>arg(args, Rec.CTRL);
  const ws = <usize>arg(args, Rec.WS) + <usize>tid * arg(args, Rec.WSB);
  const ids = <usize>arg(args, Rec.IDS), table = <usize>arg(args, Rec.TABLE);
  const head = <usize>arg(args, Rec.HEAD), hb = <usize>arg(args, Rec.HEADB), O = arg(args, Rec.O);
  const opad = arg(args, Rec.OPAD);
  const logits = <usize>arg(args, Rec.LOGITS) + <usize>(tid * opad) * 4;
  const unif = <usize>arg(args, Rec.UNIF), temp = reinterpret<f32>(arg(args, Rec.TEMP));
  const layers = <usize>arg(args, Rec.LAYERS), NL = arg(args, Rec.NL);
  const G = gatesOf(kind);
  const GH = G * H;
  const u0 = nth > 1 ? unitBlock(H / NR, tid, nth, 0) * NR : 0;
  const u1 = nth > 1 ? unitBlock(H / NR, tid + 1, nth, 0) * NR : H;
  const cnt = u1 - u0;
  const o = <usize>u0 * 4;
  // the draws' scratch: this thread's row of weights, after every thread's logits
  const wMine = <usize>arg(args, Rec.LOGITS) + <usize>((nth + tid) * opad) * 4;
  let token = arg(args, Rec.FIRST);
  for (let s = 0; s < T; s++) {
    let x: usize = 0; // the layer below's h at this step
    for (let l = 0; l < NL; l++) {
      const rec = layers + <usize>(l * GenLayer.COUNT) * 4;
      const I = field(rec, GenLayer.I), wih = <usize>field(rec, GenLayer.WIH), whh = <usize>field(rec, GenLayer.WHH);
      const bih = <usize>field(rec, GenLayer.BIH), bhh = <usize>field(rec, GenLayer.BHH);
      const hBuf = <usize>field(rec, GenLayer.H), cBuf = <usize>field(rec, GenLayer.C), gates = <usize>field(rec, GenLayer.GATES);
      const hh = <usize>field(rec, GenLayer.HH), tc = <usize>field(rec, GenLayer.TC), hnBuf = <usize>field(rec, GenLayer.HN);
      const hp = s == 0 ? <usize>field(rec, GenLayer.H0) : hBuf + <usize>(((s - 1) & 1) * H) * 4;
      const cp = s == 0 ? <usize>field(rec, GenLayer.C0) : cBuf + <usize>(((s - 1) & 1) * H) * 4;
      // one thread: whole rows at once (a gate's columns start on a panel only when H % 8 == 0)
      if (nth == 1) gemvPackedCols(hp, whh, H, 0, GH, hh, ws);
      else if (cnt > 0) recurrentProduct(hp, whh, H, G, u0, u1, hh, ws);
      if (l == 0) {
        const src = table + <usize>(token * GH) * 4;
        for (let g = 0; g < G; g++) memory.copy(gates + <usize>(g * H + u0) * 4, src + <usize>(g * H + u0) * 4, <usize>cnt * 4);
      } else if (nth == 1) gemvPackedCols(x, wih, I, 0, GH, gates, ws);
      else for (let g = 0; g < G; g++) gemvPackedCols(x, wih, I, g * H + u0, g * H + u1, gates, ws);
      const hn = hBuf + <usize>((s & 1) * H) * 4;
      const cn = cBuf + <usize>((s & 1) * H) * 4;
      const bi = bih ? bih + o : 0, bh = bhh ? bhh + o : 0;
      if (cnt > 0) {
        rowForward(kind, gates + o, hh + o, bi, bh, hp + o, cp + o, cn + o, tc + o, hnBuf + o, hn + o, H, cnt);
      }
      barrier(ctrl, nth); // the whole h of this layer at this step, every thread's units
      x = hn;
    }
    if (hb) memory.copy(logits, hb, <usize>O * 4);
    gemvPackedCols(x, head, H, 0, O, logits, ws, hb != 0);
    token = drawToken(logits, O, temp, load<f64>(unif + <usize>s * 8), wMine);
    if (tid == 0) store<i32>(ids + <usize>s * 4, token);
  }
}

/**
 * The token drawn from logits (O floats at L) at a temperature, with u uniform in [0, 1): the
 * first largest logit when temp is 0; else token j with probability w_j / sum(w), w_j =
 * exp((L_j - max) / temp), by the walk of src/backend/sample.ts (u times the total, minus each
 * weight in turn until it is not above 0). Weights in float32 (scratch at w), sums in float64.
 */
function drawToken(L: usize, O: i32, temp: f32, u: f64, w: usize): i32 {
  let best = 0;
  let m = load<f32>(L);
  for (let j = 1; j < O; j++) {
    const v = load<f32>(L + <usize>j * 4);
    if (v > m) {
      m = v;
      best = j;
    }
  }
  if (temp == 0) return best;
  const mv = f32x4.splat(m), tv = f32x4.splat(temp);
  for (let j = 0; j < O; j += 4) v128.store(w + <usize>j * 4, vexp(f32x4.div(f32x4.sub(v128.load(L + <usize>j * 4), mv), tv)));
  let total: f64 = 0;
  for (let j = 0; j < O; j++) total += <f64>load<f32>(w + <usize>j * 4);
  let r = u * total;
  let last = best;
  for (let j = 0; j < O; j++) {
    const wj = <f64>load<f32>(w + <usize>j * 4);
    if (wj == 0) continue;
    last = j;
    r -= wj;
    if (r <= 0) return j;
  }
  return last;
}

/**
 * The stepper's head on rows r0..r1 of out (rows, Hout), columns j0..j1 (j0 a multiple of NR):
 * LOGITS[r, j] = HEADB[j] + out[r] . head[:, j].
 */
function headRows(args: usize, r0: i32, r1: i32, Hout: i32, out: usize, j0: i32, j1: i32, ws: usize): void {
  const O = arg(args, Rec.O);
  const head = <usize>arg(args, Rec.HEAD), hb = <usize>arg(args, Rec.HEADB), logits = <usize>arg(args, Rec.LOGITS);
  if (j1 <= j0) return;
  for (let r = r0; r < r1; r++) {
    const row = logits + <usize>(r * O) * 4;
    if (hb) memory.copy(row + <usize>j0 * 4, hb + <usize>j0 * 4, <usize>(j1 - j0) * 4);
    gemvPackedCols(out + <usize>(r * Hout) * 4, head, Hout, j0, j1, row, ws, hb != 0);
  }
}

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

  packBShare(whh, false, GH, Hout, wpack, tid, nth); // whh as the right operand of dA @ whh
  if (P > 0) packBShare(whr, false, P, H, rpack, tid, nth);
  barrier(ctrl, nth);
  const dm = P > 0 ? dmBuf : dh;

  for (let s = T - 1; s >= 0; s--) {
    const t = reverse ? T - 1 - s : s;
    const tp = reverse ? t + 1 : t - 1;
    const gBase = gates + <usize>(t * B * GH) * 4;
    const sBase = <usize>(t * BH) * 4;
    if (dOut) addInto(dh + <usize>(b0 * Hout) * 4, dOut + <usize>(t * BHo + b0 * Hout) * 4, rows * Hout);
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
      if (kind == CellKernel.LSTM) lstmRowBackward(row, drow, tcAll + sBase + kk, cp + kk, dm + kk, dc + kk, H, ax);
      else if (kind == CellKernel.GRU) gruRowBackward(row, drow, dAh + <usize>(t * B * GH + b * GH) * 4, hnAll + sBase + kk, hp + kk, dh + kk, H, ax, accH ? accH + <usize>(b * GH) * 4 : 0);
      else rnnRowBackward(drow, out + sBase + kk, dh + kk, H, kind == CellKernel.RNN_RELU, ax);
    }
    // dh[rows] (+)= dA_t[rows] @ whh
    const dAt = (kind == CellKernel.GRU ? dAh : dAx) + <usize>(t * B * GH + b0 * GH) * 4;
    gemmPacked(false, rows, Hout, GH, dAt, GH, wpack, dh + <usize>(b0 * Hout) * 4, kind == CellKernel.GRU, ws);
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
  if (dwih) gemmShare(true, false, GH, I, TB, dAx, x, dwih, false, ws, tid, nth);
  if (dwhh) gemmShare(true, false, GH, Hout, TB, dAhAll, hPrevAll, dwhh, false, ws, tid, nth);
  const j0 = share4(GH, tid, nth), j1 = share4(GH, tid + 1, nth);
  // bias gradients: the rows' sums over the steps, summed over the rows
  if (dbih) colSum(accX, B, GH, dbih, j0, j1);
  if (dbhh) {
    // without the GRU's reset gate both biases see the same gradient: sum it once
    if (kind != CellKernel.GRU) {
      if (dbih) {
        if (j1 > j0) memory.copy(dbhh + <usize>j0 * 4, dbih + <usize>j0 * 4, <usize>(j1 - j0) * 4);
      } else colSum(accX, B, GH, dbhh, j0, j1);
    } else colSum(accH, B, GH, dbhh, j0, j1);
  }
  if (dwhr) gemmShare(true, false, P, H, TB, dhAll, mAll, dwhr, false, ws, tid, nth);
}
