/**
 * Loading the WebAssembly kernels. A feature probe (WebAssembly.validate on the real modules)
 * picks, in order: relaxed SIMD with threads, SIMD with threads, relaxed SIMD, SIMD; without
 * any, the reference backend stays in use. Threads need shared memory and workers (in Node,
 * `worker_threads`); relaxed SIMD is finished but still behind a flag in Node 20, which the
 * loader turns on (RECURRENT_RELAXED_SIMD=0 leaves it off). In Node the module compiles
 * synchronously at import; where synchronous compilation is refused (a browser's main thread),
 * `ready()` compiles it asynchronously.
 */
import { registerBackend, setBackend, getBackend, listBackends, type Backend } from '../backend.js';
import { createWasmBackend, type KernelExports, type WasmBackendControls } from './backend.js';
import { ThreadPool, CTRL_WORDS, NODE_WORKER_SOURCE, WEB_WORKER_SOURCE, type SpawnWorker, type WorkerLike } from './pool.js';
import { SIMD_WASM, RELAXED_SIMD_WASM, SIMD_MT_WASM, RELAXED_SIMD_MT_WASM } from './kernels.generated.js';

/** Which WebAssembly kernels are loaded: with fused multiply-add (relaxed SIMD) or plain SIMD. */
export type WasmVariant = 'relaxed-simd' | 'simd';

/** What `backendInfo()` reports. */
export interface BackendInfo {
  /** The backend in use. */
  name: string;
  /** Registered backends. */
  available: string[];
  /** The WebAssembly SIMD variant loaded, or null. */
  wasm: WasmVariant | null;
  /** Threads the wasm kernels run on (the calling thread included). */
  threads: number;
  /** Why the wasm backend, relaxed SIMD or threads are missing, where they are. */
  notes: string[];
}

interface NodeProcess {
  versions?: { node?: string };
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (name: string) => unknown;
}

const proc = (globalThis as { process?: NodeProcess }).process;
const builtin = <T>(name: string): T | null => (proc?.getBuiltinModule ? (proc.getBuiltinModule(name) as T) : null);

let variant: WasmVariant | null = null;
let controls: WasmBackendControls | null = null;
let pool: ThreadPool | null = null;
const notes: string[] = [];
let userChose = false;

function decode(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The machine's cores (Node: those this process may use; browsers: hardwareConcurrency). */
function cores(): number {
  const os = builtin<{ availableParallelism?: () => number; cpus(): unknown[] }>('node:os');
  const n = os ? (os.availableParallelism ? os.availableParallelism() : os.cpus().length)
    : (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, n);
}

/**
 * The most threads a pool may have: the machine's cores, and at least 8 (more threads than cores
 * still compute the same results, for tests of that, only slower).
 */
export function maxThreads(): number {
  return Math.max(8, cores());
}

/** Why a thread count is refused, or null when it is a whole number in [1, maxThreads()]. */
function badThreads(n: unknown): string | null {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= maxThreads() ? null
    : `an integer from 1 to ${maxThreads()} (this machine has ${cores()} cores)`;
}

function defaultThreads(): number {
  const fallback = Math.min(8, cores());
  const env = proc?.env?.['RECURRENT_NUM_THREADS'];
  if (env !== undefined) {
    const n = /^\s*\d+\s*$/.test(env) ? Number(env) : NaN;
    const bad = badThreads(n);
    if (!bad) return n;
    // an import cannot fail for a variable; the note says what was wrong, once, on stderr too
    const note = `RECURRENT_NUM_THREADS must be ${bad}, got '${env}': using ${fallback}`;
    notes.push(note);
    (proc as { emitWarning?: (m: string) => void } | undefined)?.emitWarning?.(note);
  }
  return fallback;
}

function enableRelaxedSimd(): void {
  if (proc?.env?.['RECURRENT_RELAXED_SIMD'] === '0') return;
  const v8 = builtin<{ setFlagsFromString(f: string): void }>('node:v8');
  if (v8 && !WebAssembly.validate(decode(RELAXED_SIMD_WASM))) {
    try {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      /* left off */
    }
  }
}

interface Candidate {
  variant: WasmVariant;
  threaded: boolean;
  bytes: Uint8Array<ArrayBuffer>;
}

function candidates(): Candidate[] {
  if (typeof WebAssembly !== 'object') {
    notes.push('no WebAssembly in this runtime');
    return [];
  }
  enableRelaxedSimd();
  const all: Candidate[] = [
    { variant: 'relaxed-simd', threaded: true, bytes: decode(RELAXED_SIMD_MT_WASM) },
    { variant: 'simd', threaded: true, bytes: decode(SIMD_MT_WASM) },
    { variant: 'relaxed-simd', threaded: false, bytes: decode(RELAXED_SIMD_WASM) },
    { variant: 'simd', threaded: false, bytes: decode(SIMD_WASM) },
  ];
  const ok = all.filter((c) => WebAssembly.validate(c.bytes));
  if (ok.length === 0) notes.push('this runtime lacks WebAssembly SIMD');
  else if (ok[0]!.variant !== 'relaxed-simd') notes.push('relaxed SIMD unavailable: plain SIMD (no fused multiply-add)');
  return ok;
}

interface NodeWorker extends WorkerLike {
  unref(): void;
  on(event: 'error', f: (e: unknown) => void): unknown;
}
type NodeWorkerCtor = new (src: string, opts: { eval: true; workerData: unknown }) => NodeWorker;

interface WebWorker extends WorkerLike {
  postMessage(m: unknown): void;
  addEventListener(type: 'message' | 'error', f: (e: { data?: unknown; message?: string }) => void): void;
}
type WebWorkerCtor = new (url: string) => WebWorker;

/** How this runtime starts pool workers: Node's worker_threads, or Web Workers (async start). */
function workerKind(): { node: NodeWorkerCtor } | { web: WebWorkerCtor } | null {
  const nodeWorker = builtin<{ Worker: NodeWorkerCtor }>('node:worker_threads')?.Worker;
  if (nodeWorker) return { node: nodeWorker };
  const g = globalThis as { Worker?: WebWorkerCtor; crossOriginIsolated?: boolean; Blob?: unknown };
  if (g.Worker && g.crossOriginIsolated && typeof SharedArrayBuffer !== 'undefined') return { web: g.Worker };
  return null;
}

function browserThreads(): number {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(8, n));
}

/**
 * Instantiates a candidate; with threads, starts the pool. Web Workers start asynchronously:
 * the returned promise settles once every one has answered, so only `ready()` can use them.
 */
function install(c: Candidate, module: WebAssembly.Module, allowAsync: boolean): Promise<void> | void {
  const kind = workerKind();
  let threads = 1;
  if (c.threaded) {
    if (!kind) throw new Error('threads need worker_threads (Node) or Web Workers on a cross-origin-isolated page');
    if ('web' in kind && !allowAsync) throw new Error('Web Workers start asynchronously; await ready()');
    threads = 'node' in kind ? defaultThreads() : browserThreads();
    if (threads < 2) throw new Error('one core (RECURRENT_NUM_THREADS or the machine)');
  }
  let memory: WebAssembly.Memory;
  let exports: KernelExports;
  if (c.threaded) {
    memory = new WebAssembly.Memory({ initial: 32, maximum: 32768, shared: true });
    exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
  } else {
    const instance = new WebAssembly.Instance(module, {});
    memory = instance.exports['memory'] as WebAssembly.Memory;
    exports = instance.exports as unknown as KernelExports;
  }
  const ctrl = (exports.heapBase() + 63) & ~63;
  new Int32Array(memory.buffer, ctrl, CTRL_WORDS).fill(0);
  const finish = (p: ThreadPool | null): void => {
    pool = p;
    const be = createWasmBackend(exports, memory, ctrl + CTRL_WORDS * 4, p, ctrl, 'wasm', c.threaded ? 32768 * 65536 : 2 ** 32);
    controls = be;
    registerBackend(be);
    variant = c.variant;
    if (!userChose) setBackend('wasm');
  };
  if (!c.threaded || !kind) return finish(null);
  if ('node' in kind) {
    let created: ThreadPool | null = null;
    const spawn: SpawnWorker = (setup) => {
      const w = new kind.node(NODE_WORKER_SOURCE, { eval: true, workerData: setup });
      w.unref();
      // a worker that fails to start: the pool carries on with the calling thread alone
      w.on('error', (e: unknown) => created?.fail(`a pool worker failed: ${e instanceof Error ? e.message : String(e)}`));
      return w;
    };
    const os = builtin<{ cpus(): { times: { idle: number } }[] }>('node:os');
    const idle = os ? (): number => os.cpus().reduce((a, c) => a + c.times.idle, 0) : null;
    created = new ThreadPool(spawn, module, memory, ctrl, threads, true, false, undefined, idle);
    return finish(created);
  }
  // browsers: the page's thread may not block, so it spins at barriers and while waiting
  exports.setMayWait(0);
  const url = URL.createObjectURL(new Blob([WEB_WORKER_SOURCE], { type: 'text/javascript' }));
  const started: Promise<void>[] = [];
  const spawned: WebWorker[] = [];
  const spawn: SpawnWorker = (setup) => {
    const w = new kind.web(url);
    spawned.push(w);
    started.push(new Promise<void>((resolve, reject) => {
      w.addEventListener('message', (e) => (e.data === 'ready' ? resolve() : undefined));
      w.addEventListener('error', (e) => reject(new Error(`a Web Worker failed to start: ${e.message ?? 'unknown error'}`)));
    }));
    w.postMessage(setup);
    return w;
  };
  const p = new ThreadPool(spawn, module, memory, ctrl, threads, false, true);
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('Web Workers did not start within 10 s')), 10000));
  return Promise.race([Promise.all(started), timeout]).then(() => finish(p), (e: unknown) => {
    spawned.forEach((w) => w.terminate());
    throw e;
  });
}

/** Tries to load the kernels synchronously; returns whether they are in. */
export function loadWasmSync(): boolean {
  if (variant) return true;
  const all = candidates();
  const kind = workerKind();
  if (kind && 'web' in kind && all.some((c) => c.threaded) && browserThreads() > 1) {
    // a page that can run a Web Worker pool: the pool starts asynchronously, in ready()
    notes.push('Web Workers start asynchronously: await ready() to load the threaded kernels');
    return false;
  }
  for (const c of all) {
    try {
      install(c, new WebAssembly.Module(c.bytes), false);
      return true;
    } catch (e) {
      notes.push(`${c.variant}${c.threaded ? ' with threads' : ''}: ${(e as Error).message}`);
    }
  }
  return false;
}

/** Resolves once the fastest available kernels are loaded (at once where they already are). */
export async function ready(): Promise<void> {
  if (variant) return;
  notes.length = 0;
  for (const c of candidates()) {
    try {
      await install(c, await WebAssembly.compile(c.bytes), true);
      return;
    } catch (e) {
      notes.push(`${c.variant}${c.threaded ? ' with threads' : ''}: ${(e as Error).message}`);
    }
  }
}

/** Marks the backend as chosen by the user, so a later `ready()` does not switch it. */
export function markUserChoice(): void {
  userChose = true;
}

/**
 * Sets how many threads the wasm kernels use (the calling thread included), from 1 to the
 * machine's cores (or 8, where there are fewer); results are the same for any count. Returns the
 * count in force (1 without a thread pool).
 */
export function setNumThreads(n: number): number {
  const bad = badThreads(n);
  if (bad) throw new Error(`setNumThreads: n must be ${bad}, got ${String(n)}`);
  if (!pool) return 1;
  pool.resize(n);
  return pool.size;
}

/** The backend in use, the kernels loaded, the threads, and why anything faster is missing. */
export function backendInfo(): BackendInfo {
  const poolNotes = pool?.failed ? [`threads off: ${pool.failed}`] : [];
  return { name: getBackend().name, available: listBackends(), wasm: variant, threads: pool ? pool.size : variant ? 1 : 0, notes: [...notes, ...poolNotes] };
}

/**
 * Testing aid: with `on`, every wasm kernel call starts with its scratch memory filled with NaN,
 * so a kernel that reads memory it did not write gives NaN instead of a plausible number.
 */
export function setWasmPoison(on: boolean): void {
  if (controls) controls.heap.poison = on;
}

/** Testing and tuning knobs of the loaded wasm backend (null without one). */
export function wasmControls(): WasmBackendControls | null {
  return controls;
}

/**
 * Testing aid: a second wasm backend, on the calling thread alone and not registered, over its
 * own memory that can grow to at most `maxBytes` (so that memory pressure can be tested without
 * filling gigabytes). Null where the threaded kernels (which import their memory) cannot load.
 */
export function createWasmTestBackend(maxBytes: number): (Backend & WasmBackendControls) | null {
  const c = candidates().find((x) => x.threaded);
  if (!c || typeof SharedArrayBuffer === 'undefined') return null;
  const memory = new WebAssembly.Memory({ initial: 32, maximum: Math.max(32, Math.floor(maxBytes / 65536)), shared: true });
  const exports = new WebAssembly.Instance(new WebAssembly.Module(c.bytes), { env: { memory } }).exports as unknown as KernelExports;
  const ctrl = (exports.heapBase() + 63) & ~63;
  new Int32Array(memory.buffer, ctrl, CTRL_WORDS).fill(0);
  return createWasmBackend(exports, memory, ctrl + CTRL_WORDS * 4, null, ctrl, 'wasm-test', maxBytes);
}

/**
 * Whether each kind of call runs on the pool or on the calling thread alone, whichever is
 * measured faster (default true), or on the pool whenever it is big enough (false: for
 * measuring the pool itself). Results are the same either way. Returns the setting before.
 */
export function setAdaptiveThreads(on: boolean): boolean {
  if (typeof on !== 'boolean') throw new Error(`setAdaptiveThreads: on must be true or false, got ${String(on)}`);
  return controls ? controls.setAdaptiveThreads(on) : true;
}
