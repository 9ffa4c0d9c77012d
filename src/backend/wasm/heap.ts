/**
 * Thrown by an allocation after memory pressure released blocks: the backend call that allocated
 * starts over once (its scratch then lies lower), instead of failing.
 */
export class HeapRetry extends Error {
  constructor() {
    super('wasm backend: memory released under pressure; the call starts over');
  }
}

/**
 * A per-call bump allocator over the kernels' WebAssembly memory: each kernel call resets it,
 * copies its inputs in, runs, and copies its outputs out. Every block is 16-byte aligned with
 * 16 bytes of slack after it (the kernels' 4-lane loads may read past a ragged row end).
 */
export class WasmHeap {
  private top: number;
  /** Scratch starts here; persistent blocks live below it. */
  private scratchBase: number;
  /** Free persistent blocks: start -> bytes. */
  private readonly free = new Map<number, number>();
  /** Testing aid: fill used scratch with NaN at every reset, so a read of memory not written shows. */
  poison = false;
  private highWater = 0;
  /**
   * Views of the whole memory, made again only when this heap grows it (nothing else does):
   * reading `memory.buffer` on every copy costs more than small copies do.
   */
  private u8!: Uint8Array;
  private f32all!: Float32Array;
  private i32all!: Int32Array;

  constructor(private readonly memory: WebAssembly.Memory, base: number, maxBytes = 2 ** 31) {
    this.scratchBase = (base + 15) & ~15;
    this.base = this.scratchBase;
    this.maxBytes = maxBytes;
    this.top = this.scratchBase;
    this.views();
  }

  private views(): void {
    const b = this.memory.buffer;
    this.u8 = new Uint8Array(b);
    this.f32all = new Float32Array(b);
    this.i32all = new Int32Array(b);
  }

  reset(): void {
    this.highWater = Math.max(this.highWater, this.top);
    if (this.poison && this.highWater > this.scratchBase) {
      this.f32all.fill(NaN, this.scratchBase >> 2, this.highWater >> 2);
    }
    this.top = this.scratchBase;
  }

  /**
   * A block that outlives kernel calls (packed weights, resident caches). Call between kernel
   * calls only: it may move the scratch area up. Throws, changing nothing, when the memory
   * cannot grow to hold it.
   */
  persistent(bytes: number): number {
    const need = ((bytes + 16 + 15) & ~15);
    for (const [p, size] of this.free) {
      if (size >= need) {
        this.free.delete(p);
        if (size > need) this.free.set(p + need, size - need);
        return p;
      }
    }
    const p = this.scratchBase;
    this.ensure(p + need); // before anything moves: a failure leaves the heap as it was
    this.scratchBase += need;
    this.top = this.scratchBase;
    return p;
  }

  /**
   * Returns a persistent block (of `bytes`, as allocated): merged with free neighbours, and the
   * scratch area moves down over it when it is the topmost, so freed memory is reused whole.
   */
  release(p: number, bytes: number): void {
    let start = p;
    let size = (bytes + 16 + 15) & ~15;
    const after = this.free.get(start + size);
    if (after !== undefined) {
      this.free.delete(start + size);
      size += after;
    }
    for (const [q, qs] of this.free) {
      if (q + qs === start) {
        this.free.delete(q);
        start = q;
        size += qs;
        break;
      }
    }
    if (start + size === this.scratchBase) {
      this.scratchBase = start;
      if (this.top < this.scratchBase || this.top === start + size) this.top = this.scratchBase;
    } else this.free.set(start, size);
  }

  /** Bytes of persistent blocks in use (below the scratch area, less the free ones). */
  persistentBytes(): number {
    let free = 0;
    for (const size of this.free.values()) free += size;
    return this.scratchBase - this.base - free;
  }

  /** The memory's size in bytes. */
  size(): number {
    return this.u8.length;
  }

  /**
   * Called when the memory cannot grow: releases what can be rebuilt or copied out (packed
   * weights, training caches) that the call under way does not use; returns whether it released
   * anything. The call then starts over (see HeapRetry) with the scratch area lower down.
   */
  onPressure: (() => boolean) | null = null;

  private ensure(end: number): void {
    const have = this.u8.length;
    if (end <= have) return;
    try {
      this.memory.grow(Math.ceil((end - have) / 65536));
    } catch {
      if (this.onPressure?.()) throw new HeapRetry();
      throw new Error(`wasm backend: cannot grow memory to ${Math.ceil(end / 2 ** 20)} MiB (the most is ${Math.floor(this.maxBytes / 2 ** 20)} MiB; ${Math.ceil(this.persistentBytes() / 2 ** 20)} MiB of it hold packed weights and training caches in use)`);
    }
    this.views();
  }

  private readonly base: number;
  private readonly maxBytes: number;
  /** A block of `bytes`, zero-filled when `zero`. */
  alloc(bytes: number, zero = false): number {
    const p = (this.top + 15) & ~15;
    const end = p + bytes + 16;
    this.ensure(end);
    this.top = end;
    if (zero) this.u8.fill(0, p, p + bytes);
    return p;
  }

  /** A float32 view of n floats at ptr (4-aligned); valid until the heap next allocates. */
  f32(ptr: number, n: number): Float32Array {
    return this.f32all.subarray(ptr >> 2, (ptr >> 2) + n);
  }

  /** An int32 view of n values at ptr (4-aligned); valid until the heap next allocates. */
  i32(ptr: number, n: number): Int32Array {
    return this.i32all.subarray(ptr >> 2, (ptr >> 2) + n);
  }

  /** Copies `a` in and returns its address. */
  put(a: Float32Array): number {
    const p = this.alloc(a.length * 4);
    this.f32all.set(a, p >> 2);
    return p;
  }

  /** Copies int32 values in and returns their address. */
  putI32(a: Int32Array | readonly number[]): number {
    const p = this.alloc(a.length * 4);
    this.i32all.set(a, p >> 2);
    return p;
  }

  /** Copies float64 values in and returns their address (8-aligned). */
  putF64(a: Float64Array): number {
    const p = this.alloc(a.length * 8);
    new Float64Array(this.memory.buffer, p, a.length).set(a);
    return p;
  }

  /** A float32 array of n elements zero-filled in place. */
  zeros(n: number): number {
    return this.alloc(n * 4, true);
  }

  /** Copies n floats at ptr out into a new array. */
  take(ptr: number, n: number): Float32Array {
    return this.f32all.slice(ptr >> 2, (ptr >> 2) + n);
  }

  /** Writes an argument block of 32-bit integers and returns its address. */
  args(values: readonly number[]): number {
    return this.putI32(values);
  }
}
