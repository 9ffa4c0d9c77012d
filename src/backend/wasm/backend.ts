/**
 * The `wasm` backend: float32 matrix products and whole-sequence recurrent kernels in
 * WebAssembly SIMD (kernels/), in parts: the core tensor kernels (core.ts), the sequence kernels
 * (sequence.ts), steppers and generation (stepper.ts), the optimizer step (optim.ts), CTC (ctc.ts), additive attention (attention.ts), over one
 * shared context (context.ts). Float64, and what a part does not run, take the reference
 * backend, which every kernel here must match.
 */
import { resolveBackend, type Backend } from '../backend.js';
import { referenceBackend as ref } from '../reference/index.js';
import type { WasmHeap } from './heap.js';
import type { ThreadPool } from './pool.js';
import { WasmContext, type KernelExports } from './context.js';
import { coreKernels } from './core.js';
import { sequenceKernels } from './sequence.js';
import { generationKernels } from './stepper.js';
import { optimizerKernels } from './optim.js';
import { ctcKernels } from './ctc.js';
import { attentionKernels } from './attention.js';

export type { KernelExports } from './context.js';

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
  /** Tests: how many CTC samples left float64's range in the kernel and were computed again in log space. */
  ctcRecomputed(): number;
}

/**
 * The backend over one kernel instance and its memory; with a pool, big kernels run on every
 * thread (control words for the pool and the kernels' barrier at `ctrl`).
 */
export function createWasmBackend(k: KernelExports, memory: WebAssembly.Memory, heapStart: number, pool: ThreadPool | null, ctrl: number, name = 'wasm',
  maxMemoryBytes = 2 ** 31): Backend & WasmBackendControls {
  const ctx = new WasmContext(k, memory, heapStart, pool, ctrl, name, maxMemoryBytes);
  const { caches, packed, chooser } = ctx;
  const ctc = ctcKernels(ctx);
  const backend = resolveBackend({
    name,
    // the core kernels without a wasm version are the reference's
    unaryBackward: ref.unaryBackward, pow: ref.pow, broadcastTo: ref.broadcastTo, permute: ref.permute,
    ...coreKernels(ctx),
    sequence: sequenceKernels(ctx),
    optimizer: optimizerKernels(ctx),
    generation: generationKernels(ctx),
    ctc,
    attention: attentionKernels(ctx, name),
  }, ref);
  return {
    ...backend,
    heap: ctx.heap,
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
    ctcRecomputed: () => ctc.recomputed(),
    setSequenceMinStepWork: (macs: number) => {
      const old = ctx.sequenceMinStepWork;
      ctx.sequenceMinStepWork = macs;
      return old;
    },
  };
}
