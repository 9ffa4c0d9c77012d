#!/usr/bin/env node
// `npm run bench`: the workloads of BENCHMARKS.md on recurrent and, in the same run, on
// TensorFlow.js (wasm, cpu), brain.js (installed on demand into bench/peers) and PyTorch (when
// /usr/bin/python3 imports torch), each workload in its own process; a table of figures and
// ratios (recurrent / peer). Figures are only comparable within one run on one machine.
//
//   npm run bench [-- --json] [--seconds S] [--rounds N] [--only lstm-lm,gru-lm] [--no-peers] [--no-torch] [--no-ort] [--gemm] [--no-save]
//
// The inference workloads (lstm-infer-TxB) run beside onnxruntime-node on the ONNX file this
// library exports of the same model, once their outputs agree (bench/ort.mjs).
// Unless --no-save, the run is appended to its commit's results file,
// bench/results/DATE-COMMIT.md (bench/report.mjs); `node scripts/speed-table.mjs` then writes
// the README's speed table from the newest.
//
// --rounds N runs recurrent and PyTorch N times each, alternating, and keeps each one's best
// run: on a shared machine noise only ever slows a run down, and alternating gives both the
// same chances.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { machine, commit } from './machine.mjs';
import { saveRun, speedTable, memoryLine } from './report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const flag = (f) => argv.includes(f);
const opt = (f, d) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : d);
const json = flag('--json');
const seconds = Number(opt('--seconds', '4'));
const rounds = Math.max(1, Math.floor(Number(opt('--rounds', '1'))) || 1);
const INFER = ['lstm-infer-1x1', 'lstm-infer-64x1', 'lstm-infer-64x64', 'lstm-infer-256x8'];
const all = ['lstm-lm', 'gru-lm', 'rnn-lm', 'lstm-big', 'lstm-ts', 'lstm-long', 'lstm-gen', 'lstm-step', 'lstm-forward-1x1', ...INFER, 'mingru-lm', 'lnlstm-lm', 'ctc', 'seq2seq'];
const only = opt('--only', all.join(',')).split(',');
const log = (...a) => { if (!json) console.error(...a); };

function runJson(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: (seconds * 20 + 300) * 1000 });
  const lines = (r.stdout ?? '').split('\n').filter((l) => l.startsWith('{'));
  if (r.status !== 0 || lines.length === 0) {
    log(`  ${cmd} ${args.join(' ')}: failed (${r.status ?? r.signal}) ${(r.stderr ?? '').trim().split('\n').slice(-1)[0] ?? ''}`);
    return [];
  }
  return lines.map((l) => JSON.parse(l));
}

const havePeers = () => existsSync(join(here, 'peers', 'node_modules', '@tensorflow', 'tfjs')) && existsSync(join(here, 'peers', 'node_modules', 'brain.js'));
let peers = !flag('--no-peers');
if (peers && !havePeers()) {
  log('installing the peers (TensorFlow.js, brain.js) into bench/peers ...');
  const r = spawnSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: join(here, 'peers'), stdio: json ? 'ignore' : 'inherit' });
  if (r.status !== 0 || !havePeers()) {
    log('  could not install the peers; running without them');
    peers = false;
  }
}
const torch = !flag('--no-torch') && spawnSync('/usr/bin/python3', ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0;
if (!torch && !flag('--no-torch')) log('PyTorch not found (/usr/bin/python3 -c "import torch"): skipped');

/** Workloads with no PyTorch module to compare with (BENCHMARKS.md compares them with our own lstm-lm), or whose anchor is ONNX Runtime. */
const NO_TORCH = ['lnlstm-lm', ...INFER];
const ort = !flag('--no-ort') && existsSync(join(here, '..', 'node_modules', 'onnxruntime-node', 'package.json'));
// the model, input and output each inference run leaves for ONNX Runtime's (bench/ort.mjs)
const dumps = mkdtempSync(join(tmpdir(), 'recurrent-bench-'));
process.on('exit', () => rmSync(dumps, { recursive: true, force: true }));
/** Workloads the peers (TF.js, brain.js) have. */
const PEER_WORKLOADS = ['lstm-lm', 'gru-lm', 'rnn-lm', 'lstm-big', 'lstm-ts', 'lstm-gen'];
const results = [];
for (const w of only) {
  log(`${w}:`);
  // the best of `rounds` alternating runs of each variant
  const best = new Map();
  const keep = (rs) => {
    for (const r of rs) {
      const key = `${r.lib} ${r.variant}`;
      if (!best.has(key) || best.get(key).value < r.value) best.set(key, { ...r, rounds });
    }
  };
  for (let round = 0; round < rounds; round++) {
    const infer = INFER.includes(w);
    const ours = runJson(process.execPath, [join(here, 'ours.mjs'), w, String(seconds)], infer ? { INFER_DUMP: dumps } : {});
    keep(ours);
    if (infer && ort && ours.length) {
      for (const t of [1, 2]) keep(runJson(process.execPath, [join(here, 'ort.mjs'), dumps, String(t), String(seconds)]));
    }
    if (torch && !NO_TORCH.includes(w)) {
      for (const t of [1, 2]) keep(runJson('/usr/bin/python3', [join(here, 'torch_bench.py'), w, String(t), String(seconds)], { OPENBLAS_NUM_THREADS: '2' }));
    }
  }
  results.push(...best.values());
  if (peers && PEER_WORKLOADS.includes(w)) {
    for (const b of ['wasm', 'cpu']) {
      // too slow to be worth the minutes where BENCHMARKS.md lists no figure either
      if (w === 'lstm-big' || (b === 'cpu' && !['lstm-lm', 'lstm-ts', 'lstm-gen'].includes(w))) continue;
      results.push(...runJson(process.execPath, [join(here, 'peers', 'tfjs.mjs'), b, w, String(b === 'cpu' ? Math.min(seconds, 3) : seconds)]));
    }
    if (w === 'lstm-lm' || w === 'lstm-ts') results.push(...runJson(process.execPath, [join(here, 'peers', 'brain.cjs'), w, String(seconds)]));
  }
  for (const r of results.filter((x) => x.workload === w)) log(`  ${r.variant.padEnd(34)} ${String(r.value).padStart(8)} ${r.unit}${r.peakMB ? `  (peak ${r.peakMB} MB)` : ''}`);
}

if (flag('--gemm')) {
  const ours = runJson(process.execPath, [join(here, 'gemm.mjs'), '--json'], { RECURRENT_NUM_THREADS: '1' }).filter((r) => r.backend === 'wasm');
  const np = torch ? runJson('/usr/bin/python3', [join(here, 'torch_bench.py'), 'matmul', '1']) : [];
  for (const o of ours) {
    const n = np.find((x) => x.shape === o.shape);
    results.push({ lib: 'recurrent', workload: `matmul ${o.shape}`, value: o.gflops, unit: 'GFLOP/s (1 thread)', numpy: n?.gflops ?? null, ratio: n ? +(o.gflops / n.gflops).toFixed(3) : null });
  }
}

if (!flag('--no-save') && results.length) {
  const { commit: c, modified } = commit();
  const run = { date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC', commit: c, modified, command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`, machine: machine(), results };
  log(`\nsaved to ${saveRun(join(here, 'results'), run)}`);
}

if (json) {
  for (const r of results) console.log(JSON.stringify(r));
} else {
  console.log(`\nrecurrent against its anchors (x = recurrent / anchor, the anchor's figure in brackets; one run, one machine${rounds > 1 ? `; recurrent, PyTorch and ONNX Runtime: best of ${rounds} alternating runs each` : ''}):\n`);
  console.log(`${speedTable(results, only)}\n\n${memoryLine(results)}`);
  const mm = results.filter((r) => r.workload.startsWith('matmul'));
  if (mm.length) {
    console.log('\nmatmul, one thread, GFLOP/s (x = recurrent / numpy OpenBLAS):');
    console.table(mm.map((r) => ({ shape: r.workload.slice(7), recurrent: r.value, numpy: r.numpy ?? '-', ratio: r.ratio ?? '-' })));
  }
}
