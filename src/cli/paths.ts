/// <reference types="node" />
/**
 * The CLI's files, checked before any work starts: every output can be written (its folder
 * exists and is writable, and it is not a folder or a device), and no output is one of the
 * inputs or another output, so a command never writes over the data it reads or over its own
 * checkpoint. Symbolic links are followed (see writeFileAtomic).
 */
import { existsSync, statSync } from 'node:fs';
import { checkWritable, sameFile } from '../io/files.js';

/** A path and the option that named it. */
export interface PathOption {
  flag: string;
  path: string | undefined;
}

const named = (o: PathOption): o is { flag: string; path: string } => typeof o.path === 'string';

/** Throws, naming the options, when an output cannot be written or is an input or another output. */
export function checkOutputs(outputs: PathOption[], inputs: PathOption[]): void {
  const outs = outputs.filter(named);
  const ins = inputs.filter(named);
  for (const o of outs) {
    try {
      checkWritable(o.path, o.flag);
    } catch (e) {
      throw new Error(`--${(e as Error).message}`);
    }
    for (const i of ins) {
      if (existsSync(i.path) && sameFile(o.path, i.path)) {
        throw new Error(`--${o.flag} ${o.path} is the same file as --${i.flag}: refusing to write over it; choose another path`);
      }
    }
  }
  for (let a = 0; a < outs.length; a++) {
    for (let b = a + 1; b < outs.length; b++) {
      if (sameFile(outs[a]!.path, outs[b]!.path)) throw new Error(`--${outs[a]!.flag} and --${outs[b]!.flag} are the same file (${outs[a]!.path}); each needs its own`);
    }
  }
}

/** Refuses an input that is missing, a folder, or empty; `what` names it in messages. */
export function checkInput(path: string, what: string): void {
  if (!existsSync(path)) throw new Error(`the ${what} ${path} does not exist`);
  const st = statSync(path);
  if (st.isDirectory()) throw new Error(`${path} is a folder, not a ${what}`);
}
