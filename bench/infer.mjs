#!/usr/bin/env node
// Inference as `lstm-infer` builds it (Embedding 64 -> LSTM H -> Linear 65, `SequenceModel.forward`
// under `noGrad`) at one shape: the best of 7 timed repeats after 200 warm-up calls, as
// microseconds a step, tokens a second and multiply-adds a second (recurrent product and head).
//   node bench/infer.mjs T B [--hidden H] [--threads N] [--fixed]
// --threads sets the wasm threads; --fixed keeps every call on them (the adaptive choice off).
import { SequenceModel, randint, noGrad, manualSeed, setNumThreads, setAdaptiveThreads } from '../dist/index.js';

const argv = process.argv.slice(2);
const opt = (f, d) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : d);
const [T, B] = argv.slice(0, 2).map(Number);
const H = Number(opt('--hidden', '256'));
for (const [name, v, hi] of [['T', T, 100000], ['B', B, 4096], ['--hidden', H, 4096]]) {
  if (!Number.isInteger(v) || v < 1 || v > hi) throw new Error(`bench/infer: ${name} must be an integer from 1 to ${hi}, got ${String(v)}`);
}
if (argv.includes('--threads')) setNumThreads(Number(opt('--threads')));
if (argv.includes('--fixed')) setAdaptiveThreads(false);
manualSeed(0);
const V = 65, E = 64;
const model = new SequenceModel({ embedding: { numEmbeddings: V, embeddingDim: E }, rnn: { kind: 'lstm', inputSize: E, hiddenSize: H }, head: { outFeatures: V } });
model.eval();
const x = randint(0, V, [T, B], { dtype: 'int32' });
for (let i = 0; i < 200; i++) noGrad(() => model.forward(x));
const calls = Math.max(5, Math.round(20000 / (T * B)));
let best = Infinity;
for (let r = 0; r < 7; r++) {
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) noGrad(() => model.forward(x));
  best = Math.min(best, (performance.now() - t0) / calls);
}
const macs = T * B * (4 * H * H + H * V);
console.log(JSON.stringify({ T, B, H, usPerStep: +((1000 * best) / T).toFixed(2), tokensPerSecond: Math.round((T * B * 1000) / best), gMacsPerSecond: +(macs / best / 1e6).toFixed(1) }));
