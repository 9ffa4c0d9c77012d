// Generation on one thread against two, on an idle machine and beside a busy-loop competitor
// (another process spinning on one core): the pool must never lose by more than 10%.
//
//   node bench/contention.mjs [ROUNDS (5)]
//
// For each of `generate --length 20000` (sampling in the kernel) and with `--top-k 5` (a step
// call a token, the draw in JavaScript), alternating runs with RECURRENT_NUM_THREADS=1 and 2:
//   cli:     the whole command, a fresh process each run (the pool's start included);
//   library: the generation alone, in a process whose pool was started first (setNumThreads),
//            three runs a process.
// Prints one JSON line per case: medians (ms) and the ratio two threads / one thread.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SequenceModel, CharVocabulary, saveModelFile, manualSeed } from '../dist/index.js';

const rounds = Number(process.argv[2] ?? 5);
if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 100)) {
  console.error(`contention.mjs: ROUNDS must be an integer from 1 to 100, got '${process.argv[2]}'`);
  process.exit(2);
}
const root = join(fileURLToPath(import.meta.url), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'recurrent-contention-'));
const model = join(dir, 'lm.safetensors');
// lstm-gen's shapes: Embedding(V, 64) -> LSTM(64, 256) -> Linear(256, V); the weights do not matter
manualSeed(1);
const vocab = CharVocabulary.fromText('abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ.,;:!?\'"-()\n0123456789');
saveModelFile(model, new SequenceModel({
  embedding: { numEmbeddings: vocab.size, embeddingDim: 64 }, rnn: { kind: 'lstm', inputSize: 64, hiddenSize: 256 }, head: { outFeatures: vocab.size },
}), { task: 'text', vocab: vocab.toJSON(), seqLen: 64 });

const LIBRARY = `
const { loadModelFile, Generator, noGrad, sampleLogits, setNumThreads } = await import(${JSON.stringify(join(root, 'dist', 'internal.js'))});
const [threads, topK] = process.argv.slice(1).map(Number);
setNumThreads(threads);
const { model } = loadModelFile(${JSON.stringify(model)});
const times = [];
for (let r = 0; r < 3; r++) {
  const st = model.stepper();
  const rng = new Generator(1);
  const opts = { temperature: 0.8, topK, topP: 1 };
  const t0 = performance.now();
  noGrad(() => {
    let [logits, state] = st.prime([1, 2, 3], null);
    let tok = sampleLogits(logits.data, opts, rng);
    for (let done = 1; done < 20000;) {
      const n = Math.min(4096, 20000 - done);
      let ids;
      [ids, state] = st.generate(tok, n, state, opts, rng);
      tok = ids[n - 1];
      done += n;
    }
  });
  times.push(performance.now() - t0);
  st.dispose();
}
console.log(JSON.stringify(times));`;

const run = (kind, threads, topK) => {
  const env = { ...process.env, RECURRENT_NUM_THREADS: String(threads) };
  if (kind === 'library') return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', LIBRARY, String(threads), String(topK)], { env, encoding: 'utf8' }));
  const t0 = performance.now();
  execFileSync(process.execPath, [join(root, 'dist', 'cli', 'index.js'), 'generate', '--model', model, '--length', '20000', '--seed', '1', '--top-k', String(topK)], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  return [performance.now() - t0];
};
const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];

try {
  for (const busy of [false, true]) {
    const competitor = busy ? spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }) : null;
    if (competitor) await new Promise((r) => setTimeout(r, 300));
    try {
      for (const kind of ['cli', 'library']) {
        for (const topK of [0, 5]) {
          const ms = { 1: [], 2: [] };
          for (let r = 0; r < rounds; r++) for (const t of [1, 2]) ms[t].push(...run(kind, t, topK));
          const one = median(ms[1]), two = median(ms[2]);
          console.log(JSON.stringify({ machine: busy ? 'busy' : 'idle', kind, case: `generate --length 20000${topK ? ` --top-k ${topK}` : ''}`, oneThreadMs: Math.round(one), twoThreadsMs: Math.round(two), ratio: +(two / one).toFixed(3), runs: ms[1].length }));
        }
      }
    } finally {
      competitor?.kill();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
