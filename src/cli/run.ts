/// <reference types="node" />
/**
 * What the training commands share: resuming from a checkpoint with the run's own settings
 * (options that shape the model or the data must match it; the learning rate, clipping, step
 * count and reporting may change, and the change is said), and the divergence advice in the
 * CLI's own options.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readCheckpointInfo } from '../train/checkpoint.js';

/** A training command's settings, saved in its checkpoints. */
export type RunConfig = Record<string, number | string | boolean>;

/** What a resume starts from. */
export interface ResumePlan<C extends RunConfig> {
  /** The settings in force: the checkpoint's, with the options given now where they may change. */
  config: C;
  /** The checkpoint's bytes, or undefined to start from step 0. */
  bytes: Uint8Array | undefined;
  /** The checkpoint's step (0 without one). */
  step: number;
}

/**
 * Reconciles `--resume` with the options given: `given` holds every setting (defaults filled
 * in), `explicit` the ones named on the command line, `adjustable` those a resumed run may change.
 * Writes what it does to stderr; throws on a conflict.
 */
export function planResume<C extends RunConfig>(checkpoint: string | undefined, resume: boolean | undefined, given: C,
  explicit: ReadonlySet<string>, adjustable: readonly (keyof C & string)[]): ResumePlan<C> {
  if (!resume || !checkpoint) return { config: given, bytes: undefined, step: 0 };
  if (!existsSync(checkpoint)) {
    process.stderr.write(`no checkpoint at ${checkpoint} yet: starting from step 0\n`);
    return { config: given, bytes: undefined, step: 0 };
  }
  const bytes = new Uint8Array(readFileSync(checkpoint));
  let info: ReturnType<typeof readCheckpointInfo>;
  try {
    info = readCheckpointInfo(bytes);
  } catch (e) {
    throw new Error(`--checkpoint ${checkpoint}: ${(e as Error).message}`);
  }
  const saved = info.extras['config'] as RunConfig | undefined;
  if (!saved || typeof saved !== 'object') {
    process.stderr.write(`${checkpoint} records no settings (an older checkpoint): resuming with the options given\n`);
    return { config: given, bytes, step: info.step };
  }
  const config = { ...given } as RunConfig;
  const conflicts: string[] = [];
  const changed: string[] = [];
  for (const key of Object.keys(given)) {
    if (!(key in saved)) continue;
    const was = saved[key]!;
    const now = given[key]!;
    if (!explicit.has(key) || was === now) {
      config[key] = was;
      continue;
    }
    if ((adjustable as readonly string[]).includes(key)) changed.push(`--${key} ${now} (the checkpoint's ${was})`);
    else conflicts.push(`--${key} ${now} (the checkpoint's ${was})`);
  }
  if (conflicts.length) {
    throw new Error(`--resume: ${checkpoint} was trained with other settings: ${conflicts.join(', ')}; drop ${conflicts.length > 1 ? 'these options' : 'this option'} to resume, or start a new run with another --checkpoint`);
  }
  const steps = config['steps'];
  if (typeof steps === 'number' && steps < info.step) {
    throw new Error(`--resume: ${checkpoint} is at step ${info.step}, past --steps ${steps}; give --steps ${info.step} or more`);
  }
  process.stderr.write(`resuming ${checkpoint} at step ${info.step}${changed.length ? `; changed: ${changed.join(', ')}` : ''}\n`);
  return { config: config as C, bytes, step: info.step };
}

/** The options named on a command line (parseArgs' values), as a set of their names. */
export function namedOptions(values: Record<string, unknown>): Set<string> {
  return new Set(Object.entries(values).filter(([, v]) => v !== undefined).map(([k]) => k));
}

/** What to change when training diverges, in the CLI's options. */
export function remedy(lr: number, clip?: number): string {
  return `lower --lr (now ${lr})${clip !== undefined ? ` or --clip (now ${clip})` : ''}; no model was written`;
}

/**
 * A command's result: on stdout (results are what a script reads; progress goes to stderr), as
 * one JSON line with --json, else as the human line (which then goes to stderr too).
 */
export function reportResult(json: boolean | undefined, human: string, data: Record<string, unknown>): void {
  if (json) {
    process.stderr.write(`${human}\n`);
    process.stdout.write(`${JSON.stringify(data)}\n`);
  } else process.stdout.write(`${human}\n`);
}
