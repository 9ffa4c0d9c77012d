/**
 * Files in Node: atomic writes (a temporary file in the same folder, flushed, then renamed over
 * the target, so a crash leaves the old file or the new one, never half of one) and reads with
 * clear errors. In browsers, use the byte functions (saveModel, loadModel, saveSafetensors, ...).
 */
import { loadModel, saveModel, type LoadedModel } from './model-file.js';
import { exportOnnx } from './onnx.js';
import type { SequenceModel } from '../nn/sequence-model.js';

interface Fs {
  openSync(p: string, flags: string): number;
  writeSync(fd: number, b: Uint8Array): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(a: string, b: string): void;
  unlinkSync(p: string): void;
  readFileSync(p: string): Uint8Array;
}

function fs(who: string): Fs {
  const proc = (globalThis as { process?: { getBuiltinModule?: (n: string) => unknown } }).process;
  const m = proc?.getBuiltinModule?.('node:fs') as Fs | undefined;
  if (!m) throw new Error(`${who}: file access needs Node.js (in a browser, use the byte functions)`);
  return m;
}

/** Writes `bytes` to `path` atomically (temporary file, fsync, rename). */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const f = fs('writeFileAtomic');
  const tmp = `${path}.tmp-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  let fd = -1;
  try {
    fd = f.openSync(tmp, 'w');
    let off = 0;
    while (off < bytes.length) off += f.writeSync(fd, bytes.subarray(off));
    f.fsyncSync(fd);
    f.closeSync(fd);
    fd = -1;
    f.renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) f.closeSync(fd);
    try {
      f.unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw new Error(`writeFileAtomic: cannot write ${path}: ${(e as Error).message}`);
  }
}

/** Saves a model file to `path` atomically. */
export function saveModelFile(path: string, model: SequenceModel, extras: Record<string, unknown> = {}): void {
  writeFileAtomic(path, saveModel(model, extras));
}

/** Loads a model file from `path`. */
export function loadModelFile(path: string): LoadedModel {
  let bytes: Uint8Array;
  try {
    bytes = fs('loadModelFile').readFileSync(path);
  } catch (e) {
    throw new Error(`loadModelFile: cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return loadModel(bytes);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** Exports `model` to an ONNX file at `path`, atomically. */
export async function exportOnnxFile(path: string, model: SequenceModel): Promise<void> {
  writeFileAtomic(path, await exportOnnx(model));
}
