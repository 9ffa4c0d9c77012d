#!/usr/bin/env node
// Writes the README's speed table from the newest full run in bench/results (a run of
// `npm run bench` without --only), between the markers that enclose it. `--check` only says
// whether the README is current (exit 1 if not).
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
const body = [
  START,
  `\`${run.command}\` on ${run.date.slice(0, 10)}, commit ${run.commit} (\`bench/results/${file}\`): ${machineLine(run.machine)}. x = this library / the anchor, whose own figure is in brackets; PyTorch and ONNX Runtime at the better of 1 and 2 threads.`,
  '',
  speedTable(run.results),
  '',
  memoryLine(run.results),
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
