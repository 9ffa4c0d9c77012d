/**
 * A pool of worker threads sharing the kernels' WebAssembly memory. A job is a kernel name
 * and up to 14 integer arguments; the calling thread runs share 0 and each worker the share
 * of its id, then the caller waits until every worker is done. Control words live at the
 * bottom of the shared memory:
 *   0 barrier count, 1 barrier generation (used inside the kernels), 2 job sequence,
 *   3 workers done, 4 kernel id, 5 threads in this job, 6.. arguments.
 * Workers are unref'd, so a script using the library still exits by itself.
 */
export const CTRL_WORDS = 24;
export const KERNELS = ['gemm', 'recurrentForward', 'recurrentBackward', 'exit'] as const;
export type KernelName = (typeof KERNELS)[number];

/** The worker's source: instantiates the module on the shared memory and serves jobs. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, tid, ctrl, seq: seq0 } = workerData;
const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
const w = new Int32Array(memory.buffer, ctrl, ${CTRL_WORDS});
const names = ${JSON.stringify(KERNELS)};
// the job counter at spawn: a job posted while this worker booted still counts as new
let seq = seq0;
for (;;) {
  let spins = 0;
  while (Atomics.load(w, 2) === seq && ++spins < 2000000);
  Atomics.wait(w, 2, seq);
  seq = Atomics.load(w, 2);
  const name = names[w[4]];
  if (name === 'exit') break;
  const nth = w[5];
  if (tid < nth) {
    try {
      if (name === 'gemm') ex.gemm(w[6], w[7], w[8], w[9], w[10], w[11], w[12], w[13], w[14], w[15], tid, nth);
      else ex[name](w[6], tid);
    } finally {
      Atomics.add(w, 3, 1);
      Atomics.notify(w, 3);
    }
  }
}
`;

interface WorkerLike {
  unref(): void;
  terminate(): Promise<number>;
}
type WorkerCtor = new (src: string, opts: { eval: true; workerData: unknown }) => WorkerLike;

export class ThreadPool {
  private readonly workers: WorkerLike[] = [];
  private readonly w: Int32Array;
  private threads: number;

  constructor(private readonly Worker: WorkerCtor, private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory, private readonly ctrl: number, threads: number) {
    this.w = new Int32Array(memory.buffer, ctrl, CTRL_WORDS);
    this.threads = 1;
    this.resize(threads);
  }

  /** Threads a job runs on (the caller included). */
  get size(): number {
    return this.threads;
  }

  resize(threads: number): void {
    while (this.workers.length < threads - 1) {
      const worker = new this.Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module: this.module, memory: this.memory, tid: this.workers.length + 1, ctrl: this.ctrl, seq: Atomics.load(this.w, 2) },
      });
      worker.unref();
      this.workers.push(worker);
    }
    this.threads = threads;
  }

  /** Runs a kernel on every thread; `own(tid, nth)` runs the caller's share. */
  run(kernel: KernelName, args: readonly number[], own: (nth: number) => void): void {
    const nth = this.threads;
    if (nth === 1) return own(1);
    const w = this.w;
    w[4] = KERNELS.indexOf(kernel);
    w[5] = nth;
    args.forEach((v, i) => (w[6 + i] = v));
    Atomics.store(w, 3, 0);
    Atomics.add(w, 2, 1);
    Atomics.notify(w, 2);
    let error: unknown = null;
    try {
      own(nth);
    } catch (e) {
      error = e;
    }
    let done: number;
    while ((done = Atomics.load(w, 3)) < nth - 1) Atomics.wait(w, 3, done);
    if (error) throw error;
  }
}
