#!/usr/bin/env node
// `npm run bench`: the workloads of BENCHMARKS.md on recurrent and, in the same run, on
// TensorFlow.js (wasm, cpu), brain.js (installed on demand into bench/peers) and PyTorch (when
// /usr/bin/python3 imports torch), each workload in its own process; a table of figures and
// ratios (recurrent / peer). Figures are only comparable within one run on one machine.
//
//   npm run bench [-- --json] [--seconds S] [--rounds N] [--only lstm-lm,gru-lm] [--no-peers] [--no-torch] [--gemm]
//
// --rounds N runs recurrent and PyTorch N times each, alternating, and keeps each one's best
// run: on a shared machine noise only ever slows a run down, and alternating gives both the
// same chances.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const flag = (f) => argv.includes(f);
const opt = (f, d) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : d);
const json = flag('--json');
const seconds = Number(opt('--seconds', '4'));
const rounds = Math.max(1, Math.floor(Number(opt('--rounds', '1'))) || 1);
const all = ['lstm-lm', 'gru-lm', 'rnn-lm', 'lstm-big', 'lstm-ts', 'lstm-gen', 'mingru-lm', 'lnlstm-lm', 'ctc', 'seq2seq'];
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

/** Workloads with no PyTorch module to compare with (BENCHMARKS.md compares them with our own lstm-lm). */
const NO_TORCH = ['lnlstm-lm'];
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
    keep(runJson(process.execPath, [join(here, 'ours.mjs'), w, String(seconds)]));
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

if (json) {
  for (const r of results) console.log(JSON.stringify(r));
} else {
  const best = (w, lib) => results.filter((r) => r.workload === w && r.lib === lib).sort((a, b) => b.value - a.value)[0];
  const rows = [];
  for (const w of only) {
    const ours = best(w, 'recurrent');
    if (!ours) continue;
    const row = { workload: w, unit: ours.unit, recurrent: ours.value };
    for (const [lib, label] of [['pytorch', 'PyTorch (best 1-2t)'], ['tfjs-wasm', 'TF.js wasm'], ['tfjs-cpu', 'TF.js cpu'], ['brain.js', 'brain.js']]) {
      const p = best(w, lib);
      row[label] = p ? `${p.value} (x${(ours.value / p.value).toFixed(2)})` : '-';
    }
    // lstm-gen: TF.js also through its layers API (the other columns: its hand-written core-op cell)
    const layers = best(w, 'tfjs-wasm-layers');
    if (layers) row['TF.js wasm layers'] = `${layers.value} (x${(ours.value / layers.value).toFixed(2)})`;
    if (w === 'lstm-lm') row['peak MB (ours / PyTorch)'] = `${ours.peakMB} / ${best(w, 'pytorch')?.peakMB ?? '-'}`;
    // the new cells against this library's own LSTM, same shapes, same run
    const lstm = best('lstm-lm', 'recurrent');
    if ((w === 'mingru-lm' || w === 'lnlstm-lm') && lstm) row['x our lstm-lm'] = (ours.value / lstm.value).toFixed(2);
    rows.push(row);
  }
  console.log(`\nrecurrent vs peers (x = recurrent / peer; one run, one machine${rounds > 1 ? `; recurrent and PyTorch: best of ${rounds} alternating runs each` : ''}):`);
  console.table(rows);
  const mm = results.filter((r) => r.workload.startsWith('matmul'));
  if (mm.length) {
    console.log('\nmatmul, one thread, GFLOP/s (x = recurrent / numpy OpenBLAS):');
    console.table(mm.map((r) => ({ shape: r.workload.slice(7), recurrent: r.value, numpy: r.numpy ?? '-', ratio: r.ratio ?? '-' })));
  }
}
