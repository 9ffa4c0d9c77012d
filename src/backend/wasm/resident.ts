/**
 * What stays in the kernels' memory between calls, within budgets, so that memory neither leaks
 * nor grows without bound when a program drops things without disposing of them:
 *
 * - packed weights (steppers' snapshots): rebuildable from the weights they were packed from, so
 *   the least recently used are evicted past a budget, and packed again when next used;
 * - training caches (what a recurrent layer's backward reads): past a budget, the oldest are
 *   copied out to JavaScript arrays (backward then copies them in), or freed when their owner is
 *   already gone.
 *
 * Nothing a call under way uses is evicted: entries used since the call began are pinned.
 */
import type { WasmHeap } from './heap.js';

/** A persistent block: its address and the bytes asked for. */
export interface Block {
  p: number;
  bytes: number;
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
 * Training caches resident in the kernels' memory, oldest first, at most `budget` bytes: past
 * it, the oldest are spilled (copied out, when their owner is still alive) to make room.
 */
export class ResidentCaches {
  private readonly live = new Map<object, { ref: WeakRef<CacheRecord>; blocks: Block[]; bytes: number; epoch: number }>();
  private residentBytes = 0;
  private readonly finalizer = new FinalizationRegistry<object>((key) => this.free(key));

  constructor(private readonly heap: WasmHeap, private readonly scope: CallScope, public budget: number) {}

  bytes(): number {
    return this.residentBytes;
  }

  /** Whether a cache of `bytes` can be resident: room is made, the oldest caches spilled. */
  admit(bytes: number): boolean {
    if (bytes > this.budget) return false;
    for (const [key, c] of this.live) {
      if (this.residentBytes + bytes <= this.budget) break;
      if (c.epoch !== this.scope.epoch) this.spill(key);
    }
    return this.residentBytes + bytes <= this.budget;
  }

  /** Registers a resident cache (its record is held weakly: a cache nobody holds is freed). Returns its key. */
  add(record: CacheRecord): object {
    const key = {};
    const bytes = record.blocks.reduce((a, b) => a + b.bytes, 0);
    this.live.set(key, { ref: new WeakRef(record), blocks: record.blocks, bytes, epoch: this.scope.epoch });
    this.residentBytes += bytes;
    this.finalizer.register(record, key, key);
    return key;
  }

  /** Frees a cache's blocks (released by backward, or its owner gone). */
  free(key: object): void {
    const c = this.live.get(key);
    if (!c) return;
    this.live.delete(key);
    this.finalizer.unregister(key);
    for (const b of c.blocks) this.heap.release(b.p, b.bytes);
    this.residentBytes -= c.bytes;
  }

  /** Copies a cache out (when its owner is alive) and frees its blocks. */
  private spill(key: object): void {
    this.live.get(key)?.ref.deref()?.spill();
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
