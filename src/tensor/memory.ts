/**
 * How much memory tensors may take, checked before allocating: a model or a tensor that cannot
 * fit is refused with the size it needs, rather than growing until the runtime aborts the process.
 */

interface NodeOs {
  totalmem(): number;
}

let limit: number | null = null;

/**
 * The most bytes one model's parameters, or one tensor, may take: the machine's memory in
 * Node.js; in a browser, 4 GiB (what a page's WebAssembly memory can address), or less where the
 * browser reports less memory.
 */
export function memoryLimitBytes(): number {
  if (limit !== null) return limit;
  const proc = (globalThis as { process?: { getBuiltinModule?: (n: string) => unknown } }).process;
  const os = proc?.getBuiltinModule?.('node:os') as NodeOs | undefined;
  const deviceGiB = (globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory;
  limit = os ? os.totalmem() : Math.min(4, deviceGiB ?? 4) * 2 ** 30;
  return limit;
}

/** Bytes as GiB with two significant digits past the point (or "more than 2^53 bytes"). */
export function formatGiB(bytes: number): string {
  if (!(bytes < 2 ** 53)) return 'more than 2^53 bytes';
  const g = bytes / 2 ** 30;
  return `${g >= 10 ? g.toFixed(0) : g.toPrecision(2)} GiB`;
}

/** Throws unless `bytes` (what `what` names) fit within memoryLimitBytes(). */
export function checkMemory(who: string, bytes: number, what: string): void {
  const max = memoryLimitBytes();
  if (!(bytes <= max)) throw new Error(`${who}: ${what} need ${formatGiB(bytes)}; the memory here is ${formatGiB(max)}`);
}
