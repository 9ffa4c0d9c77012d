// The machine and the versions a benchmark run measured, for its results file.
import { cpus, totalmem } from 'node:os';
import { readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const version = (pkg) => {
  for (const base of [join(root, 'node_modules'), join(root, 'bench', 'peers', 'node_modules')]) {
    const p = join(base, pkg, 'package.json');
    if (existsSync(p)) return JSON.parse(readFileSync(p, 'utf8')).version;
  }
  return null;
};

/** CPU model and count, memory, and the versions of Node and of every anchor found. */
export function machine() {
  const torch = spawnSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.versions.node,
    pytorch: torch.status === 0 ? torch.stdout.trim() : null,
    onnxruntime: version('onnxruntime-node'),
    tfjs: version('@tensorflow/tfjs'),
    brainjs: version('brain.js'),
  };
}

/** The checked-out commit (short), and whether the work tree differs from it. */
export function commit() {
  const head = spawnSync('git', ['rev-parse', '--short=7', 'HEAD'], { cwd: root, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' });
  return { commit: head.status === 0 ? head.stdout.trim() : 'unknown', modified: dirty.status === 0 && dirty.stdout.trim() !== '' };
}
