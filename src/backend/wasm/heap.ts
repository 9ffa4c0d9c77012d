/**
 * A per-call bump allocator over the kernels' WebAssembly memory: each kernel call resets it,
 * copies its inputs in, runs, and copies its outputs out. Every block is 16-byte aligned with
 * 16 bytes of slack after it (the kernels' 4-lane loads may read past a ragged row end).
 */
export class WasmHeap {
  private top: number;
  constructor(private readonly memory: WebAssembly.Memory, private readonly base: number) {
    this.top = base;
  }

  reset(): void {
    this.top = this.base;
  }

  /** A block of `bytes`, zero-filled when `zero`. */
  alloc(bytes: number, zero = false): number {
    const p = (this.top + 15) & ~15;
    const end = p + bytes + 16;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / 65536);
      try {
        this.memory.grow(pages);
      } catch {
        throw new Error(`wasm backend: cannot grow memory to ${Math.ceil(end / 2 ** 20)} MiB`);
      }
    }
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
