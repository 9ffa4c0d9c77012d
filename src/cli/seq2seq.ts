/// <reference types="node" />
/**
 * `recurrent train seq2seq` and `recurrent translate`: an encoder-decoder with attention from a
 * TSV file of pairs (source TAB target), each side read as characters, words or space-separated
 * symbols; token and sequence error rates on a held-out test part; both vocabularies are saved
 * with the model.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { Generator, manualSeed, type GeneratorState } from '../tensor/random.js';
import { readCheckpointInfo } from '../train/checkpoint.js';
import { noGrad } from '../autograd/engine.js';
import { Seq2Seq } from '../nn/seq2seq.js';
import type { LayerKind } from '../nn/rnn.js';
import { Adam } from '../optim/optimizers.js';
import { readPairs, SymbolVocabulary, pairBatch, pairBatches, type IdPair, type TextPair, type Tokenization } from '../data/pairs.js';
import { trainValTestSplit } from '../data/labelled.js';
import { fit } from '../train/fit.js';
import { editDistance } from '../train/metrics.js';
import { saveSeq2SeqFile, loadSeq2SeqFile, writeFileAtomic } from '../io/files.js';
import { UsageError, modelKind, num, intIn, intOpt, RANGES, trainingOptions, modelKindsUsage } from './args.js';
import { checkOutputs, checkInput } from './paths.js';
import { planResume, namedOptions, remedy, reportResult } from './run.js';

export const TRAIN_SEQ2SEQ_USAGE = `Usage: recurrent train seq2seq --data PAIRS.tsv --out MODEL [options]

Trains an encoder-decoder with attention on pairs, one per line: source TAB target. The
encoder (bidirectional by default) reads the source; the decoder starts from its final state and
reads, at each step, the previous target token and the attention context over the source. The
pairs are shuffled (seeded) into train, validation and test parts; batches group pairs of similar
lengths. The final line reports the test token error rate (edit distance over the target's
length) and sequence error rate, greedy.

Options:
  --data FILE              a TSV file: source TAB target on each line
  --out MODEL              the model file to write (atomically; a link is followed; never --data)
  --source-tokens KIND     char (default), word or space (symbols separated by spaces)
  --target-tokens KIND     char (default), word or space
  --model KIND             the encoder and decoder: ${modelKindsUsage('lstm')}
  --attention A            bahdanau (default), multihead or none
  --heads N                multihead attention's heads, 1-1024 (default 4)
  --unidirectional         an encoder that reads forwards only
  --layers N               encoder layers, 1-64 (default 1)
  --hidden H               decoder hidden size, 1-16384 (default 256; the encoder's is half of it when bidirectional)
  --embed E                embedding sizes, 1-16384 (default 64)
  --batch B                pairs per step, 1-65536 (default 64)
  --lr LR                  Adam's learning rate, above 0, at most 1000 (default 0.002)
  --clip C                 gradient norm clip, above 0, at most 1e6 (default 5)
  --steps N                optimizer steps, 0-1e9 (default 3000)
  --teacher-forcing R      the chance a step reads the true previous token, in [0, 1] (default 1)
  --val-fraction F         validation share, in (0, 1) (default 0.05)
  --test-fraction F        test share, in (0, 1) (default 0.05)
  --val-every N            validate every N steps, 1-1e9 (default 500)
  --patience N             stop after N validations without improvement, keeping the best weights (1-1e6)
  --checkpoint PATH        write a checkpoint there every --checkpoint-every steps (1-1e9, default 500)
  --resume                 continue from --checkpoint with its settings (--lr, --clip, --steps,
                           --val-every, --patience and --checkpoint-every may change; the others must match)
  --seed S                 seed, 0 to 2^53 - 1 (default 1)
  --json                   print {"steps", "token_error_rate", "sequence_error_rate", ...} on stdout

Training that diverges stops with exit code 1 and writes no model.
`;

export const TRANSLATE_USAGE = `Usage: recurrent translate --model MODEL (--text "..." [--text ...] | --data FILE) [--beam K] [--json]

Translates each --text (or each line of --data; of a TSV file, its first column) with a model
trained by 'recurrent train seq2seq': greedy, or beam search with --beam K (1-100). Prints one
translation per line, or with --json one line {"source", "target", "log_prob"} each.
`;

const TOKENIZATIONS: readonly Tokenization[] = ['char', 'word', 'space'];

function tokenization(v: string | undefined, name: string): Tokenization {
  const t = v ?? 'char';
  if (!TOKENIZATIONS.includes(t as Tokenization)) throw new UsageError(`--${name} must be char, word or space, got '${t}'`);
  return t as Tokenization;
}

/** What a seq2seq model file carries besides its weights. */
export interface Seq2SeqExtras {
  task: 'seq2seq';
  source: ReturnType<SymbolVocabulary['toJSON']>;
  target: ReturnType<SymbolVocabulary['toJSON']>;
}

/** A model file's Seq2Seq and its vocabularies; other models are refused. */
export function loadTranslator(path: string): { model: Seq2Seq; source: SymbolVocabulary; target: SymbolVocabulary } {
  checkInput(path, 'model file');
  const { model, extras } = loadSeq2SeqFile(path);
  if (extras['task'] !== 'seq2seq') throw new Error(`${path} is not a sequence-to-sequence model (trained with 'recurrent train seq2seq')`);
  const ex = extras as unknown as Seq2SeqExtras;
  return { model, source: SymbolVocabulary.fromJSON(ex.source), target: SymbolVocabulary.fromJSON(ex.target) };
}

/** Greedy (or beam) translations of source texts, in batches of 128; symbols outside the vocabulary are an error naming them. */
export function translateTexts(model: Seq2Seq, source: SymbolVocabulary, target: SymbolVocabulary, texts: readonly string[], beam = 1): { target: string; logProb: number; tokens: number[] }[] {
  const ids = texts.map((t, i) => {
    const e = source.encode(t, { who: `translate: text ${i + 1}` });
    if (e.length === 0) throw new Error(`translate: text ${i + 1} holds no symbols`);
    return e;
  });
  const out: { target: string; logProb: number; tokens: number[] }[] = [];
  noGrad(() => {
    for (let i = 0; i < ids.length; i += 128) {
      const chunk = ids.slice(i, i + 128).map((s): IdPair => ({ source: s, target: new Int32Array(0) }));
      const b = pairBatch(chunk, chunk.map((_, k) => k), { sourcePad: source.pad, pad: target.pad, bos: target.bos, eos: target.eos });
      for (const d of model.translate(b.source, { sourceLengths: b.sourceLengths, beamWidth: beam })) out.push({ target: target.decode(d.tokens), logProb: d.logProb, tokens: d.tokens });
    }
  });
  return out;
}

/** Token error rate (edit distance over the references' total length) and sequence error rate of a model on pairs. */
export function evaluateTranslator(model: Seq2Seq, source: SymbolVocabulary, target: SymbolVocabulary, pairs: readonly TextPair[], beam = 1): { tokenErrorRate: number; sequenceErrorRate: number } {
  const got = translateTexts(model, source, target, pairs.map((p) => p.source), beam);
  let edits = 0, length = 0, wrong = 0;
  pairs.forEach((p, i) => {
    const ref = SymbolVocabulary.split(p.target, target.tokenization);
    const hyp = SymbolVocabulary.split(got[i]!.target, target.tokenization);
    const d = editDistance(hyp, ref);
    edits += d;
    length += ref.length;
    if (d > 0) wrong++;
  });
  return { tokenErrorRate: edits / Math.max(1, length), sequenceErrorRate: wrong / pairs.length };
}

export function trainSeq2Seq(args: string[]): void {
  const { values } = parseArgs({
    args, strict: true, options: {
      data: { type: 'string' }, out: { type: 'string' }, 'source-tokens': { type: 'string' }, 'target-tokens': { type: 'string' }, model: { type: 'string' },
      attention: { type: 'string' }, heads: { type: 'string' }, unidirectional: { type: 'boolean' }, layers: { type: 'string' }, hidden: { type: 'string' },
      embed: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' }, clip: { type: 'string' }, steps: { type: 'string' },
      'teacher-forcing': { type: 'string' }, 'val-fraction': { type: 'string' }, 'test-fraction': { type: 'string' }, 'val-every': { type: 'string' },
      patience: { type: 'string' }, checkpoint: { type: 'string' }, 'checkpoint-every': { type: 'string' }, resume: { type: 'boolean' },
      seed: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(TRAIN_SEQ2SEQ_USAGE);
    return;
  }
  for (const k of ['data', 'out'] as const) if (!values[k]) throw new UsageError(`train seq2seq: --${k} is required\n\n${TRAIN_SEQ2SEQ_USAGE}`);
  const attention = values.attention ?? 'bahdanau';
  if (!['bahdanau', 'multihead', 'none'].includes(attention)) throw new UsageError(`--attention must be bahdanau, multihead or none, got '${attention}'`);
  const given = {
    ...trainingOptions(values, { lr: 2e-3, clip: 5, steps: 3000 }),
    'source-tokens': tokenization(values['source-tokens'], 'source-tokens'),
    'target-tokens': tokenization(values['target-tokens'], 'target-tokens'),
    model: modelKind(values.model, 'lstm'), attention, bidirectional: !values.unidirectional,
    heads: intIn(values.heads, 'heads', 4, 1, 1024),
    layers: intOpt(values.layers, 'layers', 1, 'layers'),
    hidden: intOpt(values.hidden, 'hidden', 256, 'size'),
    embed: intOpt(values.embed, 'embed', 64, 'size'),
    batch: intOpt(values.batch, 'batch', 64, 'batch'),
    'teacher-forcing': num(values['teacher-forcing'], 'teacher-forcing', 1, (x) => x >= 0 && x <= 1, 'a number in [0, 1]'),
    'val-fraction': num(values['val-fraction'], 'val-fraction', 0.05, (x) => x > 0 && x < 1, 'in (0, 1)'),
    'test-fraction': num(values['test-fraction'], 'test-fraction', 0.05, (x) => x > 0 && x < 1, 'in (0, 1)'),
    'val-every': intIn(values['val-every'], 'val-every', 500, 1, RANGES.every[1]),
    patience: values.patience === undefined ? 0 : intOpt(values.patience, 'patience', 0, 'patience'),
  };
  if (given.bidirectional && given.hidden % 2 !== 0) throw new UsageError(`--hidden must be even with a bidirectional encoder (each direction gets half), got ${given.hidden}`);
  if (attention === 'multihead' && given.hidden % given.heads !== 0) throw new UsageError(`--hidden (${given.hidden}) must be divisible by --heads (${given.heads})`);
  if (given['val-fraction'] + given['test-fraction'] >= 1) throw new UsageError(`--val-fraction plus --test-fraction must be below 1, got ${given['val-fraction'] + given['test-fraction']}`);
  if (values.resume && !values.checkpoint) throw new UsageError('--resume needs --checkpoint PATH');
  checkOutputs([{ flag: 'out', path: values.out }, { flag: 'checkpoint', path: values.checkpoint }], [{ flag: 'data', path: values.data }]);
  const plan = planResume(values.checkpoint, values.resume, given, namedOptions(values), ['lr', 'clip', 'steps', 'val-every', 'patience', 'checkpoint-every']);
  const c = plan.config;
  checkInput(values.data!, 'data file');
  const pairs = readPairs(readFileSync(values.data!, 'utf8'), values.data);
  if (pairs.length < 10) throw new Error(`${values.data}: ${pairs.length} pairs; a train / validation / test split needs at least 10`);
  const split = trainValTestSplit(pairs, { valFraction: c['val-fraction'], testFraction: c['test-fraction'] }, new Generator(c.seed));
  const src = SymbolVocabulary.fromTexts(split.train.map((p) => p.source), c['source-tokens'] as Tokenization);
  const tgt = SymbolVocabulary.fromTexts(split.train.map((p) => p.target), c['target-tokens'] as Tokenization);
  // validation and test pairs may hold symbols training never saw: they read as unknown
  const encode = (list: readonly TextPair[]): IdPair[] => list.map((p) => ({ source: src.encode(p.source, { unknown: 'map' }), target: tgt.encode(p.target, { unknown: 'map' }) }))
    .filter((p) => p.source.length > 0);
  const train = encode(split.train), val = encode(split.val);
  manualSeed(c.seed);
  const H = c.hidden;
  const model = new Seq2Seq({
    sourceVocab: src.size, sourceEmbedding: c.embed, targetVocab: tgt.size, targetEmbedding: c.embed,
    encoder: { kind: c.model as LayerKind, hiddenSize: c.bidirectional ? H / 2 : H, numLayers: c.layers, bidirectional: c.bidirectional },
    decoder: { kind: c.model as LayerKind, hiddenSize: H },
    attention: c.attention as 'bahdanau', ...(c.attention === 'multihead' ? { numHeads: c.heads } : {}),
    bos: tgt.bos, eos: tgt.eos, pad: tgt.pad,
  });
  const optimizer = new Adam(model.parameters(), { lr: c.lr });
  process.stderr.write(`${values.data}: ${pairs.length} pairs; train ${train.length}, validation ${val.length}, test ${split.test.length}; ${src.size} source and ${tgt.size} target symbols; ${String(c.model).toUpperCase()} encoder-decoder, ${model.numParameters()} parameters\n`);
  const ids = { sourcePad: src.pad, pad: tgt.pad, bos: tgt.bos, eos: tgt.eos };
  const batches = pairBatches(train, c.batch, new Generator(c.seed + 2), ids);
  const lossOf = (b: (typeof batches)[number], teacher: number, rng?: Generator) => model.loss(b, { teacherForcing: teacher, generator: rng });
  const valBatches = pairBatches(val, 128, new Generator(c.seed + 3), ids);
  const validate = (): number => {
    let total = 0, count = 0;
    for (const b of valBatches) {
      let n = 0;
      for (const v of b.targetOut.data) if (v !== tgt.pad) n++;
      total += lossOf(b, 1).item() * n;
      count += n;
    }
    return total / count;
  };
  // the draws of teacher forcing below 1 continue where a checkpoint left them, so a resume is exact
  const teacherRng = new Generator(c.seed + 4);
  if (plan.bytes) {
    const saved = readCheckpointInfo(plan.bytes).extras['teacher'];
    if (saved) teacherRng.setState(saved as GeneratorState);
  }
  const result = fit({
    model, optimizer, steps: c.steps, rng: new Generator(c.seed + 1), clipNorm: c.clip, itemsPerStep: c.batch, progress: true, reportEvery: 50,
    batch: (_s, r) => batches[r.int(batches.length)]!,
    loss: (b) => lossOf(b, c['teacher-forcing'], teacherRng),
    validate, validateEvery: c['val-every'],
    earlyStopping: c.patience ? { patience: c.patience } : undefined,
    checkpoint: values.checkpoint ? { every: c['checkpoint-every'], write: (b) => writeFileAtomic(values.checkpoint!, b), extras: () => ({ config: c, teacher: teacherRng.getState() }) } : undefined,
    resumeFrom: plan.bytes,
    onResume: () => (optimizer.lr = c.lr),
    // guessing uniformly among the target symbols costs log(V) nats a token
    divergence: { baseline: Math.log(tgt.size) },
    remedy: remedy(c.lr, c.clip),
  });
  const r = evaluateTranslator(model, src, tgt, split.test.filter((p) => src.encode(p.source, { unknown: 'map' }).length > 0).map((p) => ({ source: mapUnknown(src, p.source), target: p.target })));
  const extras: Seq2SeqExtras = { task: 'seq2seq', source: src.toJSON(), target: tgt.toJSON() };
  saveSeq2SeqFile(values.out!, model, extras as unknown as Record<string, unknown>);
  process.stderr.write(`saved ${values.out}; translate with: npx recurrent translate --model ${values.out} --text "..."\n`);
  reportResult(values.json, `test token error rate ${(100 * r.tokenErrorRate).toFixed(2)}%, sequence error rate ${(100 * r.sequenceErrorRate).toFixed(2)}% on ${split.test.length} pairs`, {
    steps: result.steps, stopped_early: result.stoppedEarly, best_step: result.bestStep, val_loss: result.bestValLoss, train_loss: result.trainLoss,
    token_error_rate: r.tokenErrorRate, sequence_error_rate: r.sequenceErrorRate, test: split.test.length, seconds: result.seconds, out: values.out,
  });
}

/** A test source with the symbols training never saw left out (the test part is scored as it is read). */
function mapUnknown(v: SymbolVocabulary, text: string): string {
  return v.decode(v.encode(text, { unknown: 'map' }).filter((id) => id !== v.unknownId));
}

export function translate(args: string[]): void {
  const { values } = parseArgs({
    args, strict: true, options: {
      model: { type: 'string' }, text: { type: 'string', multiple: true }, data: { type: 'string' }, beam: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(TRANSLATE_USAGE);
    return;
  }
  if (!values.model) throw new UsageError(`translate: --model is required\n\n${TRANSLATE_USAGE}`);
  if (!values.text?.length && !values.data) throw new UsageError(`translate: --text or --data is required\n\n${TRANSLATE_USAGE}`);
  if (values.text?.length && values.data) throw new UsageError('translate: give --text or --data, not both');
  const beam = intIn(values.beam, 'beam', 1, 1, 100);
  let texts = values.text ?? [];
  if (values.data) {
    checkInput(values.data, 'data file');
    texts = readFileSync(values.data, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/).map((l) => l.split('\t')[0]!.trim()).filter((l) => l.length > 0);
    if (texts.length === 0) throw new Error(`${values.data}: no lines to translate`);
  }
  const { model, source, target } = loadTranslator(values.model);
  const out = translateTexts(model, source, target, texts, beam);
  out.forEach((o, i) => {
    if (values.json) process.stdout.write(`${JSON.stringify({ source: texts[i], target: o.target, log_prob: o.logProb })}\n`);
    else process.stdout.write(`${o.target}\n`);
  });
}
