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

  constructor(private readonly memory: WebAssembly.Memory, base: number) {
    this.scratchBase = (base + 15) & ~15;
    this.top = this.scratchBase;
  }

  reset(): void {
    this.highWater = Math.max(this.highWater, this.top);
    if (this.poison && this.highWater > this.scratchBase) {
      new Float32Array(this.memory.buffer, this.scratchBase, (this.highWater - this.scratchBase) >> 2).fill(NaN);
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
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / 65536));
      } catch {
        throw new Error(`wasm backend: cannot grow memory to ${Math.ceil(end / 2 ** 20)} MiB`);
      }
    }
  }

  /** A block of `bytes`, zero-filled when `zero`. */
  alloc(bytes: number, zero = false): number {
    const p = (this.top + 15) & ~15;
    const end = p + bytes + 16;
    this.ensure(end);
    this.top = end;
    if (zero) new Uint8Array(this.memory.buffer, p, bytes).fill(0);
    return p;
  }

  /** A float32 view (recreated on every call: growing memory detaches old views). */
  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, n);
  }

  /** Copies `a` in and returns its address. */
  put(a: Float32Array): number {
    const p = this.alloc(a.length * 4);
    this.f32(p, a.length).set(a);
    return p;
  }

  /** A float32 array of n elements zero-filled in place. */
  zeros(n: number): number {
    return this.alloc(n * 4, true);
  }

  /** Copies n floats at ptr out into a new array. */
  take(ptr: number, n: number): Float32Array {
    return this.f32(ptr, n).slice();
  }

  /** Writes an argument block of 32-bit integers and returns its address. */
  args(values: readonly number[]): number {
    const p = this.alloc(values.length * 4);
    new Int32Array(this.memory.buffer, p, values.length).set(values);
    return p;
  }
}
