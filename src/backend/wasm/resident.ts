/**
 * What stays in the kernels' memory between calls, within budgets, so that memory neither leaks
 * nor grows without bound when a program drops things without disposing of them:
 *
 * - packed weights (steppers' snapshots): rebuildable from the weights they were packed from, so
 *   the least recently used are evicted past a budget, and packed again when next used;
 * - training caches (what a recurrent layer's backward reads): past a budget, the oldest are
 *   copied out to JavaScript arrays (backward then copies them in); freed when their owner is
 *   collected.
 *
 * Nothing a call under way uses is evicted: entries used since the call began are pinned.
 */
import type { WasmHeap } from './heap.js';

/** A persistent block: its address and the bytes asked for. */
export interface Block {
  p: number;
  bytes: number;
}

/**
 * Persistent blocks of sizes[key] float32s each (0: none, address 0), all or none: if one cannot
 * be had, those already taken go back before the error passes on.
 */
export function persistentBlocks<K extends string>(heap: WasmHeap, sizes: Record<K, number>): { at: Record<K, number>; blocks: Block[] } {
  const at = {} as Record<K, number>;
  const blocks: Block[] = [];
  try {
    for (const key of Object.keys(sizes) as K[]) {
      const n = sizes[key];
      at[key] = n ? heap.persistent(n * 4) : 0;
      if (n) blocks.push({ p: at[key], bytes: n * 4 });
    }
  } catch (e) {
    for (const b of blocks) heap.release(b.p, b.bytes);
    throw e;
  }
  return { at, blocks };
}

/** Blocks that can be rebuilt: packed weights. */
export interface PackedEntry {
  /** The blocks' addresses, allocated and filled first if they are not resident; pinned for the call under way. */
  use(): number[];
  /** Whether the blocks are in memory now. */
  readonly resident: boolean;
  /** Frees the blocks for good; `use` then throws. */
  dispose(): void;
}

/**
 * The backend's calls, and whether one is under way: an entry used within a call is pinned until
 * the next call begins (calls may nest: a fallback path calling the backend again).
 */
export class CallScope {
  epoch = 0;
  private depth = 0;

  /** Runs a backend call; `retry` (a HeapRetry test) makes it start over once. */
  run<R>(body: () => R, isRetry: (e: unknown) => boolean): R {
    if (this.depth++ === 0) this.epoch++;
    try {
      try {
        return body();
      } catch (e) {
        if (!isRetry(e)) throw e;
        return body();
      }
    } finally {
      this.depth--;
    }
  }
}

interface Entry {
  sizes: number[];
  fill: (ptrs: number[]) => void;
  ptrs: number[];
  bytes: number;
  epoch: number;
  disposed: boolean;
}

/** Rebuildable blocks in a least-recently-used order, at most `budget` bytes resident (but what one call pins). */
export class PackedStore {
  /** Resident entries, least recently used first. */
  private readonly lru = new Set<Entry>();
  private residentBytes = 0;

  constructor(private readonly heap: WasmHeap, private readonly scope: CallScope, public budget: number,
    /** Waits until no thread still works in blocks about to be freed. */
    private readonly quiesce: () => void) {}

  /** Bytes resident now. */
  bytes(): number {
    return this.residentBytes;
  }

  /** A new entry of blocks of these sizes, which `fill` writes (allocated when first used). */
  create(sizes: number[], fill: (ptrs: number[]) => void): PackedEntry {
    const e: Entry = { sizes, fill, ptrs: [], bytes: sizes.reduce((a, b) => a + b, 0), epoch: -1, disposed: false };
    const store = this;
    return {
      use: () => store.use(e),
      get resident() {
        return e.ptrs.length > 0;
      },
      dispose: () => {
        if (e.disposed) return;
        e.disposed = true;
        store.evict(e);
      },
    };
  }

  private use(e: Entry): number[] {
    if (e.disposed) throw new Error('wasm backend: packed weights used after dispose');
    e.epoch = this.scope.epoch;
    if (e.ptrs.length) {
      this.lru.delete(e);
      this.lru.add(e);
      return e.ptrs;
    }
    this.makeRoom(e.bytes);
    const ptrs: number[] = [];
    try {
      for (const n of e.sizes) ptrs.push(n > 0 ? this.heap.persistent(n) : 0);
    } catch (err) {
      ptrs.forEach((p, i) => p && this.heap.release(p, e.sizes[i]!));
      throw err;
    }
    e.ptrs = ptrs;
    this.residentBytes += e.bytes;
    this.lru.add(e);
    e.fill(ptrs);
    return ptrs;
  }

  private evict(e: Entry): void {
    if (!e.ptrs.length) return;
    this.quiesce();
    e.ptrs.forEach((p, i) => p && this.heap.release(p, e.sizes[i]!));
    e.ptrs = [];
    this.residentBytes -= e.bytes;
    this.lru.delete(e);
  }

  /** Evicts unpinned entries, least recently used first, until `need` more bytes fit the budget. */
  private makeRoom(need: number): void {
    for (const e of this.lru) {
      if (this.residentBytes + need <= this.budget) return;
      if (e.epoch !== this.scope.epoch) this.evict(e);
    }
  }

  /** Evicts every entry the call under way does not use; returns whether any was. */
  evictUnpinned(): boolean {
    let any = false;
    for (const e of [...this.lru]) {
      if (e.epoch === this.scope.epoch) continue;
      this.evict(e);
      any = true;
    }
    return any;
  }
}

/** A training cache as the registry sees it: its blocks, and how to copy them out. */
export interface CacheRecord {
  blocks: Block[];
  /** Copies the blocks' contents into the cache's own arrays (it no longer reads the blocks). */
  spill: () => void;
}

/**
 * The least bytes resident caches may hold, whatever training measured (a forward whose graph is
 * never used, as evaluation without noGrad, keeps at most this much before the oldest are copied out).
 */
const MIN_CACHE_BUDGET = 16 * 2 ** 20;

/**
 * Training caches resident in the kernels' memory, oldest first. They may hold twice what one
 * training step was measured to need (the caches its backward read, between two forwards),
 * between 16 MiB and `budget`; past it, the oldest are spilled (copied out) to make room. A
 * cache whose owner is collected is freed; one that backward read is released by it.
 */
export class ResidentCaches {
  private readonly live = new Map<object, { record: CacheRecord; bytes: number; epoch: number }>();
  private residentBytes = 0;
  /** The bytes of caches backward read since the last forward, and the most of that seen. */
  private passBytes = 0;
  private maxPass = 0;
  private readonly finalizer = new FinalizationRegistry<object>((key) => this.free(key));

  constructor(private readonly heap: WasmHeap, private readonly scope: CallScope, public budget: number) {}

  bytes(): number {
    return this.residentBytes;
  }

  /** The bytes resident caches may hold now. */
  limit(): number {
    return Math.min(this.budget, Math.max(MIN_CACHE_BUDGET, 2 * this.maxPass));
  }

  /** A forward kept a cache (resident or not): a training step's backward reads begin again. */
  forwardKept(): void {
    this.passBytes = 0;
  }

  /** Backward read a cache of `bytes`. */
  consumed(bytes: number): void {
    this.passBytes += bytes;
    this.maxPass = Math.max(this.maxPass, this.passBytes);
  }

  /** Whether a cache of `bytes` can be resident: room is made, the oldest caches spilled. */
  admit(bytes: number): boolean {
    const limit = this.limit();
    if (bytes > limit) return false;
    for (const [key, c] of this.live) {
      if (this.residentBytes + bytes <= limit) break;
      if (c.epoch !== this.scope.epoch) this.spill(key);
    }
    return this.residentBytes + bytes <= limit;
  }

  /** Registers a resident cache; returns its key. */
  add(record: CacheRecord): object {
    const key = {};
    const bytes = record.blocks.reduce((a, b) => a + b.bytes, 0);
    this.live.set(key, { record, bytes, epoch: this.scope.epoch });
    this.residentBytes += bytes;
    return key;
  }

  /** Frees the cache `key` when `owner` (the object its graph holds) is collected. */
  watch(owner: object, key: object): void {
    this.finalizer.register(owner, key, key);
  }

  /** Frees a cache's blocks (released by backward, or its owner gone). */
  free(key: object): void {
    const c = this.live.get(key);
    if (!c) return;
    this.live.delete(key);
    this.finalizer.unregister(key);
    for (const b of c.record.blocks) this.heap.release(b.p, b.bytes);
    this.residentBytes -= c.bytes;
  }

  /** Copies a cache out and frees its blocks. */
  private spill(key: object): void {
    this.live.get(key)?.record.spill();
    this.free(key);
  }

  /** Spills every cache the call under way did not make; returns whether any was. */
  spillUnpinned(): boolean {
    let any = false;
    for (const [key, c] of [...this.live]) {
      if (c.epoch === this.scope.epoch) continue;
      this.spill(key);
      any = true;
    }
    return any;
  }
}
