/**
 * The `wasm` backend: float32 matrix products and whole-sequence recurrent kernels in
 * WebAssembly SIMD (kernels/); float64 and the remaining small ops run on the reference
 * backend, which every kernel here must match.
 */
import type { FloatArray } from '../../tensor/dtype.js';
import type { Shape } from '../../tensor/shape.js';
import {
  ALL_RECURRENT_GRADS, leadingSumWidth, hasKerasOptions, stepperIds, gatherRows, generateByRuns, type Backend, type RecurrentKind, type StepperExtras, type RecurrentNeeds, type AdamScalars, type RecurrentStepper, type UnaryOp, type RecurrentCache, type RecurrentDims, type RecurrentForwardResult, type RecurrentGrads,
  type RecurrentWeights, type LayerAbove,
} from '../backend.js';
import { referenceBackend as ref } from '../reference/index.js';
import { gateCount, type CellKind } from '../cells.js';
import type { DrawOptions } from '../sample.js';
import { WasmHeap, HeapRetry } from './heap.js';
import { AHEAD_THREADS, type ThreadPool, type KernelName } from './pool.js';
import { CallScope, PackedStore, ResidentCaches, type Block, type PackedEntry } from './resident.js';
import { ThreadChooser } from './chooser.js';
import { Rec, Scan, Linear, GenLayer, CellKernel, block } from './abi.js';

/** What the kernel module exports (see kernels/index.ts). */
export interface KernelExports {
  heapBase(): number;
  gemmWorkspaceBytes(): number;
  packedBytes(K: number, N: number): number;
  gemm(transA: number, transB: number, M: number, N: number, K: number, a: number, b: number, c: number, accumulate: number, ws: number, tid: number, nth: number): void;
  recurrentForward(args: number, tid: number): void;
  recurrentGenerate(args: number, tid: number): void;
  recurrentBackward(args: number, tid: number): void;
  linearBackward(args: number, tid: number): void;
  minScanForward(args: number, tid: number): void;
  minScanBackward(args: number, tid: number): void;
  pack(b: number, transB: number, K: number, N: number, dst: number): void;
  softmaxRows(x: number, rows: number, n: number, out: number, log: number): void;
  softmaxRowsBackward(y: number, g: number, rows: number, n: number, out: number, log: number): void;
  unaryF32(op: number, x: number, out: number, n: number, tmp: number): void;
  logSoftmaxNllBackward(lp: number, target: number, coef: number, rows: number, n: number, out: number): void;
  sumRowsF32(x: number, rows: number, n: number, out: number, acc: number): void;
  adamF32(p: number, g: number, m: number, v: number, n: number,
    b1: number, c1: number, b2: number, c2: number, stepSize: number, inv: number, eps: number, sign: number, l2: number, shrink: number): void;
  setMayWait(flag: number): void;
}

/** Unary ops with a wasm kernel (others, and small arrays, stay on the reference loops). */
const WASM_UNARY: Partial<Record<UnaryOp, number>> = { exp: 0, tanh: 1, sigmoid: 2 };
const UNARY_MIN = 4096;
/** Parameters shorter than this take the reference Adam step (copying in and out costs more). */
const ADAM_MIN = 1024;

/** Below this many multiply-adds a kernel runs on the calling thread alone (waking workers costs more). */
const PARALLEL_MIN_WORK = 1 << 18;
/**
 * The sequence kernels (and steppers given several rows) split the batch between threads only
 * from this many multiply-adds per step. Below it one thread was faster on this project's 2-core
 * machine: the lstm-ts workload (64 rows, 24 steps, H 32: 0.27M per step) ran at 40-47K sequences/s on one
 * thread and 35-42K on two, and its kernels took 535 us on one thread but 440-465 us on each
 * of two, for half the rows. At 1.1M per step (H 64) two threads were ahead. Measured again
 * with each thread projecting its own rows, alternating blocks of steps in one process: two
 * threads' steps 10% slower (a step waits for the slower core, often busy with other work).
 */
const SEQUENCE_MIN_STEP_WORK = 1 << 20;

/**
 * What backward needs, either resident in wasm memory (addresses, freed by release()) or, past
 * the residency budget, copied out to JavaScript arrays. Held apart from the cache object the
 * graph holds, so that the registry of resident caches can copy it out without keeping that
 * object (and so its graph) alive.
 */
interface CacheData {
  /** Addresses of what backward reads, while resident (null: copied out, in the arrays below). */
  resident: { out: number; gates: number; c: number; tc: number; m: number; hn: number; x: number; h0: number; c0: number } | null;
  gates: Float32Array | null;
  c: Float32Array | null;
  tc: Float32Array | null;
  m: Float32Array | null;
  hn: Float32Array | null;
}

interface WasmCache extends RecurrentCache {
  data: CacheData;
  /** Bytes of what backward reads, resident or not (what a training step needs kept). */
  bytes: number;
}

/** Points the argument slots of the sequence kernels at a resident cache. */
function residentSlots(slots: number[], r: NonNullable<CacheData['resident']>): void {
  slots[Rec.X] = r.x;
  slots[Rec.H0] = r.h0;
  slots[Rec.C0] = r.c0;
  slots[Rec.OUT] = r.out;
  slots[Rec.GATES] = r.gates;
  slots[Rec.C] = r.c;
  slots[Rec.TC] = r.tc;
  slots[Rec.M] = r.m;
  slots[Rec.HN] = r.hn;
}

/**
 * The most bytes of wasm memory that resident training caches may hold at once (beyond what
 * training measured it needs, see ResidentCaches, the oldest are copied out).
 */
const RESIDENT_BUDGET = 256 * 2 ** 20;
/** Bytes of wasm memory that steppers' packed weights may hold at once; past it the least recently used are packed again when next used. */
const PACKED_BUDGET = 256 * 2 ** 20;

/** Testing and tuning knobs of one wasm backend instance. */
export interface WasmBackendControls {
  heap: WasmHeap;
  /** Bytes held by resident caches now. */
  residentBytes(): number;
  /** Changes the residency budget (0: always copy caches out). */
  setResidentBudget(bytes: number): void;
  /** Bytes held by steppers' packed weights now. */
  packedBytes(): number;
  /** Changes the packed weights' budget; returns the old one. */
  setPackedBudget(bytes: number): number;
  /**
   * Whether calls choose between the pool and one thread by measuring both (default true); off,
   * every call big enough runs on the pool (tests of the kernels' thread counts). Returns the old setting.
   */
  setAdaptiveThreads(on: boolean): boolean;
  /** What the thread chooser measured: per kind of call, [one thread, the pool] seconds per unit of work. */
  threadMeasurements(): Record<string, [number, number]>;
  /** Tests: makes thread `tid`'s share of the next threaded job throw (0: the calling thread). */
  injectPoolFailure(tid: number): void;
  /** Tests: the multiply-adds per step from which the sequence kernels use threads; returns the old value. */
  setSequenceMinStepWork(macs: number): number;
}

/**
 * The kinds of cell the kernels fuse, by their code (CellKernel, kernels/abi.ts); every other kind
 * (and Keras's variants) runs on the reference kernels, the same results.
 */
const KIND: Partial<Record<CellKind, number>> = { lstm: CellKernel.LSTM, gru: CellKernel.GRU, rnn_tanh: CellKernel.RNN_TANH, rnn_relu: CellKernel.RNN_RELU };
/** Whether the kernels run these dims. */
const fused = (d: RecurrentDims): boolean => KIND[d.kind] !== undefined && !hasKerasOptions(d);
/** The most memory a stepper spends on precomputed input projections of an embedding's rows. */
const TABLE_MAX_BYTES = 16 * 2 ** 20;
/**
 * A pipelined stepper's share of hidden units for the calling thread, against 1 for each worker:
 * the workers' extra share is computed ahead, while this thread runs the JavaScript between calls.
 */
const AHEAD_MAIN_SHARE = 0.6;
/**
 * Generation splits one row's hidden units between threads from this many multiply-adds of
 * h @ whh^T per step: below, a step is too short for the barrier between steps to pay.
 */
const GENERATE_MIN_STEP_WORK = 2 ** 17;
/**
 * Generation on the pool runs in chunks of about this many seconds (at least MIN, at most MAX
 * tokens), each where it is measured to be faster (see ThreadChooser; its trials are smaller).
 */
const GENERATE_CHUNK_SECONDS = 0.002;
const GENERATE_MIN_CHUNK = 32;
const GENERATE_MAX_CHUNK = 512;

/** A call's kind and size, to time it for the ThreadChooser. */
interface Meter {
  key: string;
  work: number;
}

/** Sizes in powers of two: calls of about the same size share their measurements. */
const bucket = (x: number): number => Math.round(Math.log2(Math.max(1, x)));

/** Where a stepper's packed weights and pipelining state lie in the kernels' memory (0: none). */
interface StepperPtrs {
  wihP: number;
  whhP: number;
  whrP: number;
  bihP: number;
  bhhP: number;
  tableP: number;
  headP: number;
  headBP: number;
  preP: number;
  hAheadP: number;
  preOkP: number;
  twsP: number;
}

/** A stepper's sizes, and its packed weights (made resident by `ptrs`, for the call under way). */
interface StepperLayer {
  kind: RecurrentKind;
  I: number;
  H: number;
  P: number;
  hasTable: boolean;
  hasHead: boolean;
  ptrs: () => StepperPtrs;
  head: { O: number } | null;
  live: () => boolean;
}

function f32(...arrays: (FloatArray | null)[]): boolean {
  return arrays.every((a) => a === null || a instanceof Float32Array);
}

/**
 * The backend over one kernel instance and its memory; with a pool, big kernels run on every
 * thread (control words for the pool and the kernels' barrier at `ctrl`).
 */
export function createWasmBackend(k: KernelExports, memory: WebAssembly.Memory, heapStart: number, pool: ThreadPool | null, ctrl: number, name = 'wasm',
  maxMemoryBytes = 2 ** 31): Backend & WasmBackendControls {
  const heap = new WasmHeap(memory, heapStart, maxMemoryBytes);
  const scope = new CallScope();
  const caches = new ResidentCaches(heap, scope, RESIDENT_BUDGET);
  const packed = new PackedStore(heap, scope, PACKED_BUDGET, () => pool?.quiesce());
  // memory that cannot grow: what the call under way does not use is copied out or dropped, and
  // the call starts over (see guarded)
  heap.onPressure = () => {
    const spilled = caches.spillUnpinned();
    const evicted = packed.evictUnpinned();
    return spilled || evicted;
  };
  /** A backend entry point: a call scope (pinning what it uses), started over once after memory pressure. */
  const guarded = <A extends unknown[], R>(f: (...a: A) => R) => (...a: A): R => scope.run(() => f(...a), (e) => e instanceof HeapRetry);
  const wsBytes = k.gemmWorkspaceBytes();
  const putOr0 = (a: FloatArray | null): number => (a ? heap.put(a as Float32Array) : 0);
  const threadsFor = (work: number): number => (pool && work >= PARALLEL_MIN_WORK ? pool.threadsNow() : 1);
  let sequenceMinStepWork = SEQUENCE_MIN_STEP_WORK;
  /** Threads for a sequence kernel that splits B batch rows, `stepWork` multiply-adds per step, T steps. */
  const rowThreads = (T: number, B: number, stepWork: number): number => (B > 1 && stepWork >= sequenceMinStepWork ? threadsFor(T * stepWork) : 1);
  const chooser = new ThreadChooser();
  /**
   * The threads for a call of kind `key` that could use `avail`: the pool's, or one thread where
   * that is measured to be faster (see ThreadChooser); with the meter that records how it went.
   */
  const choose = (key: string, avail: number): { nth: number; meter: Meter | undefined } => {
    if (avail <= 1) return { nth: avail, meter: undefined };
    const { nth } = chooser.pick(key, avail);
    return { nth, meter: { key, work: 1 } };
  };
  /** Runs a kernel on `nth` threads (the pool's, or this one alone), timed for the chooser when metered. */
  const launch = (nth: number, kernel: KernelName, args: number[], own: (n: number) => void,
    meter?: Meter): void => {
    const t0 = meter ? performance.now() : 0;
    if (nth > 1 && pool) pool.run(kernel, args, own);
    else own(1);
    if (meter) chooser.record(meter.key, nth, (performance.now() - t0) / 1000, meter.work);
  };

  function gemm(transA: boolean, transB: boolean, M: number, N: number, K: number,
    a: FloatArray, aOff: number, b: FloatArray, bOff: number, c: FloatArray, cOff: number, accumulate: boolean): void {
    if (!f32(a, b, c)) return ref.gemm(transA, transB, M, N, K, a, aOff, b, bOff, c, cOff, accumulate);
    heap.reset();
    const pa = heap.put((a as Float32Array).subarray(aOff, aOff + M * K));
    const pb = heap.put((b as Float32Array).subarray(bOff, bOff + K * N));
    const pc = accumulate ? heap.put((c as Float32Array).subarray(cOff, cOff + M * N)) : heap.alloc(M * N * 4);
    const { nth, meter } = choose(`gemm:${bucket(M * N * K)}`, threadsFor(M * N * K));
    const ws = heap.alloc(wsBytes * nth);
    const args = [+transA, +transB, M, N, K, pa, pb, pc, +accumulate, ws];
    launch(nth, 'gemm', args, (n) => k.gemm(+transA, +transB, M, N, K, pa, pb, pc, +accumulate, ws, 0, n), meter);
    c.set(heap.f32(pc, M * N), cOff);
  }

  function linearBackward(g: FloatArray, x: FloatArray, w: FloatArray, rows: number, K: number, O: number,
    dx: FloatArray | null, dw: FloatArray | null, db: FloatArray | null): void {
    if (!f32(g, x, w, dx, dw, db)) return ref.linearBackward(g, x, w, rows, K, O, dx, dw, db);
    heap.reset();
    const pg = heap.put((g as Float32Array).subarray(0, rows * O));
    const px = dw ? heap.put((x as Float32Array).subarray(0, rows * K)) : 0;
    const pw = dx ? heap.put((w as Float32Array).subarray(0, O * K)) : 0;
    const pdx = dx ? heap.alloc(rows * K * 4) : 0;
    const pdw = dw ? heap.alloc(O * K * 4) : 0;
    const pdb = db ? heap.alloc(O * 4) : 0;
    const { nth, meter } = choose(`linearBackward:${bucket(rows * O * K)}`, threadsFor(rows * O * K));
    const ws = heap.alloc(wsBytes * nth);
    const args = heap.args(block(Linear, { ROWS: rows, K, O, G: pg, X: px, W: pw, DX: pdx, DW: pdw, DB: pdb, WS: ws, WSB: wsBytes, ACC: heap.alloc(O * 8), NTH: nth }));
    launch(nth, 'linearBackward', [args], () => k.linearBackward(args, 0), meter);
    if (dx) dx.set(heap.f32(pdx, rows * K));
    if (dw) dw.set(heap.f32(pdw, O * K));
    if (db) db.set(heap.f32(pdb, O));
  }

  /** Copies the weights and state in and fills the argument slots both kernels share. */
  function common(dims: RecurrentDims, w: RecurrentWeights, x: Float32Array | null, h0: Float32Array | null, c0: Float32Array | null, reverse: boolean,
    kernel: 'recurrentForward' | 'recurrentBackward') {
    const { kind, T, B, I, H, P } = dims;
    const GH = gateCount(kind) * H;
    const Hout = P || H;
    heap.reset();
    const slots = new Array<number>(Rec.COUNT).fill(0);
    slots[Rec.KIND] = KIND[kind]!;
    slots[Rec.T] = T; slots[Rec.B] = B; slots[Rec.I] = I; slots[Rec.H] = H; slots[Rec.P] = P; slots[Rec.REV] = +reverse;
    slots[Rec.X] = x ? heap.put(x) : 0;
    slots[Rec.WIH] = heap.put(w.wih as Float32Array);
    slots[Rec.WHH] = heap.put(w.whh as Float32Array);
    slots[Rec.BIH] = putOr0(w.bih);
    slots[Rec.BHH] = putOr0(w.bhh);
    slots[Rec.WHR] = putOr0(w.whr);
    slots[Rec.H0] = h0 ? heap.put(h0) : 0;
    slots[Rec.C0] = c0 ? heap.put(c0) : 0;
    slots[Rec.HH] = heap.alloc(B * GH * 4); // hh
    slots[Rec.WPACK] = heap.alloc(Math.max(k.packedBytes(Hout, GH), k.packedBytes(GH, Hout)));
    slots[Rec.RPACK] = P ? heap.alloc(Math.max(k.packedBytes(H, P), k.packedBytes(P, H))) : 0;
    const stepWork = B * GH * (I + Hout);
    const { nth, meter } = choose(`${kernel}:${kind}:${bucket(stepWork)}:${bucket(T)}`, rowThreads(T, B, stepWork));
    if (meter) meter.work = T * stepWork;
    slots[Rec.WS] = heap.alloc(wsBytes * nth);
    slots[Rec.NTH] = nth;
    slots[Rec.CTRL] = ctrl;
    slots[Rec.WSB] = wsBytes;
    return { slots, GH, Hout, nth, meter };
  }

  /**
   * minGRU and minLSTM: the input projection as one product, then the scan (kernels/minscan.ts),
   * in one frame of the kernels' memory; backward is the scan's, then the projection's gradients
   * as a linear layer's (dx = dA @ W_ih, dW_ih = dA^T x, db = dA summed over rows).
   */
  interface ScanCache extends RecurrentCache {
    /** (T, B, GH) the activated g(k), z / f, i */
    gates: Float32Array;
  }
  const isScan = (d: RecurrentDims): boolean => d.kind === 'mingru' || d.kind === 'minlstm';
  /** The scan kernels' argument slots (kernels/minscan.ts): T, B, H, lstm, reverse, gates, bias, h0, out, dOut, dh, dA, nth. */

  function scanForward(dims: RecurrentDims, w: RecurrentWeights, x: Float32Array, h0: Float32Array, reverse: boolean, keepCache: boolean): RecurrentForwardResult {
    const { T, B, I, H } = dims;
    const lstm = dims.kind === 'minlstm';
    const GH = (lstm ? 3 : 2) * H;
    const TB = T * B;
    heap.reset();
    const px = heap.put(x);
    const pw = heap.put(w.wih as Float32Array);
    const pg = heap.alloc(TB * GH * 4);
    const proj = choose(`gemm:${bucket(TB * GH * I)}`, threadsFor(TB * GH * I));
    const ws = heap.alloc(wsBytes * proj.nth);
    launch(proj.nth, 'gemm', [0, 1, TB, GH, I, px, pw, pg, 0, ws], (n) => k.gemm(0, 1, TB, GH, I, px, pw, pg, 0, ws, 0, n), proj.meter);
    const pout = heap.alloc(TB * H * 4);
    const slots = new Array<number>(Scan.COUNT).fill(0);
    const { nth, meter } = choose(`minScanForward:${bucket(B * GH)}:${bucket(T)}`, rowThreads(T, B, B * GH * 8));
    if (meter) meter.work = TB * GH;
    slots[Scan.T] = T; slots[Scan.B] = B; slots[Scan.H] = H; slots[Scan.LSTM] = +lstm; slots[Scan.REV] = +reverse;
    slots[Scan.GATES] = pg; slots[Scan.BIAS] = w.bih ? heap.put(w.bih as Float32Array) : 0; slots[Scan.H0] = heap.put(h0); slots[Scan.OUT] = pout; slots[Scan.NTH] = nth;
    const args = heap.args(slots);
    launch(nth, 'minScanForward', [args], () => k.minScanForward(args, 0), meter);
    const out = heap.take(pout, TB * H);
    const last = reverse ? 0 : T - 1;
    const cache: ScanCache | null = keepCache ? { backend: name, gates: heap.take(pg, TB * GH) } : null;
    return { out, hN: out.slice(last * B * H, (last + 1) * B * H), cN: null, cache };
  }

  function scanBackward(dims: RecurrentDims, w: RecurrentWeights, x: Float32Array, h0: Float32Array, reverse: boolean, fwd: RecurrentForwardResult,
    dOut: FloatArray | null, dhN: FloatArray | null, needs: RecurrentNeeds): RecurrentGrads {
    const { T, B, I, H } = dims;
    const lstm = dims.kind === 'minlstm';
    const GH = (lstm ? 3 : 2) * H;
    const TB = T * B;
    const cache = fwd.cache as ScanCache;
    heap.reset();
    const pdA = heap.alloc(TB * GH * 4);
    const pdh = dhN ? heap.put(dhN as Float32Array) : heap.zeros(B * H);
    const slots = new Array<number>(Scan.COUNT).fill(0);
    const { nth, meter } = choose(`minScanBackward:${bucket(B * GH)}:${bucket(T)}`, rowThreads(T, B, B * GH * 8));
    if (meter) meter.work = TB * GH;
    slots[Scan.T] = T; slots[Scan.B] = B; slots[Scan.H] = H; slots[Scan.LSTM] = +lstm; slots[Scan.REV] = +reverse;
    slots[Scan.GATES] = heap.put(cache.gates); slots[Scan.H0] = heap.put(h0); slots[Scan.OUT] = heap.put(fwd.out as Float32Array);
    slots[Scan.DOUT] = dOut ? heap.put(dOut as Float32Array) : 0; slots[Scan.DH] = pdh; slots[Scan.DA] = pdA; slots[Scan.NTH] = nth;
    const args = heap.args(slots);
    launch(nth, 'minScanBackward', [args], () => k.minScanBackward(args, 0), meter);
    // the input projection's gradients: a linear layer's backward with g = dA (TB, GH), x (TB, I), W_ih (GH, I)
    const params = needs.params;
    const px = params ? heap.put(x) : 0;
    const pw = needs.input ? heap.put(w.wih as Float32Array) : 0;
    const pdx = needs.input ? heap.alloc(TB * I * 4) : 0;
    const pdw = params ? heap.alloc(GH * I * 4) : 0;
    const pdb = params && w.bih ? heap.alloc(GH * 4) : 0;
    const lin = choose(`linearBackward:${bucket(TB * GH * I)}`, threadsFor(TB * GH * I));
    const lws = heap.alloc(wsBytes * lin.nth);
    const largs = heap.args(block(Linear, { ROWS: TB, K: I, O: GH, G: pdA, X: px, W: pw, DX: pdx, DW: pdw, DB: pdb, WS: lws, WSB: wsBytes, ACC: heap.alloc(GH * 8), NTH: lin.nth }));
    launch(lin.nth, 'linearBackward', [largs], () => k.linearBackward(largs, 0), lin.meter);
    return {
      dx: pdx ? heap.take(pdx, TB * I) : null, dh0: heap.take(pdh, B * H), dc0: null,
      dwih: pdw ? heap.take(pdw, GH * I) : null, dwhh: null, dbih: pdb ? heap.take(pdb, GH) : null, dbhh: null, dwhr: null, dextra: null,
    };
  }

  function recurrentForward(dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
    reverse: boolean, keepCache: boolean): RecurrentForwardResult {
    if (isScan(dims) && f32(x, h0, w.wih, w.bih)) return scanForward(dims, w, x as Float32Array, h0 as Float32Array, reverse, keepCache);
    if (!fused(dims) || !f32(x, h0, c0, w.wih, w.whh, w.bih, w.bhh, w.whr)) return ref.recurrentForward(dims, w, x, h0, c0, reverse, keepCache);
    const { kind, T, B, I, H, P } = dims;
    const lstm = kind === 'lstm';
    const GH = gateCount(kind) * H;
    const Hout = P || H;
    // what backward reads stays in wasm memory when the budget allows (allocated before the scratch)
    const sizes = {
      out: T * B * Hout, gates: T * B * GH, c: lstm ? T * B * H : 0, tc: lstm ? T * B * H : 0, m: lstm && P ? T * B * H : 0,
      hn: kind === 'gru' ? T * B * H : 0, x: T * B * I, h0: B * Hout, c0: c0 ? B * H : 0,
    };
    const total = Object.values(sizes).reduce((a, b) => a + (b ? b * 4 + 32 : 0), 0);
    let resident: NonNullable<CacheData['resident']> | null = null;
    const blocks: Block[] = [];
    if (keepCache && caches.admit(total)) {
      const r = {} as Record<keyof typeof sizes, number>;
      try {
        for (const [key, n] of Object.entries(sizes) as [keyof typeof sizes, number][]) {
          r[key] = n ? heap.persistent(n * 4) : 0;
          if (n) blocks.push({ p: r[key], bytes: n * 4 });
        }
      } catch (e) {
        for (const b of blocks) heap.release(b.p, b.bytes);
        throw e;
      }
      resident = r;
    }
    // blocks not yet owned by a cache go back if anything below fails (or starts over)
    let owned = false;
    try {
      const { slots, nth, meter } = resident
        ? common(dims, w, null, null, null, reverse, 'recurrentForward')
        : common(dims, w, x as Float32Array, h0 as Float32Array, c0 as Float32Array | null, reverse, 'recurrentForward');
      if (resident) {
        heap.f32(resident.x, x.length).set(x);
        heap.f32(resident.h0, h0.length).set(h0);
        if (c0) heap.f32(resident.c0, c0.length).set(c0);
        residentSlots(slots, resident);
      } else {
        slots[Rec.OUT] = heap.alloc(sizes.out * 4);
        slots[Rec.GATES] = heap.alloc(sizes.gates * 4);
        slots[Rec.C] = lstm ? heap.alloc(sizes.c * 4) : 0;
        slots[Rec.TC] = lstm ? heap.alloc(sizes.tc * 4) : 0;
        slots[Rec.M] = sizes.m ? heap.alloc(sizes.m * 4) : 0;
        slots[Rec.HN] = sizes.hn ? heap.alloc(sizes.hn * 4) : 0;
      }
      // on several threads each projects its own rows against wih^T packed here once (Rec.XPACK)
      if (nth > 1) slots[Rec.XPACK] = heap.alloc(k.packedBytes(I, GH));
      const args = heap.args(slots);
      launch(nth, 'recurrentForward', [args], () => k.recurrentForward(args, 0), meter);
      const out = heap.take(slots[Rec.OUT]!, T * B * Hout);
      const last = reverse ? 0 : T - 1;
      const hN = out.slice(last * B * Hout, (last + 1) * B * Hout);
      const cN = lstm ? heap.take(slots[Rec.C]! + last * B * H * 4, B * H) : null;
      let cache: WasmCache | null = null;
      if (keepCache) caches.forwardKept();
      if (keepCache && resident) {
        const res = resident;
        const data: CacheData = { resident: res, gates: null, c: null, tc: null, m: null, hn: null };
        const key = caches.add({
          blocks,
          // past the budget: backward then copies these in, as for a cache that was never resident
          spill: () => {
            data.gates = heap.take(res.gates, sizes.gates);
            data.c = res.c ? heap.take(res.c, sizes.c) : null;
            data.tc = res.tc ? heap.take(res.tc, sizes.tc) : null;
            data.m = res.m ? heap.take(res.m, sizes.m) : null;
            data.hn = res.hn ? heap.take(res.hn, sizes.hn) : null;
            data.resident = null;
          },
        });
        owned = true;
        cache = {
          backend: 'wasm', data, bytes: total,
          release: () => {
            caches.free(key);
            for (const name of Object.keys(res) as (keyof typeof res)[]) res[name] = 0;
          },
        };
        caches.watch(cache, key);
      } else if (keepCache) {
        cache = {
          backend: 'wasm', bytes: total,
          data: {
            resident: null,
            gates: heap.take(slots[Rec.GATES]!, T * B * GH),
            c: lstm ? heap.take(slots[Rec.C]!, T * B * H) : null,
            tc: lstm ? heap.take(slots[Rec.TC]!, T * B * H) : null,
            m: slots[Rec.M] ? heap.take(slots[Rec.M]!, T * B * H) : null,
            hn: slots[Rec.HN] ? heap.take(slots[Rec.HN]!, T * B * H) : null,
          },
        };
      }
      return { out, hN, cN, cache };
    } finally {
      if (!owned) for (const b of blocks) heap.release(b.p, b.bytes);
    }
  }

  function recurrentBackward(dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
    reverse: boolean, fwd: RecurrentForwardResult, dOut: FloatArray | null, dhN: FloatArray | null, dcN: FloatArray | null,
    needs: RecurrentNeeds = ALL_RECURRENT_GRADS): RecurrentGrads {
    if (isScan(dims) && fwd.cache?.backend === name) return scanBackward(dims, w, x as Float32Array, h0 as Float32Array, reverse, fwd, dOut, dhN, needs);
    const cache = fwd.cache as WasmCache | null;
    if (!cache || cache.backend !== 'wasm') {
      if (cache && cache.backend === 'reference') return ref.recurrentBackward(dims, w, x, h0, c0, reverse, fwd, dOut, dhN, dcN, needs);
      throw new Error('recurrentBackward: the forward pass kept no cache');
    }
    const { kind, T, B, I, H, P } = dims;
    const data = cache.data;
    const res = data.resident;
    if (res && res.out === 0) throw new Error('recurrentBackward: the cache was already released');
    caches.consumed(cache.bytes);
    // resident x, h0, c0 need no copy; common() still copies the weights
    const { slots, GH, Hout, nth, meter } = common(dims, w, res ? null : (x as Float32Array), res ? null : (h0 as Float32Array), res ? null : (c0 as Float32Array | null), reverse, 'recurrentBackward');
    const TB = T * B;
    if (res) {
      residentSlots(slots, res);
    } else {
      slots[Rec.OUT] = heap.put(fwd.out as Float32Array);
      slots[Rec.GATES] = heap.put(data.gates!);
      slots[Rec.C] = putOr0(data.c);
      slots[Rec.TC] = putOr0(data.tc);
      slots[Rec.M] = putOr0(data.m);
      slots[Rec.HN] = putOr0(data.hn);
    }
    slots[Rec.DOUT] = putOr0(dOut);
    slots[Rec.DH] = dhN ? heap.put(dhN as Float32Array) : heap.zeros(B * Hout);
    slots[Rec.DC] = kind === 'lstm' ? (dcN ? heap.put(dcN as Float32Array) : heap.zeros(B * H)) : 0;
    slots[Rec.DAX] = heap.alloc(TB * GH * 4); // dAx
    slots[Rec.DAH] = kind === 'gru' ? heap.alloc(TB * GH * 4) : 0; // dAh
    slots[Rec.DHALL] = P ? heap.alloc(TB * P * 4) : 0; // dh of every step (projection)
    slots[Rec.DM] = P ? heap.alloc(B * H * 4) : 0; // dm
    // a zero slot tells the kernel to skip that gradient
    const pw = needs.params;
    slots[Rec.HPREV] = pw ? heap.alloc(TB * Hout * 4) : 0; // h_{t-1} of every step
    slots[Rec.DX] = needs.input ? heap.alloc(TB * I * 4) : 0; // dx
    slots[Rec.DWIH] = pw ? heap.alloc(GH * I * 4) : 0;
    slots[Rec.DWHH] = pw ? heap.alloc(GH * Hout * 4) : 0;
    slots[Rec.DBIH] = pw && w.bih ? heap.alloc(GH * 4) : 0;
    slots[Rec.DBHH] = pw && w.bhh ? heap.alloc(GH * 4) : 0;
    slots[Rec.DWHR] = pw && P ? heap.alloc(P * H * 4) : 0;
    // per batch row sums of the gate gradients over the steps, for the bias gradients
    slots[Rec.ACCX] = pw && (w.bih || (w.bhh && kind !== 'gru')) ? heap.alloc(B * GH * 4) : 0;
    slots[Rec.ACCH] = pw && w.bhh && kind === 'gru' ? heap.alloc(B * GH * 4) : 0;
    const args = heap.args(slots);
    launch(nth, 'recurrentBackward', [args], () => k.recurrentBackward(args, 0), meter);
    const takeOr = (slot: number, n: number): Float32Array | null => (slots[slot] ? heap.take(slots[slot]!, n) : null);
    return {
      dx: takeOr(Rec.DX, TB * I),
      dh0: heap.take(slots[Rec.DH]!, B * Hout),
      dc0: kind === 'lstm' ? heap.take(slots[Rec.DC]!, B * H) : null,
      dwih: takeOr(Rec.DWIH, GH * I),
      dwhh: takeOr(Rec.DWHH, GH * Hout),
      dbih: takeOr(Rec.DBIH, GH),
      dbhh: takeOr(Rec.DBHH, GH),
      dwhr: takeOr(Rec.DWHR, P * H),
    };
  }

  function unary(op: UnaryOp, x: FloatArray, out: FloatArray): void {
    const code = WASM_UNARY[op];
    if (code === undefined || x.length < UNARY_MIN || !f32(x, out)) return ref.unary(op, x, out);
    heap.reset();
    const px = heap.put(x as Float32Array);
    const po = heap.alloc(x.length * 4);
    k.unaryF32(code, px, po, x.length, heap.alloc(16));
    out.set(heap.f32(po, x.length));
  }

  function logSoftmaxNllBackward(lp: FloatArray, target: Int32Array, coef: Float64Array, rows: number, n: number, out: FloatArray): void {
    if (rows * n < UNARY_MIN || !f32(lp, out)) return ref.logSoftmaxNllBackward(lp, target, coef, rows, n, out);
    heap.reset();
    const pl = heap.put(lp as Float32Array);
    const pt = heap.putI32(target.subarray(0, rows));
    const pc = heap.alloc(rows * 4);
    heap.f32(pc, rows).set(coef.subarray(0, rows));
    const po = heap.alloc(rows * n * 4);
    k.logSoftmaxNllBackward(pl, pt, pc, rows, n, po);
    out.set(heap.f32(po, rows * n));
  }

  function sumTo(x: FloatArray, xShape: Shape, out: FloatArray, outShape: Shape): void {
    // the common case (bias gradients): leading dimensions summed into a trailing row
    const n = leadingSumWidth(xShape, outShape);
    if (n === 0 || x.length < UNARY_MIN || !f32(x, out)) return ref.sumTo(x, xShape, out, outShape);
    heap.reset();
    const px = heap.put(x as Float32Array);
    const po = heap.alloc(n * 4);
    k.sumRowsF32(px, x.length / n, n, po, heap.alloc(n * 8));
    out.set(heap.f32(po, n));
  }

  function adamStep(p: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray, vmax: FloatArray | null, s: AdamScalars): void {
    if (vmax || p.length < ADAM_MIN || !f32(p, g, m, v)) return ref.adamStep(p, g, m, v, vmax, s);
    const n = p.length;
    heap.reset();
    const pp = heap.put(p as Float32Array), pg = heap.put(g as Float32Array), pm = heap.put(m as Float32Array), pv = heap.put(v as Float32Array);
    k.adamF32(pp, pg, pm, pv, n, s.beta1, 1 - s.beta1, s.beta2, 1 - s.beta2, s.stepSize, 1 / s.bc2Sqrt, s.eps, s.sign, s.l2, s.shrink);
    p.set(heap.f32(pp, n));
    m.set(heap.f32(pm, n));
    v.set(heap.f32(pv, n));
  }

  function softmax(x: FloatArray, outer: number, n: number, inner: number, out: FloatArray, log: boolean): void {
    if (inner !== 1 || !f32(x, out)) return ref.softmax(x, outer, n, inner, out, log);
    heap.reset();
    const px = heap.put(x as Float32Array);
    const po = heap.alloc(x.length * 4);
    k.softmaxRows(px, outer, n, po, +log);
    out.set(heap.f32(po, x.length));
  }

  function softmaxBackward(y: FloatArray, g: FloatArray, outer: number, n: number, inner: number, out: FloatArray, log: boolean): void {
    if (inner !== 1 || !f32(y, g, out)) return ref.softmaxBackward(y, g, outer, n, inner, out, log);
    heap.reset();
    const py = heap.put(y as Float32Array);
    const pg = heap.put(g as Float32Array);
    const po = heap.alloc(y.length * 4);
    k.softmaxRowsBackward(py, pg, outer, n, po, +log);
    out.set(heap.f32(po, y.length));
  }

  // A stepper call's results, a few small arrays per generated token, are carved from shared
  // 32 KiB buffers: allocating a typed array of its own costs a microsecond or two in V8, as long
  // as the rest of a generation step. (A result kept alive keeps its buffer alive: at most 32 KiB.)
  const CHUNK_FLOATS = 8192;
  let chunk = new Float32Array(0);
  let chunkUsed = 0;
  const stepResult = (src: Float32Array): Float32Array => {
    const n = src.length;
    let v: Float32Array;
    if (n > CHUNK_FLOATS / 4) v = new Float32Array(n);
    else {
      if (chunkUsed + n > chunk.length) {
        chunk = new Float32Array(CHUNK_FLOATS);
        chunkUsed = 0;
      }
      v = chunk.subarray(chunkUsed, chunkUsed + n);
      chunkUsed += n;
    }
    v.set(src);
    return v;
  };

  // a stepper dropped without dispose(): its packed weights go when it is collected (and, before
  // that, when the store's budget needs the room)
  const finalizer = new FinalizationRegistry<PackedEntry>((entry) => entry.dispose());

  /** Each of this backend's steppers' packed weights, for a generating stepper below it. */
  const stepperLayers = new WeakMap<RecurrentStepper, StepperLayer>();

  function recurrentStepper(dims: RecurrentDims, w: RecurrentWeights, extras: StepperExtras = {}): RecurrentStepper {
    const { embedding, head } = extras;
    if (!fused(dims) || !f32(w.wih, w.whh, w.bih, w.bhh, w.whr, embedding?.weight ?? null, head?.weight ?? null, head?.bias ?? null)) {
      return ref.recurrentStepper(dims, w, extras);
    }
    const { kind, I, H, P } = dims;
    const GH = gateCount(kind) * H;
    const Hout = P || H;
    // A small vocabulary's input projections are precomputed (V, GH): a step then reads one row
    // of them instead of all of wih. Beyond TABLE_MAX_BYTES, rows are gathered and projected.
    const V = embedding?.V ?? 0;
    const useTable = embedding !== undefined && V * GH * 4 <= TABLE_MAX_BYTES;
    const embCopy = embedding && !useTable ? (embedding.weight as Float32Array).slice() : null;
    const O = head?.O ?? 0;
    // one row splits over threads by blocks of 8 hidden units, and is pipelined: the workers
    // compute the next step's product with h_T ahead, while this thread runs the JavaScript
    // between calls (see Rec.PRE in kernels/abi.ts)
    const unitSplit = P === 0 && H % 8 === 0;
    const ahead = pool !== null && unitSplit;
    // the packed weights (and the pipelining state), rebuilt from the weights whenever the store
    // evicted them: the layer's own arrays, unchanged while the stepper may run (it refuses to
    // run once they change)
    const layout: [keyof StepperPtrs, number][] = [
      ['wihP', k.packedBytes(I, GH)], ['whhP', k.packedBytes(Hout, GH)], ['whrP', P ? k.packedBytes(H, P) : 0],
      ['bihP', w.bih ? GH * 4 : 0], ['bhhP', w.bhh ? GH * 4 : 0], ['tableP', useTable ? V * GH * 4 : 0],
      ['headP', head ? k.packedBytes(Hout, O) : 0], ['headBP', head?.bias ? O * 4 : 0],
      ['preP', ahead ? GH * 4 : 0], ['hAheadP', ahead ? AHEAD_THREADS * H * 4 : 0], ['preOkP', ahead ? AHEAD_THREADS * 4 : 0], ['twsP', ahead ? AHEAD_THREADS * 256 : 0],
    ];
    const asPtrs = (list: number[]): StepperPtrs => Object.fromEntries(layout.map(([name], i) => [name, list[i]!])) as unknown as StepperPtrs;
    const entry = packed.create(layout.map(([, bytes]) => bytes), (list) => {
      const q = asPtrs(list);
      heap.reset();
      k.pack(heap.put(w.wih as Float32Array), 1, I, GH, q.wihP);
      k.pack(heap.put(w.whh as Float32Array), 1, Hout, GH, q.whhP);
      if (P) k.pack(heap.put(w.whr as Float32Array), 1, H, P, q.whrP);
      if (ahead) heap.i32(q.preOkP, AHEAD_THREADS).fill(0);
      if (w.bih) heap.f32(q.bihP, GH).set(w.bih);
      if (w.bhh) heap.f32(q.bhhP, GH).set(w.bhh);
      if (head) {
        heap.reset();
        k.pack(heap.put(head.weight as Float32Array), 1, Hout, O, q.headP);
        if (head.bias) heap.f32(q.headBP, O).set(head.bias);
      }
      if (useTable) {
        // the embedding's rows times wih^T, by the same sums as a step's own projection
        heap.reset();
        const pe = heap.put((embedding.weight as Float32Array).subarray(0, V * I));
        const pw = heap.put(w.wih as Float32Array);
        k.gemm(0, 1, V, GH, I, pe, pw, q.tableP, 0, heap.alloc(wsBytes), 0, 1);
      }
    });
    const ptrs = (): StepperPtrs => asPtrs(entry.use());
    const slots = new Array<number>(Rec.COUNT).fill(0); // a call's argument slots, reused
    let live = true;
    const token = {};
    finalizer.register(token, entry, token);
    // what a generating stepper below reads of this one (stacked layers run in its kernel)
    const mine: StepperLayer = { kind, I, H, P, hasTable: useTable, hasHead: !!head, ptrs, head: head ?? null, live: () => live };
    const stepper: RecurrentStepper & { token: object } = {
      token,
      run: guarded((xIn: FloatArray | Int32Array, T: number, B: number, h0: FloatArray, c0: FloatArray | null) => {
        if (!live) throw new Error('RecurrentStepper.run: the stepper was disposed');
        let x: FloatArray | null = null;
        let ids: Int32Array | null = null;
        if (embedding) {
          ids = stepperIds(xIn, T * B, V);
          if (embCopy) {
            x = gatherRows(embCopy, ids, T * B, I);
            ids = null;
          }
        } else if (xIn instanceof Int32Array) throw new Error('RecurrentStepper.run: token ids given but the stepper has no embedding');
        else x = xIn;
        if (!(x === null || x instanceof Float32Array) || !(h0 instanceof Float32Array) || !(c0 === null || c0 instanceof Float32Array)) {
          throw new Error('RecurrentStepper.run: float32 inputs expected');
        }
        const q = ptrs(); // before the scratch: packing them (again) may move it
        heap.reset();
        const lstm = kind === 'lstm';
        // one row splits by hidden units (whole 8-unit blocks, no projection), more rows by rows
        const stepWork = B * (GH * (I + Hout) + O * Hout);
        const { nth, meter } = choose(`step:${kind}:${B === 1 ? 'units' : 'rows'}:${bucket(stepWork)}`, unitSplit && B === 1 ? threadsFor(T * stepWork) : rowThreads(T, B, stepWork));
        if (meter) meter.work = T * stepWork;
        slots.fill(0);
        slots[Rec.KIND] = KIND[kind]!;
        slots[Rec.T] = T; slots[Rec.B] = B; slots[Rec.I] = I; slots[Rec.H] = H; slots[Rec.P] = P;
        slots[Rec.X] = x ? heap.put(x as Float32Array) : 0;
        slots[Rec.WIH] = q.wihP;
        slots[Rec.BIH] = q.bihP;
        slots[Rec.BHH] = q.bhhP;
        slots[Rec.H0] = heap.put(h0 as Float32Array);
        slots[Rec.C0] = c0 ? heap.put(c0 as Float32Array) : 0;
        slots[Rec.OUT] = heap.alloc(T * B * Hout * 4);
        slots[Rec.GATES] = heap.alloc(T * B * GH * 4);
        slots[Rec.C] = lstm ? heap.alloc(T * B * H * 4) : 0;
        slots[Rec.TC] = lstm ? heap.alloc(T * B * H * 4) : 0;
        slots[Rec.M] = lstm && P ? heap.alloc(T * B * H * 4) : 0;
        slots[Rec.HN] = kind === 'gru' ? heap.alloc(T * B * H * 4) : 0;
        slots[Rec.HH] = heap.alloc(B * GH * 4);
        slots[Rec.WPACK] = q.whhP;
        slots[Rec.RPACK] = q.whrP;
        slots[Rec.WS] = heap.alloc(wsBytes * nth);
        slots[Rec.NTH] = nth;
        slots[Rec.CTRL] = ctrl;
        slots[Rec.WSB] = wsBytes;
        slots[Rec.PREPACKED] = 1;
        if (ids) {
          slots[Rec.IDS] = heap.putI32(ids.subarray(0, T * B));
          slots[Rec.TABLE] = q.tableP;
        }
        if (ahead && B === 1 && nth > 1) {
          const blocks = H / 8;
          slots[Rec.PRE] = q.preP;
          slots[Rec.HAHEAD] = q.hAheadP;
          slots[Rec.PREOK] = q.preOkP;
          slots[Rec.TWS] = q.twsP;
          slots[Rec.MAIN] = Math.max(1, Math.floor((blocks * AHEAD_MAIN_SHARE) / (AHEAD_MAIN_SHARE + nth - 1)));
        }
        if (head) {
          slots[Rec.HEAD] = q.headP;
          slots[Rec.HEADB] = q.headBP;
          slots[Rec.O] = O;
          slots[Rec.LOGITS] = heap.alloc(T * B * O * 4);
        }
        const args = heap.args(slots);
        launch(nth, 'recurrentForward', [args], () => k.recurrentForward(args, 0), meter);
        const nH = B * Hout;
        return {
          out: stepResult(heap.f32(slots[Rec.OUT]!, T * nH)),
          hN: stepResult(heap.f32(slots[Rec.OUT]! + (T - 1) * nH * 4, nH)),
          cN: lstm ? stepResult(heap.f32(slots[Rec.C]! + (T - 1) * B * H * 4, B * H)) : null,
          logits: head ? stepResult(heap.f32(slots[Rec.LOGITS]!, T * B * O)) : null,
        };
      }),
      generate: guarded((first: number, n: number, h0: FloatArray, c0: FloatArray | null, sample: DrawOptions, uniforms: Float64Array, above: readonly LayerAbove[] = []) => {
        const { temperature } = sample;
        if (!live) throw new Error('RecurrentStepper.generate: the stepper was disposed');
        if (!embedding) throw new Error('RecurrentStepper.generate: the stepper needs an embedding');
        if (!(Number.isInteger(n) && n >= 1)) throw new Error(`RecurrentStepper.generate: n must be a whole number >= 1, got ${n}`);
        stepperIds(Int32Array.of(first), 1, V);
        // the whole stack in one kernel: the same kind and size throughout, no projection, this
        // backend's steppers, float32, this layer's input rows precomputed, the head on top, and
        // no top-k or top-p (the kernel draws from all the tokens)
        const stack = [mine, ...above.map((a) => stepperLayers.get(a.stepper))];
        const top = stack[stack.length - 1];
        const states = [{ h: h0, c: c0 }, ...above.map((a) => ({ h: a.h0, c: a.c0 }))];
        const fused = sample.topK === 0 && sample.topP === 1 && useTable && top?.head && stack.every((m, l) => m && m.live() && m.kind === kind && m.H === H && !m.P && (l === 0 || m.I === H) && (l === 0 || !m.hasTable) && (m === top || !m.hasHead))
          && states.every((st) => st.h instanceof Float32Array && (st.c === null || st.c instanceof Float32Array));
        if (!fused) return generateByRuns(stepper, first, n, h0, c0, sample, uniforms, above);
        const O = top.head!.O;
        if (O > V) throw new Error(`RecurrentStepper.generate: the head's ${O} outputs are not all token ids of the embedding's ${V}`);
        if (temperature > 0 && uniforms.length < n) throw new Error(`RecurrentStepper.generate: ${n} uniforms expected, got ${uniforms.length}`);
        // every layer's packed weights resident (and pinned) for the whole call
        const layerPtrs = stack.map((m) => m!.ptrs());
        const lstm = kind === 'lstm';
        const L = stack.length;
        const stepWork = L * GH * H;
        const pooled = unitSplit && GH * H >= GENERATE_MIN_STEP_WORK ? threadsFor(n * stepWork) : 1;
        const key = `generate:${kind}:${bucket(stepWork)}`;
        /** m tokens from `tok` and the layers' states `st`, on nth threads: one kernel call. */
        const chunk = (tok: number, m: number, st: { h: FloatArray; c: FloatArray | null }[], u0: number, nth: number) => {
          heap.reset();
          // each thread's rows start on their own 64-byte cache lines (no line written by two
          // threads in a step: that costs microseconds a step here)
          const opad = (O + 15) & ~15;
          const line = (bytes: number): number => (heap.alloc(bytes + 64) + 63) & ~63;
          const records = new Int32Array(GenLayer.COUNT * L);
          const hBufs: number[] = [];
          const cBufs: number[] = [];
          stack.forEach((layer, l) => {
            const r = records.subarray(GenLayer.COUNT * l);
            const q = layerPtrs[l]!;
            r[GenLayer.I] = layer!.I; r[GenLayer.WIH] = l === 0 ? 0 : q.wihP; r[GenLayer.WHH] = q.whhP; r[GenLayer.BIH] = q.bihP; r[GenLayer.BHH] = q.bhhP;
            r[GenLayer.H0] = heap.put(st[l]!.h as Float32Array);
            r[GenLayer.C0] = st[l]!.c ? heap.put(st[l]!.c as Float32Array) : 0;
            r[GenLayer.H] = hBufs[l] = line(2 * H * 4);
            r[GenLayer.C] = cBufs[l] = lstm ? line(2 * H * 4) : 0;
            r[GenLayer.GATES] = line(GH * 4);
            r[GenLayer.HH] = line(GH * 4);
            r[GenLayer.TC] = lstm ? line(H * 4) : 0;
            r[GenLayer.HN] = kind === 'gru' ? line(H * 4) : 0;
          });
          slots.fill(0);
          slots[Rec.KIND] = KIND[kind]!;
          slots[Rec.T] = m; slots[Rec.H] = H;
          slots[Rec.WS] = line(wsBytes * nth);
          slots[Rec.NTH] = nth;
          slots[Rec.CTRL] = ctrl;
          slots[Rec.WSB] = wsBytes;
          slots[Rec.IDS] = heap.alloc(m * 4);
          slots[Rec.TABLE] = layerPtrs[0]!.tableP;
          slots[Rec.HEAD] = layerPtrs[L - 1]!.headP;
          slots[Rec.HEADB] = layerPtrs[L - 1]!.headBP;
          slots[Rec.O] = O;
          slots[Rec.LOGITS] = line(2 * nth * opad * 4);
          slots[Rec.UNIF] = temperature > 0 ? heap.putF64(uniforms.subarray(u0, u0 + m)) : 0;
          slots[Rec.TEMP] = new Int32Array(Float32Array.of(temperature).buffer)[0]!;
          slots[Rec.FIRST] = tok;
          slots[Rec.OPAD] = opad;
          slots[Rec.LAYERS] = heap.putI32(records);
          slots[Rec.NL] = L;
          const args = heap.args(slots);
          launch(nth, 'recurrentGenerate', [args], () => k.recurrentGenerate(args, 0), pooled > 1 ? { key, work: m * stepWork } : undefined);
          const at = (buf: number): number => buf + ((m - 1) & 1) * H * 4; // the last step's half
          return {
            ids: heap.i32(slots[Rec.IDS]!, m).slice(),
            states: stack.map((_, l) => ({ h: heap.take(at(hBufs[l]!), H) as FloatArray, c: lstm ? heap.take(at(cBufs[l]!), H) as FloatArray : null })),
            logits: heap.take(slots[Rec.LOGITS]!, O),
          };
        };
        // on the pool, in chunks each of which runs where it is measured to be faster (a trial of
        // the slower choice is a short chunk); the same tokens and state as one call
        const ids = new Int32Array(n);
        let st = states as { h: FloatArray; c: FloatArray | null }[];
        let tok = first;
        let logits: Float32Array = new Float32Array(0);
        for (let done = 0; done < n;) {
          const pick = chooser.pick(key, pooled, true);
          // chunks of about GENERATE_CHUNK_SECONDS at the speed measured: a machine that turns
          // busy in the middle of one costs at most that many times its slowdown
          const per = chooser.cost(key) * stepWork;
          const full = Number.isFinite(per) ? Math.max(GENERATE_MIN_CHUNK, Math.min(GENERATE_MAX_CHUNK, Math.round(GENERATE_CHUNK_SECONDS / per))) : GENERATE_MAX_CHUNK;
          const m = pooled > 1 ? Math.min(n - done, Math.max(1, Math.ceil(pick.scale * full))) : n;
          const r = chunk(tok, m, st, done, pick.nth);
          ids.set(r.ids, done);
          tok = r.ids[m - 1]!;
          st = r.states;
          logits = r.logits;
          done += m;
        }
        return { ids, hN: st[0]!.h, cN: st[0]!.c, above: st.slice(1).map((x) => ({ hN: x.h, cN: x.c })), logits };
      }),
      dispose() {
        if (!live) return;
        live = false;
        finalizer.unregister(token);
        entry.dispose();
      },
    };
    stepperLayers.set(stepper, mine);
    return stepper;
  }

  return {
    ...ref, name, heap, recurrentStepper,
    gemm: guarded(gemm), linearBackward: guarded(linearBackward), unary: guarded(unary), sumTo: guarded(sumTo), softmax: guarded(softmax),
    softmaxBackward: guarded(softmaxBackward), logSoftmaxNllBackward: guarded(logSoftmaxNllBackward), recurrentForward: guarded(recurrentForward),
    recurrentBackward: guarded(recurrentBackward), adamStep: guarded(adamStep),
    residentBytes: () => caches.bytes(),
    setResidentBudget: (bytes: number) => {
      caches.budget = bytes;
    },
    packedBytes: () => packed.bytes(),
    setAdaptiveThreads: (on: boolean) => {
      const old = chooser.enabled;
      chooser.enabled = on;
      return old;
    },
    threadMeasurements: () => chooser.snapshot(),
    setPackedBudget: (bytes: number) => {
      const old = packed.budget;
      packed.budget = bytes;
      return old;
    },
    injectPoolFailure: (tid: number) => {
      if (!pool) throw new Error('wasm backend: no thread pool');
      pool.injectFailure(tid);
    },
    setSequenceMinStepWork: (macs: number) => {
      const old = sequenceMinStepWork;
      sequenceMinStepWork = macs;
      return old;
    },
  };
}
