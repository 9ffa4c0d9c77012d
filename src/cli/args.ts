/**
 * Shared option handling of the CLI commands: every numeric option has a range, checked before
 * any work starts, and the same ranges are shown in each command's --help.
 */

import { LAYERS, type LayerKind } from '../nn/rnn.js';

/** Bad usage: reported with exit code 2. */
export class UsageError extends Error {}

/** A plain decimal number: no hex (' 0x10'), no blanks, no empty string (which Number reads as 0). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A numeric option: its default when absent, else checked (`what` says what was expected). */
export function num(v: string | undefined, name: string, dflt: number, ok: (x: number) => boolean, what: string): number {
  if (v === undefined) return dflt;
  const x = DECIMAL.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(x) || !ok(x)) throw new UsageError(`--${name} must be ${what}, got '${v}'`);
  return x;
}

const show = (x: number): string => (x >= 1e6 && Number.isInteger(Math.log10(x)) ? `1e${Math.log10(x)}` : x === 2 ** 53 - 1 ? '2^53 - 1' : String(x));

/** An integer option in [lo, hi]. */
export function intIn(v: string | undefined, name: string, dflt: number, lo: number, hi: number): number {
  return num(v, name, dflt, (x) => Number.isInteger(x) && x >= lo && x <= hi, `an integer from ${show(lo)} to ${show(hi)}`);
}

/** A number option in (lo, hi] (or [lo, hi] with `closed`). */
export function realIn(v: string | undefined, name: string, dflt: number, lo: number, hi: number, closed = false): number {
  return num(v, name, dflt, (x) => (closed ? x >= lo : x > lo) && x <= hi, closed ? `a number from ${show(lo)} to ${show(hi)}` : `a number above ${show(lo)} and at most ${show(hi)}`);
}

/**
 * The ranges of the CLI's numbers: [lowest, highest]. Sizes stay where a model still fits a
 * machine's memory (a model's total size is checked too, when it is built); counts and lengths
 * where a run still ends in hours.
 */
export const RANGES = {
  layers: [1, 64],
  size: [1, 16384],
  seqLen: [1, 100_000],
  batch: [1, 65_536],
  steps: [0, 1e9],
  every: [0, 1e9],
  lr: [0, 1000],
  clip: [0, 1e6],
  seed: [0, 2 ** 53 - 1],
  length: [0, 1e8],
  temperature: [0, 1000],
  topK: [0, 1e6],
  window: [1, 100_000],
  horizon: [1, 10_000],
  season: [1, 100_000],
  rows: [0, 1e9],
  maxLen: [1, 100_000],
  patience: [1, 1e6],
} as const satisfies Record<string, readonly [number, number]>;

/** An integer option in its named range. */
export function intOpt(v: string | undefined, name: string, dflt: number, range: keyof typeof RANGES): number {
  const [lo, hi] = RANGES[range];
  return intIn(v, name, dflt, lo, hi);
}

/** `--seed`: an integer in [0, 2^53). */
export function seedOpt(v: string | undefined, dflt: number): number {
  return intOpt(v, 'seed', dflt, 'seed');
}

/**
 * The options every training command has, ranged, with the command's own defaults for the
 * learning rate, clipping and steps: --lr, --clip, --steps, --checkpoint-every, --seed.
 */
export function trainingOptions(values: Record<string, unknown>, d: { lr: number; clip: number; steps: number }): {
  lr: number; clip: number; steps: number; 'checkpoint-every': number; seed: number;
} {
  const v = (k: string): string | undefined => values[k] as string | undefined;
  return {
    lr: realIn(v('lr'), 'lr', d.lr, 0, RANGES.lr[1]),
    clip: realIn(v('clip'), 'clip', d.clip, 0, RANGES.clip[1]),
    steps: intOpt(v('steps'), 'steps', d.steps, 'steps'),
    'checkpoint-every': intIn(v('checkpoint-every'), 'checkpoint-every', 500, 1, RANGES.every[1]),
    seed: seedOpt(v('seed'), 1),
  };
}

/** The recurrent regularisers' options, for parseArgs. */
export const REGULARISER_OPTIONS = { 'recurrent-dropout': { type: 'string' }, zoneout: { type: 'string' } } as const;

/** The regularisers' lines of a command's --help, the descriptions from column `width` + 2. */
export function regulariserUsage(width: number): string {
  const pad = ' '.repeat(width + 2);
  const entry = (flag: string, lines: string[]): string => {
    const head = flag.length < width ? `  ${flag.padEnd(width)}${lines[0]}\n` : `  ${flag}\n${pad}${lines[0]}\n`;
    return head + lines.slice(1).map((l) => `${pad}${l}\n`).join('');
  };
  return entry('--recurrent-dropout P', ['recurrent dropout on the state entering each step (one mask per', 'sequence), a probability in [0, 1) (default 0)'])
    + entry('--zoneout P', ['zoneout: each unit keeps its previous state with probability P in', 'training, and its expectation at evaluation; in [0, 1) (default 0)']);
}

/** --recurrent-dropout and --zoneout: probabilities in [0, 1). */
export function regulariserOptions(values: Record<string, unknown>): { 'recurrent-dropout': number; zoneout: number } {
  const p = (k: 'recurrent-dropout' | 'zoneout'): number => num(values[k] as string | undefined, k, 0, (x) => x >= 0 && x < 1, 'a probability in [0, 1)');
  return { 'recurrent-dropout': p('recurrent-dropout'), zoneout: p('zoneout') };
}

/** The layer kinds `--model` takes: every kind with a layer (lstm, gru, rnn, and the cells beyond PyTorch's). */
export const MODEL_KINDS = Object.keys(LAYERS) as LayerKind[];

/** --model's line of a command's --help: every kind, the default first. */
export function modelKindsUsage(dflt: LayerKind): string {
  const rest = MODEL_KINDS.filter((k) => k !== dflt);
  return `${dflt} (default), ${rest.slice(0, -1).join(', ')} or ${rest[rest.length - 1]}`;
}

/** `--model`: a kind of recurrent layer. */
export function modelKind(v: string | undefined, dflt: LayerKind): LayerKind {
  const kind = v ?? dflt;
  if (!(MODEL_KINDS as string[]).includes(kind)) throw new UsageError(`--model must be one of ${MODEL_KINDS.join(', ')}, got '${kind}'`);
  return kind as LayerKind;
}

