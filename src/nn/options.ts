/** Validation of the plain-object configs every module takes: errors name the option, what was expected and what came. */

export function checkKnown(opts: object, known: readonly string[], who: string): void {
  if (opts === null || typeof opts !== 'object') throw new Error(`${who}: options must be an object, got ${opts === null ? 'null' : typeof opts}`);
  for (const k of Object.keys(opts)) {
    if (!known.includes(k)) throw new Error(`${who}: unknown option '${k}' (known options: ${known.join(', ')})`);
  }
}

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

export function positiveInt(v: unknown, name: string, who: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${who}: ${name} must be a positive integer, got ${show(v)}`);
  return v;
}

export function nonNegativeInt(v: unknown, name: string, who: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${who}: ${name} must be a non-negative integer, got ${show(v)}`);
  return v;
}

export function bool(v: unknown, name: string, who: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new Error(`${who}: ${name} must be true or false, got ${show(v)}`);
  return v;
}

export function probability(v: unknown, name: string, who: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`${who}: ${name} must be a number in [0, 1], got ${show(v)}`);
  return v;
}

export function oneOf<T extends string>(v: unknown, choices: readonly T[], name: string, who: string, dflt: T): T {
  if (v === undefined) return dflt;
  if (!choices.includes(v as T)) throw new Error(`${who}: ${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${show(v)}`);
  return v as T;
}

export function finiteNumber(v: unknown, name: string, who: string, dflt: number, min = -Infinity): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new Error(`${who}: ${name} must be a finite number${min > -Infinity ? ` >= ${min}` : ''}, got ${show(v)}`);
  return v;
}
