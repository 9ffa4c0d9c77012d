// Runs every compiled test file (build/test/**/*.test.js) with node's test runner.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? find(p) : p.endsWith('.test.js') ? [p] : [];
  });
}
const filter = process.argv.slice(2);
const files = find('build/test').filter((f) => filter.length === 0 || filter.some((s) => f.includes(s))).sort();
if (files.length === 0) {
  console.error('no test files found under build/test');
  process.exit(1);
}
// the playground's test measures how long the page's thread is held: it runs alone, after the
// others, so that no other test file's work competes with the page for the cores
const alone = files.filter((f) => /browser[\\/]playground\.test\.js$/.test(f));
const together = files.filter((f) => !alone.includes(f));
// (node --test given no files would look for them everywhere: only with some)
if (together.length > 0) {
  const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...together], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
if (alone.length > 0) {
  const a = spawnSync(process.execPath, ['--test', ...alone], { stdio: 'inherit' });
  if (a.status !== 0) process.exit(a.status ?? 1);
}
// Node runs the relaxed-SIMD kernels (fused multiply-add); browsers without relaxed SIMD run the
// plain-SIMD build: the kernel conformance files again on that one
const kernelFiles = files.filter((f) => /conformance[\\/](backends|threads|batch-split)\.test\.js$/.test(f));
if (kernelFiles.length > 0) {
  console.log('# the kernel conformance tests again, on the plain-SIMD kernels (RECURRENT_RELAXED_SIMD=0)');
  const p = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...kernelFiles], { stdio: 'inherit', env: { ...process.env, RECURRENT_RELAXED_SIMD: '0' } });
  process.exit(p.status ?? 1);
}
