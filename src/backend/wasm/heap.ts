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

  constructor(private readonly memory: WebAssembly.Memory, base: number) {
    this.scratchBase = (base + 15) & ~15;
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
   * A block that outlives kernel calls (packed weight snapshots). Call between kernel calls
   * only: it may move the scratch area up.
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
    this.scratchBase += need;
    this.top = this.scratchBase;
    this.ensure(this.scratchBase);
    return p;
  }

  /** Returns a persistent block (of `bytes`, as allocated) to the free list. */
  release(p: number, bytes: number): void {
    this.free.set(p, (bytes + 16 + 15) & ~15);
  }

  private ensure(end: number): void {
    const have = this.u8.length;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / 65536));
      } catch {
        throw new Error(`wasm backend: cannot grow memory to ${Math.ceil(end / 2 ** 20)} MiB`);
      }
      this.views();
    }
  }

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
