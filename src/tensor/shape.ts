/** Shape arithmetic shared by every layer of the library. */
export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a contiguous tensor of `shape`. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function shapeEquals(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** The shape two operands broadcast to, by NumPy/PyTorch rules; throws naming the operation otherwise. */
export function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${op}: shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together (dimension ${i - n}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Strides of `shape` read as if broadcast to `outShape` (right-aligned): a broadcast dimension
 * gets stride 0, so one index walk serves both operands.
 */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const st = stridesOf(shape);
  const out = new Array<number>(outShape.length).fill(0);
  const off = outShape.length - shape.length;
  for (let i = 0; i < shape.length; i++) out[off + i] = shape[i] === 1 ? 0 : st[i]!;
  return out;
}

/** Normalises a possibly negative dimension index; throws naming `who` when it is out of range. */
export function normDim(dim: number, rank: number, who: string): number {
  if (!Number.isInteger(dim)) throw new Error(`${who}: dim must be an integer, got ${dim}`);
  const d = dim < 0 ? dim + rank : dim;
  if (d < 0 || d >= rank) {
    throw new Error(`${who}: dim ${dim} is out of range for a tensor of rank ${rank} (expected ${-rank}..${rank - 1})`);
  }
  return d;
}

export function checkShape(shape: readonly number[], who: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${who}: shape ${formatShape(shape)} must hold non-negative integers`);
  }
  // JavaScript's typed arrays hold at most 2^32 elements here; past that the allocation throws
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > 2 ** 32) throw new Error(`${who}: shape ${formatShape(shape)} has ${n} elements, more than the 2^32 a tensor can hold`);
}
