/**
 * Files in Node: atomic writes (a temporary file in the same folder, flushed, then renamed over
 * the target, so a crash leaves the old file or the new one, never half of one) and reads with
 * clear errors. In browsers, use the byte functions (saveModel, loadModel, saveSafetensors, ...).
 *
 * A symbolic link is followed: the file it points to is replaced and the link stays. What is not
 * a regular file (a folder, a device such as /dev/full, a pipe) is refused, never replaced.
 * Temporary files are named `<file>.tmp-<pid>-<random>`; the next write to the same file removes
 * those a killed process left behind (their process is gone).
 */
import { loadModel, saveModel, loadSeq2Seq, saveSeq2Seq, modelClassOfFile, type LoadedModel, type LoadedSeq2Seq, type ModelClass } from './model-file.js';
import { exportOnnx, type OnnxExportOptions } from './onnx.js';
import type { SequenceModel } from '../nn/sequence-model.js';
import type { Seq2Seq } from '../nn/seq2seq.js';

interface Stats {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  dev: number;
  ino: number;
  mtimeMs: number;
}

interface Fs {
  openSync(p: string, flags: string): number;
  writeSync(fd: number, b: Uint8Array): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(a: string, b: string): void;
  unlinkSync(p: string): void;
  readFileSync(p: string): Uint8Array;
  statSync(p: string, o?: { throwIfNoEntry: boolean }): Stats | undefined;
  lstatSync(p: string, o?: { throwIfNoEntry: boolean }): Stats | undefined;
  readlinkSync(p: string): string;
  readdirSync(p: string): string[];
  accessSync(p: string, mode: number): void;
  constants: { W_OK: number; X_OK: number };
}

interface Path {
  resolve(...p: string[]): string;
  dirname(p: string): string;
  basename(p: string): string;
  join(...p: string[]): string;
}

interface Proc {
  pid: number;
  kill(pid: number, signal: number): void;
  getBuiltinModule?: (n: string) => unknown;
}

const proc = (): Proc | undefined => (globalThis as { process?: Proc }).process;

function node(who: string): { f: Fs; path: Path } {
  const p = proc();
  const f = p?.getBuiltinModule?.('node:fs') as Fs | undefined;
  const path = p?.getBuiltinModule?.('node:path') as Path | undefined;
  if (!f || !path) throw new Error(`${who}: file access needs Node.js (in a browser, use the byte functions)`);
  return { f, path };
}

/** Follows symbolic links (at most 40, as the kernel does) to the path a write would replace. */
function followLinks(f: Fs, path: Path, p: string, who: string): string {
  let cur = path.resolve(p);
  for (let hops = 0; hops < 40; hops++) {
    const st = f.lstatSync(cur, { throwIfNoEntry: false });
    if (!st || !st.isSymbolicLink()) return cur;
    cur = path.resolve(path.dirname(cur), f.readlinkSync(cur));
  }
  throw new Error(`${who}: ${p}: too many levels of symbolic links`);
}

/**
 * Checks that `path` can be written by `writeFileAtomic`, before any long work: its folder exists
 * and is writable, and whatever it names now (after following symbolic links) is a regular file
 * that may be replaced. Returns the path a write will replace (links followed, absolute).
 */
export function checkWritable(p: string, who = 'checkWritable'): string {
  const { f, path } = node(who);
  if (typeof p !== 'string' || p.length === 0) throw new Error(`${who}: the path must be a non-empty string, got ${JSON.stringify(p)}`);
  const target = followLinks(f, path, p, who);
  const shown = target === path.resolve(p) ? p : `${p} (a link to ${target})`;
  const st = f.statSync(target, { throwIfNoEntry: false });
  if (st && st.isDirectory()) throw new Error(`${who}: ${shown} is a folder, not a file`);
  if (st && !st.isFile()) throw new Error(`${who}: ${shown} is not a regular file (a device, pipe or socket); refusing to replace it`);
  const dir = path.dirname(target);
  const d = f.statSync(dir, { throwIfNoEntry: false });
  if (!d) throw new Error(`${who}: the folder ${dir} of ${shown} does not exist`);
  if (!d.isDirectory()) throw new Error(`${who}: ${dir} (the folder of ${shown}) is not a folder`);
  try {
    f.accessSync(dir, f.constants.W_OK | f.constants.X_OK);
  } catch {
    throw new Error(`${who}: the folder ${dir} of ${shown} is not writable`);
  }
  if (st) {
    try {
      f.accessSync(target, f.constants.W_OK);
    } catch {
      throw new Error(`${who}: ${shown} is read-only; refusing to replace it`);
    }
  }
  return target;
}

/**
 * Whether two paths name the same file: the same path once links are followed, or (existing
 * files) the same device and inode, as hard links are.
 */
export function sameFile(a: string, b: string): boolean {
  const { f, path } = node('sameFile');
  const ra = followLinks(f, path, a, 'sameFile');
  const rb = followLinks(f, path, b, 'sameFile');
  if (ra === rb) return true;
  const sa = f.statSync(ra, { throwIfNoEntry: false });
  const sb = f.statSync(rb, { throwIfNoEntry: false });
  return !!sa && !!sb && sa.dev === sb.dev && sa.ino === sb.ino;
}

/** `<base>.tmp-<pid>-<random>`: the pid of the writer. */
const TMP = /^(.*)\.tmp-(\d+)-[0-9a-z]+$/;

function alive(pid: number): boolean {
  const p = proc();
  if (!p || pid === p.pid) return pid === p?.pid;
  try {
    p.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM'; // exists, another user's
  }
}

/** Removes the temporary files of earlier writes to `target` whose process is gone. */
function removeStale(f: Fs, path: Path, target: string): void {
  const dir = path.dirname(target);
  const base = path.basename(target);
  let names: string[];
  try {
    names = f.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TMP.exec(name);
    if (!m || m[1] !== base || alive(Number(m[2]))) continue;
    try {
      f.unlinkSync(path.join(dir, name));
    } catch {
      /* gone already, or not ours to remove */
    }
  }
}

/**
 * Writes `bytes` to `path` atomically (temporary file, fsync, rename). A symbolic link is
 * followed (its target is replaced); a path that is not a regular file is refused.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const who = 'writeFileAtomic';
  const { f, path: P } = node(who);
  const target = checkWritable(path, who);
  removeStale(f, P, target);
  const tmp = `${target}.tmp-${proc()!.pid}-${Math.random().toString(36).slice(2, 10)}`;
  let fd = -1;
  try {
    fd = f.openSync(tmp, 'wx');
    let off = 0;
    while (off < bytes.length) off += f.writeSync(fd, bytes.subarray(off));
    f.fsyncSync(fd);
    f.closeSync(fd);
    fd = -1;
    f.renameSync(tmp, target);
  } catch (e) {
    if (fd >= 0) f.closeSync(fd);
    try {
      f.unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw new Error(`${who}: cannot write ${path}: ${(e as Error).message}`);
  }
}

/** Saves a model file to `path` atomically. */
export function saveModelFile(path: string, model: SequenceModel, extras: Record<string, unknown> = {}): void {
  writeFileAtomic(path, saveModel(model, extras));
}

/** The bytes of the file at `path`, or an error naming it. */
function readModelBytes(path: string, who: string): Uint8Array {
  try {
    return node(who).f.readFileSync(path);
  } catch (e) {
    throw new Error(`${who}: cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Loads a model file holding a SequenceModel from `path`. */
export function loadModelFile(path: string): LoadedModel {
  const bytes = readModelBytes(path, 'loadModelFile');
  try {
    return loadModel(bytes);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** Saves a Seq2Seq model file to `path` atomically. */
export function saveSeq2SeqFile(path: string, model: Seq2Seq, extras: Record<string, unknown> = {}): void {
  writeFileAtomic(path, saveSeq2Seq(model, extras));
}

/** Loads a model file holding a Seq2Seq from `path`. */
export function loadSeq2SeqFile(path: string): LoadedSeq2Seq {
  const bytes = readModelBytes(path, 'loadSeq2SeqFile');
  try {
    return loadSeq2Seq(bytes);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** The class of model in the file at `path`. */
export function modelClassOfPath(path: string): ModelClass {
  const bytes = readModelBytes(path, 'modelClassOfPath');
  try {
    return modelClassOfFile(bytes);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** Exports `model` to an ONNX file at `path`, atomically (see `exportOnnx` for the options). */
export async function exportOnnxFile(path: string, model: SequenceModel, options: OnnxExportOptions = {}): Promise<void> {
  checkWritable(path, 'exportOnnxFile');
  writeFileAtomic(path, await exportOnnx(model, options));
}
