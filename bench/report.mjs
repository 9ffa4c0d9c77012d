// A benchmark run as its results file and as the README's speed table. One file per measured
// commit, bench/results/DATE-COMMIT.md; each run on that commit is a section of it: the machine,
// the command, the table, and the figures themselves as one JSON line (what speed-table reads).
import { existsSync, readFileSync, readdirSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

/** What each workload measures, as the table names it (BENCHMARKS.md has the details). */
export const WORKLOADS = {
  'lstm-lm': 'LSTM 256 language model, training (T=64, B=32)',
  'gru-lm': 'GRU 256 language model, training',
  'rnn-lm': 'RNN 256 language model, training',
  'lstm-big': '2-layer LSTM 512, training',
  'lstm-ts': 'LSTM 32 forecaster, training (T=24, B=64)',
  'lstm-long': 'LSTM 256, training on long sequences (T=1024, B=8)',
  'lstm-gen': 'generation, `stepper.generate` (100 tokens a call)',
  'lstm-step': 'generation written the PyTorch way: `LSTM.forward` a token at a time, head, softmax, draw',
  'lstm-forward-1x1': 'one `LSTM.forward` at T=1, B=1 (64 -> 256), state carried, no gradients: calls/s (1e6 / value = us a call)',
  'lstm-infer-1x1': 'inference, `SequenceModel.forward`, T=1, B=1',
  'lstm-infer-64x1': 'inference, T=64, B=1',
  'lstm-infer-64x64': 'inference, T=64, B=64',
  'lstm-infer-256x8': 'inference, T=256, B=8',
  'mingru-lm': 'MinGRU in `lstm-lm`\'s shapes, training',
  'lnlstm-lm': 'LayerNormLSTM in `lstm-lm`\'s shapes, training',
  ctc: 'CTC loss and gradient (T=100, N=32, C=30)',
  seq2seq: 'encoder-decoder with Bahdanau attention, training',
};

/** The anchors, each a column: [lib as the harnesses name it, column title]. */
const ANCHORS = [['pytorch', 'PyTorch'], ['onnxruntime', 'onnxruntime-node'], ['tfjs-wasm', 'TF.js wasm'], ['tfjs-wasm-layers', 'TF.js wasm, layers API'], ['brain.js', 'brain.js']];

/** The best figure of a workload and library among the shown results (or all, with `hidden`). */
const best = (results, w, lib, hidden = false) => results.filter((r) => r.workload === w && r.lib === lib && (hidden || !r.hidden)).sort((a, b) => b.value - a.value)[0];
const short = (v) => (v >= 1e4 ? `${(v / 1000).toFixed(1)}K` : String(v));

/** The markdown table of a run: each workload's figure and its ratio to each anchor (x = recurrent / anchor). */
export function speedTable(results, order = Object.keys(WORKLOADS)) {
  const lines = ['| workload | recurrent | ' + ANCHORS.map(([, t]) => t).join(' | ') + ' |', '|---|---|' + ANCHORS.map(() => '---|').join('')];
  for (const w of order) {
    const ours = best(results, w, 'recurrent');
    if (!ours) continue;
    const cells = ANCHORS.map(([lib]) => {
      const p = best(results, w, lib);
      return p ? `x${(ours.value / p.value).toFixed(2)} (${short(p.value)})` : '-';
    });
    // the new cells have no PyTorch module: against this library's own LSTM (of the same run where rows come from several)
    const lstm = best(results.filter((r) => r.run === ours.run), 'lstm-lm', 'recurrent', true);
    if (w === 'lnlstm-lm' && lstm) cells[0] = `x${(ours.value / lstm.value).toFixed(2)} of recurrent's lstm-lm`;
    lines.push(`| \`${w}\`: ${WORKLOADS[w] ?? ''} | ${short(ours.value)} ${ours.unit} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Peak memory (each process's maxRSS) where BENCHMARKS.md compares it. */
export function memoryLine(results) {
  const parts = [];
  for (const [w, lib, name] of [['lstm-lm', 'pytorch', 'PyTorch'], ['lstm-infer-64x64', 'onnxruntime', 'onnxruntime-node']]) {
    const ours = best(results, w, 'recurrent');
    const peer = results.filter((r) => r.workload === w && r.lib === lib && !r.hidden).sort((a, b) => a.peakMB - b.peakMB)[0];
    if (ours && peer) parts.push(`\`${w}\` ${ours.peakMB} MB (${name} ${peer.peakMB} MB)`);
  }
  return parts.length ? `Peak memory: ${parts.join('; ')}.` : '';
}

/** One line on the machine and the versions. */
export function machineLine(m) {
  const v = [`Node ${m.node}`, m.pytorch && `PyTorch ${m.pytorch}`, m.onnxruntime && `onnxruntime-node ${m.onnxruntime}`, m.tfjs && `TensorFlow.js ${m.tfjs}`, m.brainjs && `brain.js ${m.brainjs}`].filter(Boolean);
  return `${m.cores} cores of "${m.cpu}", ${m.memoryGiB} GiB; ${v.join(', ')}`;
}

/** Every figure of a run (each variant's best of the rounds), as the harnesses printed them. */
function figures(results) {
  return results.map((r) => `  ${r.workload.padEnd(18)} ${`${r.variant}`.padEnd(36)} ${String(r.value).padStart(8)} ${r.unit}${r.peakMB ? `  (peak ${r.peakMB} MB)` : ''}`).join('\n');
}

/** Appends a run to its commit's results file (created if new); returns the file's path. */
export function saveRun(dir, run) {
  const day = run.date.slice(0, 10);
  const existing = readdirSync(dir).find((f) => f.endsWith(`-${run.commit}.md`));
  const path = join(dir, existing ?? `${day}-${run.commit}.md`);
  const head = existing ? readFileSync(path, 'utf8') : `# Benchmarks of ${run.commit}\n\nEach section is one run of \`npm run bench\` on this commit${run.modified ? ' (some with changes not yet committed, as each says)' : ''}; ratios compare figures of the same run only.\n`;
  const section = [
    '', `## ${run.date}: \`${run.command}\``, '',
    `Machine: ${machineLine(run.machine)}.${run.modified ? ' The work tree had changes not yet committed.' : ''}`, '',
    'x = recurrent / anchor, the anchor\'s own figure in brackets (PyTorch and ONNX Runtime: the better of 1 and 2 threads).', '',
    speedTable(run.results), '', memoryLine(run.results), '', '```', figures(run.results), '```', '',
    '<!-- figures: one JSON line, read by scripts/speed-table.mjs -->',
    `<!-- ${JSON.stringify(run)} -->`, '',
  ].join('\n');
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, head + section);
  renameSync(tmp, path);
  return path;
}

/** Every run recorded in a results file, oldest first. */
export function runsOf(path) {
  if (!existsSync(path)) return [];
  const out = [];
  for (const m of readFileSync(path, 'utf8').matchAll(/^<!-- (\{.*\}) -->$/gm)) out.push(JSON.parse(m[1]));
  return out;
}
