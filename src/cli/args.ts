/** Shared option handling of the CLI commands. */

/** Bad usage: reported with exit code 2. */
export class UsageError extends Error {}

/** A numeric option: its default when absent, else checked (`what` says what was expected). */
export function num(v: string | undefined, name: string, dflt: number, ok: (x: number) => boolean, what: string): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isFinite(x) || !ok(x)) throw new UsageError(`--${name} must be ${what}, got '${v}'`);
  return x;
}

/** A positive integer. */
export const positive = (x: number): boolean => Number.isInteger(x) && x >= 1;
