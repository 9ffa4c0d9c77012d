#!/usr/bin/env node
// Writes the README's speed table from the newest full run in bench/results (a run of
// `npm run bench` without --only), between the markers that enclose it. A later run on the same
// commit with --only (a workload measured again, say after outside load spoilt it) replaces that
// run's rows of its workloads, each row still its own run's figures and anchors. `--check` only
// says whether the README is current (exit 1 if not).
import { readFileSync, readdirSync, writeFileSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { runsOf, speedTable, memoryLine, machineLine } from '../bench/report.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'bench', 'results');
const START = '<!-- speed-table: written by scripts/speed-table.mjs from bench/results; edit those, not this -->';
const END = '<!-- /speed-table -->';

const runs = readdirSync(dir).filter((f) => f.endsWith('.md')).flatMap((f) => runsOf(join(dir, f)).map((run) => ({ run, file: f })));
const full = runs.filter(({ run }) => !/--only\b/.test(run.command)).sort((a, b) => a.run.date.localeCompare(b.run.date));
const latest = full[full.length - 1];
if (!latest) {
  console.error('speed-table: no full run in bench/results (run `npm run bench` without --only)');
  process.exit(1);
}
const { run, file } = latest;
// later partial runs of the same commit: their workloads' rows replace the full run's
let results = run.results.map((x) => ({ ...x, run: run.date }));
const again = runs.filter(({ run: r }) => r.commit === run.commit && r.date > run.date && /--only\b/.test(r.command)).sort((a, b) => a.run.date.localeCompare(b.run.date));
const redone = [];
for (const { run: r } of again) {
  // a workload's row is replaced only where the later run measured every library the row had
  const libs = (rs, w) => new Set(rs.filter((x) => x.workload === w).map((x) => x.lib));
  const own = [...new Set(r.results.map((x) => x.workload))].filter((w) => [...libs(results, w)].every((l) => libs(r.results, w).has(l)));
  if (!own.length) continue;
  // the rest of that run stays at hand, unshown, for the rows that compare with it (lnlstm-lm with its lstm-lm)
  results = [...results.filter((x) => !own.includes(x.workload)), ...r.results.map((x) => ({ ...x, run: r.date, hidden: !own.includes(x.workload) }))];
  redone.push(`${own.map((w) => `\`${w}\``).join(', ')} by \`${r.command}\` (${r.date})`);
}
const body = [
  START,
  `\`${run.command}\` on ${run.date.slice(0, 10)}, commit ${run.commit} (\`bench/results/${file}\`): ${machineLine(run.machine)}.${redone.length ? ` Measured again on the same commit: ${redone.join('; ')}.` : ''} x = this library / the anchor, whose own figure is in brackets; PyTorch and ONNX Runtime at the better of 1 and 2 threads.`,
  '',
  speedTable(results),
  '',
  memoryLine(results),
  END,
].join('\n');
const readme = join(root, 'README.md');
const text = readFileSync(readme, 'utf8');
const a = text.indexOf(START), b = text.indexOf(END);
if (a < 0 || b < a) {
  console.error(`speed-table: README.md has no markers (${START} ... ${END})`);
  process.exit(1);
}
const next = text.slice(0, a) + body + text.slice(b + END.length);
if (process.argv.includes('--check')) {
  if (next !== text) {
    console.error('speed-table: README.md is not current; run `node scripts/speed-table.mjs`');
    process.exit(1);
  }
  process.exit(0);
}
const tmp = `${readme}.tmp-${process.pid}`;
writeFileSync(tmp, next);
renameSync(tmp, readme);
console.log(`speed-table: README.md from bench/results/${file} (${run.date})`);
