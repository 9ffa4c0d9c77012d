/**
 * What the wasm backend's parts share: the kernel module's exports, its memory (the heap, the
 * resident caches, the steppers' packed weights), the thread pool, and how a call picks its
 * threads and runs a kernel on them.
 */
import type { FloatArray } from '../../tensor/dtype.js';
import { hasKerasOptions, type RecurrentDims } from '../backend.js';
import type { CellKind } from '../cells.js';
import { WasmHeap, HeapRetry } from './heap.js';
import type { ThreadPool, KernelName } from './pool.js';
import { CallScope, PackedStore, ResidentCaches } from './resident.js';
import { weightPreparer } from './weights.js';
import { ThreadChooser } from './chooser.js';
import { CellKernel, Rec } from './abi.js';

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
  variantForward(args: number, tid: number): void;
  variantBackward(args: number, tid: number): void;
  variantAccFloats(kind: number, H: number): number;
  ctcLoss(args: number, tid: number): void;
  additiveScores(args: number, tid: number): void;
  additiveScoresBackward(args: number, tid: number): void;
  softmaxShare(args: number, tid: number): void;
  ctcWorkspaceBytes(T: number, S: number, C: number): number;
  pack(b: number, transB: number, K: number, N: number, dst: number): void;
  gemmPrepackedShare(args: number, tid: number): void;
  gemmBatched(args: number, tid: number): void;
  additiveAttention(args: number, tid: number): void;
  additiveAttentionBackward(args: number, tid: number): void;
  decoderForward(args: number, tid: number): void;
  decoderBackward(args: number, tid: number): void;
  softmaxRows(x: number, rows: number, n: number, out: number, log: number): void;
  softmaxRowsBackward(y: number, g: number, rows: number, n: number, out: number, log: number): void;
  unaryF32(op: number, x: number, out: number, n: number, tmp: number): void;
  binaryF32(op: number, a: number, b: number, out: number, n: number): void;
  logSoftmaxNllBackward(lp: number, target: number, coef: number, rows: number, n: number, out: number): void;
  sumRowsF32(x: number, rows: number, n: number, out: number, acc: number): void;
  adamF32(p: number, g: number, m: number, v: number, n: number,
    b1: number, c1: number, b2: number, c2: number, stepSize: number, inv: number, eps: number, sign: number, l2: number, shrink: number): void;
  setMayWait(flag: number): void;
}

/** Below this many multiply-adds a kernel runs on the calling thread alone (waking workers costs more). */
export const PARALLEL_MIN_WORK = 1 << 18;
/**
 * The sequence kernels (and steppers given several rows) split the batch between threads only
 * from this many multiply-adds per step. Below it one thread was faster on this project's 2-core
 * machine: the lstm-ts workload (64 rows, 24 steps, H 32: 0.27M per step) ran at 40-47K sequences/s on one
 * thread and 35-42K on two, and its kernels took 535 us on one thread but 440-465 us on each
 * of two, for half the rows. At 1.1M per step (H 64) two threads were ahead. Measured again
 * with each thread projecting its own rows, alternating blocks of steps in one process: two
 * threads' steps 10% slower (a step waits for the slower core, often busy with other work).
 */
export const SEQUENCE_MIN_STEP_WORK = 1 << 20;

/**
 * The most bytes of wasm memory that resident training caches may hold at once (beyond what
 * training measured it needs, see ResidentCaches, the oldest are copied out).
 */
export const RESIDENT_BUDGET = 256 * 2 ** 20;
/** Bytes of wasm memory that steppers' packed weights may hold at once; past it the least recently used are packed again when next used. */
export const PACKED_BUDGET = 256 * 2 ** 20;

/**
 * The kinds of cell the kernels fuse, by their code (CellKernel, kernels/abi.ts); every other kind
 * (and Keras's variants) runs on the reference kernels, the same results.
 */
export const KIND: Partial<Record<CellKind, number>> = { lstm: CellKernel.LSTM, gru: CellKernel.GRU, rnn_tanh: CellKernel.RNN_TANH, rnn_relu: CellKernel.RNN_RELU };
/** Whether the kernels run these dims. */
export const fused = (d: RecurrentDims): boolean => KIND[d.kind] !== undefined && !hasKerasOptions(d);
/** A call's kind and size, to time it for the ThreadChooser. */
export interface Meter {
  key: string;
  work: number;
}


/** Sizes in powers of two: calls of about the same size share their measurements. */
export const bucket = (x: number): number => Math.round(Math.log2(Math.max(1, x)));

/** Whether every array given is float32 (what the kernels run). */
export function f32(...arrays: (FloatArray | null)[]): boolean {
  return arrays.every((a) => a === null || a instanceof Float32Array);
}

/**
 * One kernel instance and its memory; with a pool, big kernels run on every thread (control
 * words for the pool and the kernels' barrier at `ctrl`).
 */
export class WasmContext {
  readonly heap: WasmHeap;
  readonly scope = new CallScope();
  readonly caches: ResidentCaches;
  readonly packed: PackedStore;
  /** Layers' weights kept packed between calls (weights.ts), for the sequence kernels and the products. */
  readonly prepared: ReturnType<typeof weightPreparer>;
  readonly chooser = new ThreadChooser();
  /** Bytes of one thread's gemm workspace. */
  readonly wsBytes: number;
  /** The multiply-adds per step from which the sequence kernels split rows between threads. */
  sequenceMinStepWork = SEQUENCE_MIN_STEP_WORK;

  constructor(readonly k: KernelExports, memory: WebAssembly.Memory, heapStart: number, readonly pool: ThreadPool | null, readonly ctrl: number,
    readonly name: string, maxMemoryBytes: number) {
    const heap = (this.heap = new WasmHeap(memory, heapStart, maxMemoryBytes));
    this.caches = new ResidentCaches(heap, this.scope, RESIDENT_BUDGET);
    this.packed = new PackedStore(heap, this.scope, PACKED_BUDGET, () => pool?.quiesce());
    this.prepared = weightPreparer(this);
    // memory that cannot grow: what the call under way does not use is copied out or dropped, and
    // the call starts over (see guarded)
    heap.onPressure = () => {
      const spilled = this.caches.spillUnpinned();
      const evicted = this.packed.evictUnpinned();
      return spilled || evicted;
    };
    this.wsBytes = k.gemmWorkspaceBytes();
  }

  /** A backend entry point: a call scope (pinning what it uses), started over once after memory pressure. */
  readonly guarded = <A extends unknown[], R>(f: (...a: A) => R) => (...a: A): R => this.scope.run(() => f(...a), (e) => e instanceof HeapRetry);

  /** The array copied into the heap, or 0 for none. */
  readonly putOr0 = (a: FloatArray | null): number => (a ? this.heap.put(a as Float32Array) : 0);

  /** The threads a call of `work` multiply-adds may use: the pool's, or one below PARALLEL_MIN_WORK. */
  readonly threadsFor = (work: number): number => (this.pool && work >= PARALLEL_MIN_WORK ? this.pool.threadsNow() : 1);

  /** Threads for a sequence kernel that splits B batch rows, `stepWork` multiply-adds per step, T steps. */
  readonly rowThreads = (T: number, B: number, stepWork: number): number => (B > 1 && stepWork >= this.sequenceMinStepWork ? this.threadsFor(T * stepWork) : 1);

  /**
   * The threads for a call of kind `key` that could use `avail`: the pool's, or one thread where
   * that is measured to be faster (see ThreadChooser); with the meter that records how it went.
   */
  readonly choose = (key: string, avail: number): { nth: number; meter: Meter | undefined } => {
    if (avail <= 1) return { nth: avail, meter: undefined };
    const { nth } = this.chooser.pick(key, avail);
    return { nth, meter: { key, work: 1 } };
  };

  /**
   * x (rows, I) @ wih^T (GH, I)^T into the heap, on the threads measured faster: the input
   * projection of every step at once, for the kernels that then step without it. Returns its address.
   */
  readonly inputProjection = (x: Float32Array, wih: Float32Array, rows: number, GH: number, I: number): number => {
    const px = this.heap.put(x);
    const pw = this.heap.put(wih);
    const out = this.heap.alloc(rows * GH * 4);
    const proj = this.choose(`gemm:${bucket(rows * GH * I)}`, this.threadsFor(rows * GH * I));
    const ws = this.heap.alloc(this.wsBytes * proj.nth);
    this.launch(proj.nth, 'gemm', [0, 1, rows, GH, I, px, pw, out, 0, ws], (n) => this.k.gemm(0, 1, rows, GH, I, px, pw, out, 0, ws, 0, n), proj.meter);
    return out;
  };

  /** Runs a kernel on `nth` threads (the pool's, or this one alone), timed for the chooser when metered. */
  readonly launch = (nth: number, kernel: KernelName, args: number[], own: (n: number) => void, meter?: Meter): void => {
    const t0 = meter ? performance.now() : 0;
    if (nth > 1 && this.pool) this.pool.run(kernel, args, own);
    else own(1);
    if (meter) this.chooser.record(meter.key, nth, (performance.now() - t0) / 1000, meter.work);
  };
}
