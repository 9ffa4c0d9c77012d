/**
 * A pool of worker threads sharing the kernels' WebAssembly memory. A job is a kernel name
 * and up to Ctrl.ARGS_COUNT integer arguments; the calling thread runs share 0 and each worker
 * the share of its id, then the caller waits until every worker is done. The control words (Ctrl,
 * declared with the kernels in kernels/abi.ts) live at the bottom of the shared memory. A worker
 * computing ahead (Rec.PRE) has its share of the job done and counted (Ctrl.DONE) and goes on
 * with work for the next call before it takes another job.
 * A thread that fails sets word 21; the kernels' barriers check it while they wait and stop
 * (trap), so the others leave the job instead of waiting for ever, and the caller throws.
 * Workers are unref'd, so a script using the library still exits by itself.
 */
import { Ctrl } from './abi.js';

export const CTRL_WORDS = Ctrl.COUNT;
/** Control word AHEAD + tid: worker tid is computing ahead (set by the kernel, cleared here). */
const AHEAD = Ctrl.AHEAD;
/** Threads with such a word, the caller's (id 0, never ahead) included. */
export const AHEAD_THREADS = Ctrl.AHEAD_THREADS;
/** Control word counting the workers that have started (instantiated the kernels). */
const STARTED = Ctrl.STARTED;
/** Control word set when a thread's share of the job failed (the kernels' barriers read it too). */
const FAILED = Ctrl.FAILED;
/** Control word by which a test makes a worker's next job fail. */
const INJECT = Ctrl.INJECT;
/**
 * How long (ms) an idle worker spins for the next job before it sleeps: longer than the
 * JavaScript between the calls of a stepping loop, far shorter than a time slice.
 */
const JOB_SPIN_MS = 0.2;
/** How long the first threaded job waits for the workers to start before running on one thread. */
const START_TIMEOUT_MS = 30000;
export const KERNELS = ['gemm', 'recurrentForward', 'recurrentBackward', 'recurrentGenerate', 'linearBackward', 'gemmPrepackedShare', 'minScanForward', 'minScanBackward', 'variantForward', 'variantBackward', 'ctcLoss', 'softmaxShare', 'additiveScores', 'additiveScoresBackward', 'gemmBatched', 'additiveAttention', 'additiveAttentionBackward', 'decoderForward', 'decoderBackward', 'exit'] as const;
export type KernelName = (typeof KERNELS)[number];

/** The job loop every worker runs once it has its module, memory, id and control words. */
const SERVE = `
function serve({ module, memory, tid, ctrl, seq: seq0 }, ready) {
const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
const w = new Int32Array(memory.buffer, ctrl, ${CTRL_WORDS});
const SEQ = ${Ctrl.JOB_SEQ}, DONE = ${Ctrl.DONE}, KERNEL = ${Ctrl.KERNEL}, THREADS = ${Ctrl.THREADS}, ARGS = ${Ctrl.ARGS}, GEN = ${Ctrl.BARRIER_GEN};
Atomics.add(w, ${STARTED}, 1);
Atomics.notify(w, ${STARTED});
if (ready) ready();
const names = ${JSON.stringify(KERNELS)};
// the job counter at spawn: a job posted while this worker booted still counts as new
let seq = seq0;
for (;;) {
  // spin a little (the next call of a stepping loop comes within microseconds), then sleep: a
  // spinning worker takes a core that a busy machine's other threads, ours among them, need
  const until = performance.now() + ${JOB_SPIN_MS};
  for (let spins = 0; Atomics.load(w, SEQ) === seq; spins++) if ((spins & 255) === 255 && performance.now() > until) break;
  Atomics.wait(w, SEQ, seq);
  seq = Atomics.load(w, SEQ);
  const name = names[w[KERNEL]];
  if (name === 'exit') break;
  const nth = w[THREADS];
  if (tid < nth) {
    try {
      if (Atomics.compareExchange(w, ${INJECT}, tid + 1, 0) === tid + 1) throw new Error('injected failure');
      if (name === 'gemm') ex.gemm(...w.subarray(ARGS, ARGS + 10), tid, nth);
      else ex[name](w[ARGS], tid);
    } catch {
      // the others stop at their next barrier (woken if asleep); the caller reports it
      Atomics.compareExchange(w, ${FAILED}, 0, tid + 1);
      Atomics.notify(w, GEN);
    } finally {
      // a kernel that computed ahead counted this thread done already
      if (tid >= ${AHEAD_THREADS} || Atomics.exchange(w, ${AHEAD} + tid, 0) !== 1) {
        Atomics.add(w, DONE, 1);
        Atomics.notify(w, DONE);
      }
    }
  }
}
}
`;

/**
 * Node: an eval'd worker_threads worker with its setup in workerData. It reaches worker_threads
 * through process.getBuiltinModule, not require: a worker inherits the process's options, and
 * under `node --input-type=module -e ...` its source is read as a module, where require is
 * missing (the worker then died at once and the caller waited for it for ever).
 */
export const NODE_WORKER_SOURCE = `${SERVE}\nserve(process.getBuiltinModule('node:worker_threads').workerData, null);`;

/** Browsers: a classic Web Worker that receives its setup by message and answers 'ready'. */
export const WEB_WORKER_SOURCE = `${SERVE}\nonmessage = (e) => serve(e.data, () => postMessage('ready'));`;

/** What a pool needs to start worker number `tid` with its setup message. */
export type SpawnWorker = (setup: { module: WebAssembly.Module; memory: WebAssembly.Memory; tid: number; ctrl: number; seq: number }) => WorkerLike;

export interface WorkerLike {
  terminate(): unknown;
}

/**
 * Node: the idle CPU time (ms, summed over the machine's cores) so far. With it the pool starts
 * its workers only once a core is seen free: on a busy machine they would only slow the calling
 * thread (starting one costs about 25 ms of CPU) and lose to it.
 */
export type IdleProbe = () => number;

/** How long (ms) the first look at the cores' idle time lasts; later looks double it, up to MAX. */
const PROBE_MS = 50;
const PROBE_MAX_MS = 2000;
/** Idle cores (on average over a look) from which the workers start. */
const PROBE_IDLE_CORES = 0.5;

export class ThreadPool {
  private readonly workers: WorkerLike[] = [];
  private readonly w: Int32Array;
  private threads: number;

  /**
   * `spawn` starts one worker; `mayWait` says whether the calling thread may block in
   * Atomics.wait (a browser's main thread may not, and spins instead).
   */
  constructor(private readonly spawn: SpawnWorker, private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory, private readonly ctrl: number, threads: number, private readonly mayWait = true,
    /** Browsers: workers are all started up front (a new one could not boot while the page's thread spins). */
    private readonly fixedSize = false,
    /** How long threadsNow() waits for workers to start. */
    private readonly startTimeoutMs = START_TIMEOUT_MS,
    /** Node: see IdleProbe (none: the workers start on first use). */
    private readonly idle: IdleProbe | null = null) {
    this.w = new Int32Array(memory.buffer, ctrl, CTRL_WORDS);
    this.threads = threads;
    // browsers start every worker now (ready() waits for them); Node starts them on first use,
    // so a short command that never needs them does not pay for their start (or wait for it at exit)
    if (fixedSize) this.grow(threads);
  }

  /** When the workers not yet started were spawned (performance.now()), or null. */
  private spawnedAt: number | null = null;

  private grow(threads: number): void {
    if (this.workers.length >= threads - 1) return;
    this.spawnedAt = performance.now();
    while (this.workers.length < threads - 1) {
      this.workers.push(this.spawn({ module: this.module, memory: this.memory, tid: this.workers.length + 1, ctrl: this.ctrl, seq: Atomics.load(this.w, Ctrl.JOB_SEQ) }));
    }
  }

  /** Whether every worker has started (instantiated the kernels). */
  private started(): boolean {
    return Atomics.load(this.w, STARTED) >= this.workers.length;
  }

  /** Why the pool runs on the calling thread alone (its workers did not start), or null. */
  failed: string | null = null;

  /** Threads a job runs on (the caller included). */
  get size(): number {
    return this.failed ? 1 : this.threads;
  }

  /**
   * The threads a job can run on now. The first call starts the workers; until they have started
   * (they boot asynchronously, in tens of milliseconds) jobs run on the calling thread, which
   * gives the same results. Where they do not start within the time limit, or one reported an
   * error, the pool gives up on them: a kernel never waits at a barrier for a worker that is not there.
   */
  threadsNow(): number {
    if (this.failed || this.threads === 1) return this.size;
    if (this.workers.length < this.threads - 1) {
      if (!this.coreFree()) return 1;
      this.grow(this.threads);
    }
    if (this.started() || !this.mayWait) return this.threads;
    if (performance.now() - this.spawnedAt! > this.startTimeoutMs) this.giveUp();
    return 1;
  }

  private probeAt = -1;
  private probeIdle = 0;
  private probeMs = PROBE_MS;

  /** Whether a look at the cores' idle time (see IdleProbe) found one free; false while it looks. */
  private coreFree(): boolean {
    if (!this.idle) return true;
    const now = performance.now();
    if (this.probeAt < 0 || now - this.probeAt < this.probeMs) {
      if (this.probeAt < 0) [this.probeAt, this.probeIdle] = [now, this.idle()];
      return false;
    }
    const idleCores = (this.idle() - this.probeIdle) / (now - this.probeAt);
    if (idleCores >= PROBE_IDLE_CORES) return true;
    // busy: look again, for longer
    this.probeMs = Math.min(PROBE_MAX_MS, 2 * this.probeMs);
    [this.probeAt, this.probeIdle] = [now, this.idle()];
    return false;
  }

  /** Waits (blocking, up to the time limit) until every worker has started; false if they did not. */
  waitStarted(): boolean {
    if (this.failed || this.threads === 1) return !this.failed;
    this.grow(this.threads);
    if (!this.mayWait) return true;
    let started: number;
    while ((started = Atomics.load(this.w, STARTED)) < this.workers.length && !this.failed) {
      const left = this.spawnedAt! + this.startTimeoutMs - performance.now();
      if (left <= 0) {
        this.giveUp();
        break;
      }
      Atomics.wait(this.w, STARTED, started, Math.min(left, 100));
    }
    return !this.failed;
  }

  private giveUp(): void {
    const want = this.workers.length;
    this.fail(`${want - Atomics.load(this.w, STARTED)} of ${want} pool workers did not start within ${this.startTimeoutMs / 1000} s`);
  }

  /** Stops using the workers (they are terminated); jobs run on the calling thread from now on. */
  fail(reason: string): void {
    if (this.failed) return;
    this.failed = reason;
    for (const wk of this.workers) {
      try {
        wk.terminate();
      } catch {
        // already gone
      }
    }
  }

  /** Sets the threads jobs use; new workers are started, and waited for (the caller asked for them). */
  resize(threads: number): void {
    if (this.fixedSize) threads = Math.min(threads, this.workers.length + 1);
    this.threads = threads;
    if (!this.fixedSize && threads > 1) this.waitStarted();
  }

  /** Runs a kernel on every thread; `own(tid, nth)` runs the caller's share. */
  run(kernel: KernelName, args: readonly number[], own: (nth: number) => void): void {
    const nth = this.size;
    if (nth === 1) return own(1);
    const w = this.w;
    if (args.length > Ctrl.ARGS_COUNT) throw new Error(`ThreadPool.run: '${kernel}' was given ${args.length} arguments, more than the ${Ctrl.ARGS_COUNT} a job holds`);
    w[Ctrl.KERNEL] = KERNELS.indexOf(kernel);
    w[Ctrl.THREADS] = nth;
    args.forEach((v, i) => (w[Ctrl.ARGS + i] = v));
    Atomics.store(w, Ctrl.DONE, 0);
    Atomics.add(w, Ctrl.JOB_SEQ, 1);
    Atomics.notify(w, Ctrl.JOB_SEQ);
    let error: unknown = null;
    try {
      if (this.injectCaller) {
        this.injectCaller = false;
        throw new Error('injected failure');
      }
      own(nth);
    } catch (e) {
      error = e;
      // workers waiting at a barrier for this thread stop there
      Atomics.compareExchange(w, FAILED, 0, 1);
      Atomics.notify(w, Ctrl.BARRIER_GEN);
    }
    // spin a while before sleeping: waking from Atomics.wait takes tens of microseconds, as
    // long as a whole small kernel (one generation step)
    let done: number;
    let spins = 0;
    while ((done = Atomics.load(w, Ctrl.DONE)) < nth - 1) if (this.mayWait && ++spins > 20000) Atomics.wait(w, Ctrl.DONE, done);
    const failed = Atomics.load(w, FAILED);
    if (failed) {
      // every thread has left the job: clear the flag and a barrier count a stopped thread left
      Atomics.store(w, FAILED, 0);
      Atomics.store(w, Ctrl.BARRIER_COUNT, 0);
      if (failed > 1) throw new Error(`wasm backend: pool thread ${failed - 1} failed while running '${kernel}' (the job was abandoned; the pool goes on)`);
    }
    if (error) throw error;
  }

  /**
   * Waits until no worker is still computing ahead after a call it was counted done with (see
   * AHEAD): before the memory that work reads or writes is freed or reused.
   */
  quiesce(): void {
    const w = this.w;
    for (let t = 1; t < AHEAD_THREADS; t++) while (Atomics.load(w, AHEAD + t) !== 0 && !this.failed);
  }

  private injectCaller = false;

  /** Tests: makes thread `tid`'s share of the next job throw (0: the calling thread). */
  injectFailure(tid: number): void {
    if (tid === 0) this.injectCaller = true;
    else Atomics.store(this.w, INJECT, tid + 1);
  }
}
