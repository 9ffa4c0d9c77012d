/**
 * Loading the WebAssembly kernels: a feature probe (WebAssembly.validate on the real modules)
 * picks relaxed SIMD, then plain SIMD; without either, the reference backend stays in use.
 * In Node the module compiles synchronously at import; where synchronous compilation of a
 * module this size is refused (browsers' main thread), `ready()` compiles it asynchronously.
 */
import { registerBackend, setBackend, getBackend, listBackends } from '../backend.js';
import { createWasmBackend, type KernelExports } from './backend.js';
import { SIMD_WASM, RELAXED_SIMD_WASM } from './kernels.generated.js';

export type WasmVariant = 'relaxed-simd' | 'simd';

/** What `backendInfo()` reports. */
export interface BackendInfo {
  /** The backend in use. */
  name: string;
  /** Registered backends. */
  available: string[];
  /** The WebAssembly kernel variant loaded, or null. */
  wasm: WasmVariant | null;
  /** Worker threads the kernels use (1: the calling thread only). */
  threads: number;
  /** Why the wasm backend is missing, when it is. */
  reason: string | null;
}

let variant: WasmVariant | null = null;
let reason: string | null = null;
let userChose = false;

function decode(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function candidates(): [WasmVariant, Uint8Array<ArrayBuffer>][] {
  if (typeof WebAssembly !== 'object') return [];
  return ([['relaxed-simd', RELAXED_SIMD_WASM], ['simd', SIMD_WASM]] as const)
    .map(([v, b]) => [v, decode(b)] as [WasmVariant, Uint8Array<ArrayBuffer>])
    .filter(([, bytes]) => WebAssembly.validate(bytes));
}

function install(v: WasmVariant, module: WebAssembly.Module): void {
  const instance = new WebAssembly.Instance(module, {});
  registerBackend(createWasmBackend(instance.exports as unknown as KernelExports));
  variant = v;
  reason = null;
  if (!userChose) setBackend('wasm');
}

/** Tries to load the kernels synchronously; returns whether they are in. */
export function loadWasmSync(): boolean {
  if (variant) return true;
  const c = candidates();
  if (c.length === 0) {
    reason = typeof WebAssembly !== 'object' ? 'no WebAssembly in this runtime' : 'this runtime lacks WebAssembly SIMD';
    return false;
  }
  for (const [v, bytes] of c) {
    try {
      install(v, new WebAssembly.Module(bytes));
      return true;
    } catch (e) {
      reason = `synchronous compilation refused (${(e as Error).message}); await ready()`;
    }
  }
  return false;
}

/** Resolves once the fastest available kernels are loaded (at once where they already are). */
export async function ready(): Promise<void> {
  if (variant) return;
  for (const [v, bytes] of candidates()) {
    try {
      install(v, await WebAssembly.compile(bytes));
      return;
    } catch (e) {
      reason = `WebAssembly compilation failed: ${(e as Error).message}`;
    }
  }
}

/** Marks the backend as chosen by the user, so a later `ready()` does not switch it. */
export function markUserChoice(): void {
  userChose = true;
}

export function backendInfo(): BackendInfo {
  return { name: getBackend().name, available: listBackends(), wasm: variant, threads: 1, reason };
}
