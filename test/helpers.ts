import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { Tensor, tensor, backendInfo, listBackends, setBackend, type DType } from 'recurrent';

/** The repository root (tests are compiled to build/test/...). */
export const ROOT = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'recurrent') return d;
    } catch {
      /* keep climbing */
    }
    d = dirname(d);
  }
  throw new Error('tests: cannot find the repository root');
})();

export interface Arr {
  shape: number[];
  data: number[];
}

export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'torch', `${name}.json`), 'utf8')) as T;
}

export function fromArr(a: Arr, dtype: DType = 'float32', requiresGrad = false): Tensor {
  return tensor(dtype === 'float64' ? Float64Array.from(a.data) : Float32Array.from(a.data), a.shape, { dtype, requiresGrad });
}

/**
 * Asserts |actual - expected| <= atol + rtol |expected| elementwise (and equal shapes),
 * reporting the worst element.
 */
export function assertClose(actual: Tensor | ArrayLike<number>, expected: Arr | ArrayLike<number>, what: string, atol = 1e-5, rtol = 1e-4): void {
  const a = actual instanceof Tensor ? actual.data : actual;
  const e = 'data' in (expected as Arr) && Array.isArray((expected as Arr).shape) ? (expected as Arr).data : (expected as ArrayLike<number>);
  if (actual instanceof Tensor && 'shape' in (expected as Arr) && Array.isArray((expected as Arr).shape)) {
    const es = (expected as Arr).shape;
    if (actual.shape.length !== es.length || actual.shape.some((s, i) => s !== es[i])) {
      throw new Error(`${what}: shape [${actual.shape}] != expected [${es}]`);
    }
  }
  if (a.length !== e.length) throw new Error(`${what}: ${a.length} values, expected ${e.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs(a[i]! - e[i]!);
    const excess = diff - (atol + rtol * Math.abs(e[i]!));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(diff))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    throw new Error(`${what}: element ${worst} is ${a[worst]}, expected ${e[worst]} (|diff| ${Math.abs(a[worst]! - e[worst]!)} > ${atol} + ${rtol}*|b|)`);
  }
}

/** Asserts that fn throws an error whose message matches every pattern. */
export function assertThrowsMatching(fn: () => unknown, ...patterns: (RegExp | string)[]): void {
  let msg: string | null = null;
  try {
    fn();
  } catch (e) {
    msg = (e as Error).message;
  }
  if (msg === null) throw new Error(`expected an error matching ${patterns.join(' & ')}, but nothing was thrown`);
  for (const p of patterns) {
    const ok = typeof p === 'string' ? msg.includes(p) : p.test(msg);
    if (!ok) throw new Error(`error message "${msg}" does not match ${String(p)}`);
  }
}

/** Runs `f` with a new temporary folder, removed afterwards whatever happens. */
export function inTmp(f: (dir: string) => void, prefix = 'recurrent-test-'): void {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs fn on every backend in turn (the backend set), then sets back the one in use before. */
export function eachBackend(fn: (backend: string) => void): void {
  const before = backendInfo().name;
  try {
    for (const backend of listBackends()) {
      setBackend(backend);
      fn(backend);
    }
  } finally {
    setBackend(before);
  }
}
