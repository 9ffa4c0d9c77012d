/// <reference types="node" />
/**
 * `recurrent train classify` and `recurrent classify`: a many-to-one text classifier (characters
 * or words -> Embedding -> GRU/LSTM/RNN -> last or mean over the valid steps -> Linear) from a
 * CSV or JSON-lines file, on padded batches with lengths; accuracy and the confusion matrix on a
 * held-out test part; the vocabulary and the classes are saved with the model.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { Tensor } from '../tensor/tensor.js';
import { Generator, manualSeed } from '../tensor/random.js';
import { noGrad } from '../autograd/engine.js';
import { softmax } from '../autograd/index.js';
import { SequenceModel, type RecurrentConfig } from '../nn/sequence-model.js';
import type { LayerKind } from '../nn/rnn.js';
import { crossEntropy } from '../nn/losses.js';
import { Adam } from '../optim/optimizers.js';
import { CharVocabulary, WordVocabulary, vocabularyFromJSON, type Vocabulary } from '../data/vocab.js';
import { padBatch } from '../data/text.js';
import { readLabelled, LabelSet, trainValTestSplit, type LabelledTexts } from '../data/labelled.js';
import { fit } from '../train/fit.js';
import { accuracy, confusionMatrix } from '../train/metrics.js';
import { saveModelFile, loadModelFile, writeFileAtomic } from '../io/files.js';
import { UsageError, modelKind, num, intIn, intOpt, RANGES, trainingOptions, regulariserOptions, regulariserUsage, modelKindsUsage, REGULARISER_OPTIONS } from './args.js';
import { checkOutputs, checkInput } from './paths.js';
import { planResume, namedOptions, remedy, reportResult } from './run.js';

export const TRAIN_CLASSIFY_USAGE = `Usage: recurrent train classify --data FILE --text-column A --label-column B --out MODEL [options]

Trains a text classifier: the first --max-len characters (or words) of each text -> Embedding ->
GRU/LSTM/RNN -> its output at the last valid step (or the mean over the valid steps) -> Linear,
on padded batches with lengths (padding never changes a result), Adam and gradient clipping.
The rows are shuffled (seeded) into train, validation and test parts; the final line reports the
test accuracy and the confusion matrix.

Options:
  --data FILE           a CSV file with a header row, or JSON lines (.jsonl / .ndjson)
  --format F            csv or jsonl (default: from the file's extension)
  --text-column A       the column holding the text (default text)
  --label-column B      the column holding the label (default label)
  --out MODEL           the model file to write (atomically; a link is followed; never --data)
  --tokens KIND         char (default) or word
  --max-len N           tokens read from each text, 1-100000 (default 400)
  --min-count N         word tokens: keep words seen at least N times, 1-1e9 (default 2)
  --model KIND          ${modelKindsUsage('gru')}
  --bidirectional       read each text in both directions (the reverse one from its last token)
${regulariserUsage(22)}  --layers N            recurrent layers, 1-64 (default 1)
  --hidden H            hidden size, 1-16384 (default 64)
  --embed E             embedding size, 1-16384 (default 32)
  --pool P              last (default) or mean
  --batch B             texts per step, 1-65536 (default 32)
  --lr LR               Adam's learning rate, above 0, at most 1000 (default 0.003)
  --clip C              gradient norm clip, above 0, at most 1e6 (default 1)
  --steps N             optimizer steps, 0-1e9 (default 1500)
  --val-fraction F      validation share, in (0, 1) (default 0.1)
  --test-fraction F     test share, in (0, 1) (default 0.1)
  --val-every N         validate every N steps, 1-1e9 (default 250)
  --patience N          stop after N validations without improvement, keeping the best weights (1-1e6)
  --checkpoint PATH     write a checkpoint there every --checkpoint-every steps (1-1e9, default 500)
  --resume              continue from --checkpoint with its settings (--lr, --clip, --steps,
                        --val-every, --patience and --checkpoint-every may change; the others must match)
  --seed S              seed, 0 to 2^53 - 1 (default 1)
  --json                print {"steps", "accuracy", "confusion", "classes", ...} on stdout

Training that diverges (a loss that is not finite, or 3 times worse than guessing uniformly)
stops with exit code 1 and writes no model.
`;

export const CLASSIFY_USAGE = `Usage: recurrent classify --model MODEL --text "..." [--text "..."] [--json]

Classifies each --text with a model trained by 'recurrent train classify': prints the predicted
class and its probability, or with --json one line {"text", "label", "probabilities"} per text.
`;

/** What a classifier's model file carries besides its weights. */
export interface ClassifyExtras {
  task: 'classify';
  vocab: ReturnType<Vocabulary['toJSON']>;
  classes: string[];
  maxLen: number;
  textColumn: string;
  labelColumn: string;
}

function formatOf(path: string, format: string | undefined): 'csv' | 'jsonl' {
  if (format !== undefined) {
    if (format !== 'csv' && format !== 'jsonl') throw new UsageError(`--format must be csv or jsonl, got '${format}'`);
    return format;
  }
  const ext = extname(path).toLowerCase();
  return ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : 'csv';
}

/** The labelled rows of a CSV or JSON-lines file; missing and empty files are refused. */
export async function readLabelledFile(path: string, format: string | undefined, textColumn: string, labelColumn: string): Promise<LabelledTexts> {
  checkInput(path, 'data file');
  const text = readFileSync(path, 'utf8');
  if (text.trim().length === 0) throw new Error(`the data file ${path} is empty`);
  return readLabelled(text, { format: formatOf(path, format), textColumn, labelColumn }, path);
}

/** Token ids of a text, at most maxLen, never empty (an empty text reads as one unknown token). */
export function encodeText(vocab: Vocabulary, text: string, maxLen: number): Int32Array {
  // a character is at most two UTF-16 units: no need to split more of a long text than that
  const ids = vocab.encode(vocab instanceof CharVocabulary ? text.slice(0, 2 * maxLen) : text).subarray(0, maxLen);
  return ids.length > 0 ? ids : Int32Array.of(vocab.unknownId ?? 0);
}

/** Class probabilities (rows) of token sequences, in batches of 128, the model in eval mode. */
export function classProbabilities(model: SequenceModel, seqs: readonly Int32Array[]): Float32Array[] {
  const out: Float32Array[] = [];
  model.eval();
  noGrad(() => {
    for (let i = 0; i < seqs.length; i += 128) {
      const group = seqs.slice(i, i + 128);
      const { x, lengths } = padBatch(group, 0);
      const p = softmax(model.forward(x, null, { lengths })[0], 1);
      const C = p.shape[1]!;
      for (let b = 0; b < group.length; b++) out.push(Float32Array.from(p.data.subarray(b * C, (b + 1) * C)));
    }
  });
  return out;
}

const argmax = (p: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i]! > p[best]!) best = i;
  return best;
};

/** Accuracy and confusion matrix of a classifier on labelled token sequences. */
export function evaluateClassifier(model: SequenceModel, seqs: readonly Int32Array[], labels: Int32Array, numClasses: number): { accuracy: number; confusion: number[][] } {
  const pred = classProbabilities(model, seqs).map(argmax);
  return { accuracy: accuracy(pred, labels), confusion: confusionMatrix(pred, labels, numClasses) };
}

export async function trainClassify(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args, strict: true, options: {
      data: { type: 'string' }, format: { type: 'string' }, 'text-column': { type: 'string' }, 'label-column': { type: 'string' }, out: { type: 'string' },
      tokens: { type: 'string' }, 'max-len': { type: 'string' }, 'min-count': { type: 'string' }, model: { type: 'string' }, layers: { type: 'string' },
      hidden: { type: 'string' }, embed: { type: 'string' }, pool: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' },
      clip: { type: 'string' }, steps: { type: 'string' }, 'val-fraction': { type: 'string' }, 'test-fraction': { type: 'string' },
      'val-every': { type: 'string' }, patience: { type: 'string' }, checkpoint: { type: 'string' }, 'checkpoint-every': { type: 'string' },
      resume: { type: 'boolean' }, seed: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' }, bidirectional: { type: 'boolean' },
      ...REGULARISER_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(TRAIN_CLASSIFY_USAGE);
    return;
  }
  for (const k of ['data', 'out'] as const) if (!values[k]) throw new UsageError(`train classify: --${k} is required\n\n${TRAIN_CLASSIFY_USAGE}`);
  const tokens = values.tokens ?? 'char';
  if (tokens !== 'char' && tokens !== 'word') throw new UsageError(`--tokens must be char or word, got '${tokens}'`);
  const kind = modelKind(values.model, 'gru');
  const pool = values.pool ?? 'last';
  if (pool !== 'last' && pool !== 'mean') throw new UsageError(`--pool must be last or mean, got '${pool}'`);
  const given = {
    ...trainingOptions(values, { lr: 3e-3, clip: 1, steps: 1500 }),
    tokens, model: kind, pool, bidirectional: !!values.bidirectional,
    ...regulariserOptions(values),
    'max-len': intOpt(values['max-len'], 'max-len', 400, 'maxLen'),
    'min-count': intIn(values['min-count'], 'min-count', 2, 1, 1e9),
    layers: intOpt(values.layers, 'layers', 1, 'layers'),
    hidden: intOpt(values.hidden, 'hidden', 64, 'size'),
    embed: intOpt(values.embed, 'embed', 32, 'size'),
    batch: intOpt(values.batch, 'batch', 32, 'batch'),
    'val-fraction': num(values['val-fraction'], 'val-fraction', 0.1, (x) => x > 0 && x < 1, 'in (0, 1)'),
    'test-fraction': num(values['test-fraction'], 'test-fraction', 0.1, (x) => x > 0 && x < 1, 'in (0, 1)'),
    'val-every': intIn(values['val-every'], 'val-every', 250, 1, RANGES.every[1]),
    patience: values.patience === undefined ? 0 : intOpt(values.patience, 'patience', 0, 'patience'),
    'text-column': values['text-column'] ?? 'text',
    'label-column': values['label-column'] ?? 'label',
  };
  if (given['val-fraction'] + given['test-fraction'] >= 1) throw new UsageError(`--val-fraction plus --test-fraction must be below 1, got ${given['val-fraction'] + given['test-fraction']}`);
  if (values.resume && !values.checkpoint) throw new UsageError('--resume needs --checkpoint PATH');
  checkOutputs([{ flag: 'out', path: values.out }, { flag: 'checkpoint', path: values.checkpoint }], [{ flag: 'data', path: values.data }]);
  const plan = planResume(values.checkpoint, values.resume, given, namedOptions(values), ['lr', 'clip', 'steps', 'val-every', 'patience', 'checkpoint-every']);
  const c = plan.config;
  const maxLen = c['max-len'], minCount = c['min-count'], L = c.layers, H = c.hidden, E = c.embed, B = c.batch;
  const valFraction = c['val-fraction'], testFraction = c['test-fraction'], valEvery = c['val-every'], patience = c.patience || undefined;
  const seed = c.seed;
  const textColumn = c['text-column'];
  const labelColumn = c['label-column'];

  const data = await readLabelledFile(values.data!, values.format, textColumn, labelColumn);
  const labelSet = LabelSet.fromLabels(data.labels, `${values.data}: column '${labelColumn}'`);
  const rows = data.texts.map((t, i) => ({ text: t, label: data.labels[i]! }));
  if (rows.length < 10) throw new Error(`${values.data}: ${rows.length} labelled rows; a train / validation / test split needs at least 10`);
  const split = trainValTestSplit(rows, { valFraction, testFraction }, new Generator(seed));
  const trainTexts = split.train.map((r) => r.text);
  // the characters a text is read by: its first maxLen (encodeText's), whole surrogate pairs
  const vocab: Vocabulary = c.tokens === 'word'
    ? WordVocabulary.fromTexts(trainTexts, { minCount })
    : CharVocabulary.fromText(trainTexts.map((t) => Array.from(t.slice(0, 2 * maxLen)).slice(0, maxLen).join('')).join('') + '\u0000', { unknown: '\u0000' });
  const prepare = (part: typeof rows): { seqs: Int32Array[]; y: Int32Array } => ({
    seqs: part.map((r) => encodeText(vocab, r.text, maxLen)),
    y: labelSet.encode(part.map((r) => r.label)),
  });
  const train = prepare(split.train);
  const val = prepare(split.val);
  const test = prepare(split.test);
  manualSeed(seed);
  const model = new SequenceModel({
    embedding: { numEmbeddings: vocab.size, embeddingDim: E },
    rnn: { kind: c.model as LayerKind, inputSize: E, hiddenSize: H, numLayers: L, bidirectional: c.bidirectional,
      recurrentDropout: c['recurrent-dropout'], zoneout: c.zoneout } as RecurrentConfig,
    head: { outFeatures: labelSet.size },
    output: c.pool as 'last',
  });
  const optimizer = new Adam(model.parameters(), { lr: c.lr });
  const counts = labelSet.classes.map((name, i) => `${name} ${train.y.filter((y) => y === i).length}`).join(', ');
  process.stderr.write(`${values.data}: ${rows.length} rows; train ${split.train.length} (${counts}), validation ${split.val.length}, test ${split.test.length}; ${vocab.size} ${c.tokens} tokens; ${c.model.toUpperCase()} ${L}x${H}, ${model.numParameters()} parameters\n`);
  const batchOf = (idx: number[], part: { seqs: Int32Array[]; y: Int32Array }): { x: Tensor; lengths: number[]; y: Tensor } => {
    const { x, lengths } = padBatch(idx.map((i) => part.seqs[i]!), 0);
    return { x, lengths, y: new Tensor(Int32Array.from(idx, (i) => part.y[i]!), [idx.length]) };
  };
  const validate = (): number => {
    let total = 0;
    for (let i = 0; i < val.seqs.length; i += 128) {
      const idx = Array.from({ length: Math.min(128, val.seqs.length - i) }, (_, k) => i + k);
      const { x, lengths, y } = batchOf(idx, val);
      total += crossEntropy(model.forward(x, null, { lengths })[0], y, { reduction: 'sum' }).item();
    }
    return total / val.seqs.length;
  };
  const result = fit({
    model, optimizer, steps: c.steps, rng: new Generator(seed + 1), clipNorm: c.clip, itemsPerStep: B, progress: true, reportEvery: 50,
    batch: (_s, r) => batchOf(Array.from({ length: B }, () => r.int(train.seqs.length)), train),
    loss: ({ x, lengths, y }) => crossEntropy(model.forward(x, null, { lengths })[0], y),
    validate, validateEvery: valEvery,
    earlyStopping: patience ? { patience } : undefined,
    checkpoint: values.checkpoint ? { every: c['checkpoint-every'], write: (b) => writeFileAtomic(values.checkpoint!, b), extras: () => ({ config: c }) } : undefined,
    resumeFrom: plan.bytes,
    onResume: () => (optimizer.lr = c.lr),
    // uniform guessing among the classes costs log(C) nats
    divergence: { baseline: Math.log(labelSet.size) },
    remedy: remedy(c.lr, c.clip),
  });
  const { accuracy: acc, confusion } = evaluateClassifier(model, test.seqs, test.y, labelSet.size);
  const extras: ClassifyExtras = { task: 'classify', vocab: vocab.toJSON(), classes: [...labelSet.classes], maxLen, textColumn, labelColumn };
  saveModelFile(values.out!, model, extras as unknown as Record<string, unknown>);
  process.stderr.write(`saved ${values.out}; classify with: npx recurrent classify --model ${values.out} --text "..."\n`);
  reportResult(values.json, `test accuracy ${(100 * acc).toFixed(2)}% on ${test.seqs.length} rows; confusion (rows actual, columns predicted; ${labelSet.classes.join(', ')}): ${JSON.stringify(confusion)}`, {
    steps: result.steps, stopped_early: result.stoppedEarly, best_step: result.bestStep, val_loss: result.bestValLoss, train_loss: result.trainLoss,
    accuracy: acc, confusion, classes: labelSet.classes, test: test.seqs.length, seconds: result.seconds, out: values.out,
  });
}

/** Loads a classifier's model file, refusing other models. */
export function loadClassifier(path: string): { model: SequenceModel; extras: ClassifyExtras; vocab: Vocabulary; labels: LabelSet } {
  checkInput(path, 'model file');
  const { model, extras } = loadModelFile(path);
  if (extras['task'] !== 'classify') throw new Error(`${path} is not a classifier (trained with 'recurrent train classify')`);
  const ex = extras as unknown as ClassifyExtras;
  return { model, extras: ex, vocab: vocabularyFromJSON(ex.vocab), labels: LabelSet.fromJSON({ classes: ex.classes }) };
}

export function classify(args: string[]): void {
  const { values } = parseArgs({
    args, strict: true, options: { model: { type: 'string' }, text: { type: 'string', multiple: true }, json: { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(CLASSIFY_USAGE);
    return;
  }
  if (!values.model) throw new UsageError(`classify: --model is required\n\n${CLASSIFY_USAGE}`);
  if (!values.text || values.text.length === 0) throw new UsageError(`classify: --text is required\n\n${CLASSIFY_USAGE}`);
  const { model, extras, vocab, labels } = loadClassifier(values.model);
  const probs = classProbabilities(model, values.text.map((t) => encodeText(vocab, t, extras.maxLen)));
  probs.forEach((p, i) => {
    const k = argmax(p);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ text: values.text![i], label: labels.decode(k), probabilities: Object.fromEntries(labels.classes.map((c, j) => [c, p[j]])) })}\n`);
    } else process.stdout.write(`${labels.decode(k)}\t${p[k]!.toFixed(4)}\n`);
  });
}
