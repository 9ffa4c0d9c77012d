/// <reference types="node" />
/**
 * `recurrent train text` and `recurrent generate`: a character language model from a text file,
 * saved as a model file with its vocabulary, and sampling from it.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { Tensor } from '../tensor/tensor.js';
import { Generator, manualSeed } from '../tensor/random.js';
import { noGrad } from '../autograd/engine.js';
import { SequenceModel, type RecurrentConfig, type SequenceState } from '../nn/sequence-model.js';
import type { LayerKind } from '../nn/rnn.js';
import { crossEntropy } from '../nn/losses.js';
import { Adam } from '../optim/optimizers.js';
import { CharVocabulary } from '../data/vocab.js';
import { splitIds, randomWindows, sequentialWindows, ContiguousWindows, type ContiguousBatch } from '../data/text.js';
import { fit } from '../train/fit.js';
import { sampleLogits } from '../train/sample.js';
import { saveModelFile, loadModelFile, writeFileAtomic } from '../io/files.js';

import { UsageError, modelKind, num, intOpt, realIn, seedOpt, RANGES, trainingOptions, regulariserOptions, regulariserUsage, modelKindsUsage, REGULARISER_OPTIONS } from './args.js';
import { checkOutputs, checkInput } from './paths.js';
import { planResume, namedOptions, remedy, reportResult } from './run.js';

export { UsageError };

export const TRAIN_TEXT_USAGE = `Usage: recurrent train text --data FILE --out MODEL [options]

Trains a character-level language model: Embedding -> RNN/LSTM/GRU -> Linear, on random windows
of the first (1 - val-fraction) of the text (or, with --stateful, on contiguous ones carrying the
state), Adam, gradient clipping; validation loss in nats per character over non-overlapping
windows of the rest, each from a zero state (with --stateful, carrying it). Training that
diverges (a loss that is not finite, or worse than guessing uniformly by a factor of 3) stops
with exit code 1 and writes no model.

Options:
  --data FILE            the text (UTF-8)
  --out MODEL            the model file to write (atomically; a link is followed; never --data)
  --model KIND           ${modelKindsUsage('lstm')}
  --layers N             recurrent layers, 1-64 (default 1)
  --hidden H             hidden size, 1-16384 (default 256)
  --embed E              embedding size, 1-16384 (default 64)
${regulariserUsage(23)}  --seq-len T            window length, 1-100000 (default 64)
  --stateful             truncated BPTT with carried state: each batch row reads its own
                         contiguous stretch of the text, window after window, starting from the
                         state the window before ended in (detached); back to the stretch's
                         start, from a zero state, after the last window that fits
  --batch B              windows per step, 1-65536 (default 32)
  --lr LR                Adam's learning rate, above 0, at most 1000 (default 0.002)
  --clip C               gradient norm clip, above 0, at most 1e6 (default 5)
  --steps N              optimizer steps, 0-1e9 (default 3000)
  --val-fraction F       validation share of the text, in (0, 1) (default 0.1)
  --val-every N          validate every N steps, 0-1e9 (default 500; 0: only at the end)
  --checkpoint PATH      write a checkpoint there (every --checkpoint-every steps, 1-1e9, default 500)
  --resume               continue from --checkpoint with its settings (--lr, --clip, --steps,
                         --val-every and --checkpoint-every may change; the others must match)
  --seed S               seed, 0 to 2^53 - 1 (default 1)
  --json                 print {"steps", "train_loss", "val_loss", ...} on stdout at the end
`;

export const GENERATE_USAGE = `Usage: recurrent generate --model MODEL [options]

Samples text from a character language model trained with 'recurrent train text', writing it
to stdout as it is generated.

Options:
  --model MODEL       the model file
  --prompt TEXT       text to start from (default: a newline)
  --length N          characters to generate, 0-1e8 (default 200)
  --temperature T     0 greedy, 1 as learned, at most 1000 (default 0.8)
  --top-k K           sample among the K most likely, 0-1e6 (default 0: all)
  --top-p P           sample among the most likely up to probability P, in (0, 1] (default 1)
  --seed S            seed, 0 to 2^53 - 1 (default: random)
  --json              print {"text", "prompt", "length", "seed"} on stdout instead of the text
`;


export function readText(path: string): string {
  checkInput(path, 'data file');
  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  if (text.length === 0) throw new Error(`the data file ${path} is empty`);
  return text;
}

/**
 * Mean cross-entropy in nats per token of a language model over the non-overlapping windows of T
 * tokens (and their next tokens) of `ids`, each from a zero state, in batches of 256; with
 * `carry`, over up to 16 contiguous stretches of `ids`, each window starting from the state the
 * one before it ended in (as a model trained with carried state reads text).
 */
export function textLoss(model: SequenceModel, ids: Int32Array, T: number, options: { carry?: boolean } = {}): number {
  const V = model.head.outFeatures;
  if (ids.length < T + 1) throw new Error(`the text has ${ids.length} characters, fewer than one window of ${T + 1}`);
  let total = 0;
  let count = 0;
  noGrad(() => {
    if (options.carry) {
      const stream = new ContiguousWindows(ids, T, Math.max(1, Math.min(16, Math.floor(ids.length / (T + 1)))));
      let state: SequenceState | null = null;
      for (let k = 0; k < stream.windows; k++) {
        const b = stream.at(k);
        const [logits, next] = model.forward(b.x, state);
        state = next;
        total += crossEntropy(logits.reshape([T * stream.B, V]), b.y, { reduction: 'sum' }).item();
        count += T * stream.B;
      }
      return;
    }
    const windows = [...sequentialWindows(ids, T)];
    for (let i = 0; i < windows.length; i += 256) {
      const group = windows.slice(i, i + 256);
      const Bv = group.length;
      const x = new Int32Array(T * Bv);
      const y = new Int32Array(T * Bv);
      group.forEach((w, b) => {
        for (let t = 0; t < T; t++) {
          x[t * Bv + b] = w.x.data[t]!;
          y[t * Bv + b] = w.y.data[t]!;
        }
      });
      const [logits] = model.forward(new Tensor(x, [T, Bv]));
      total += crossEntropy(logits.reshape([T * Bv, V]), new Tensor(y, [T * Bv]), { reduction: 'sum' }).item();
      count += T * Bv;
    }
  });
  return total / count;
}

/** A prompt to suggest for a vocabulary: the text's first word, if every character is in it. */
function suggestedPrompt(text: string): string | null {
  const word = /\p{L}{2,12}/u.exec(text.slice(0, 10000));
  return word ? word[0] : null;
}

export function trainText(args: string[]): void {
  const { values } = parseArgs({
    args, strict: true, options: {
      data: { type: 'string' }, out: { type: 'string' }, model: { type: 'string' }, layers: { type: 'string' }, hidden: { type: 'string' },
      embed: { type: 'string' }, 'seq-len': { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' }, clip: { type: 'string' },
      steps: { type: 'string' }, 'val-fraction': { type: 'string' }, 'val-every': { type: 'string' }, checkpoint: { type: 'string' },
      'checkpoint-every': { type: 'string' }, resume: { type: 'boolean' }, seed: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
      ...REGULARISER_OPTIONS, stateful: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(TRAIN_TEXT_USAGE);
    return;
  }
  if (!values.data) throw new UsageError(`train text: --data is required\n\n${TRAIN_TEXT_USAGE}`);
  if (!values.out) throw new UsageError(`train text: --out is required\n\n${TRAIN_TEXT_USAGE}`);
  const kind = modelKind(values.model, 'lstm');
  const given = {
    ...trainingOptions(values, { lr: 2e-3, clip: 5, steps: 3000 }),
    model: kind,
    layers: intOpt(values.layers, 'layers', 1, 'layers'),
    hidden: intOpt(values.hidden, 'hidden', 256, 'size'),
    embed: intOpt(values.embed, 'embed', 64, 'size'),
    ...regulariserOptions(values),
    stateful: !!values.stateful,
    'seq-len': intOpt(values['seq-len'], 'seq-len', 64, 'seqLen'),
    batch: intOpt(values.batch, 'batch', 32, 'batch'),
    'val-fraction': num(values['val-fraction'], 'val-fraction', 0.1, (x) => x > 0 && x < 1, 'in (0, 1)'),
    'val-every': intOpt(values['val-every'], 'val-every', 500, 'every'),
  };
  if (values.resume && !values.checkpoint) throw new UsageError('--resume needs --checkpoint PATH');
  checkOutputs([{ flag: 'out', path: values.out }, { flag: 'checkpoint', path: values.checkpoint }], [{ flag: 'data', path: values.data }]);
  const plan = planResume(values.checkpoint, values.resume, given, namedOptions(values), ['lr', 'clip', 'steps', 'val-every', 'checkpoint-every']);
  const c = plan.config;
  const T = c['seq-len'], B = c.batch, L = c.layers, H = c.hidden, E = c.embed;

  const text = readText(values.data);
  const vocab = CharVocabulary.fromText(text);
  const ids = vocab.encode(text);
  const { train, val } = splitIds(ids, c['val-fraction']);
  if (train.length < T + 1) throw new Error(`the text has ${train.length} training characters, fewer than one window of ${T + 1} (--seq-len)`);
  if (val.length < T + 1) throw new Error(`the validation split has ${val.length} characters, fewer than one window of ${T + 1}; raise --val-fraction or lower --seq-len`);
  manualSeed(c.seed);
  const model = new SequenceModel({
    embedding: { numEmbeddings: vocab.size, embeddingDim: E },
    rnn: { kind: c.model as LayerKind, inputSize: E, hiddenSize: H, numLayers: L, recurrentDropout: c['recurrent-dropout'], zoneout: c.zoneout } as RecurrentConfig,
    head: { outFeatures: vocab.size },
  });
  const optimizer = new Adam(model.parameters(), { lr: c.lr });
  const rng = new Generator(c.seed + 1);
  const V = vocab.size;
  const validate = (): number => textLoss(model, val, T, { carry: c.stateful });
  const stream = c.stateful ? new ContiguousWindows(train, T, B) : null;
  process.stderr.write(`${values.data}: ${ids.length} characters, ${V} distinct; ${c.model.toUpperCase()} ${L}x${H}, ${model.numParameters()} parameters; ${plan.step ? `steps ${plan.step + 1} to ${c.steps}` : `${c.steps} steps`} of ${B}x${T}${stream ? `, stateful (${stream.windows} windows per stretch)` : ''}\n`);
  const lossOf = (b: { x: Tensor; y: Tensor }, state: SequenceState | null): [Tensor, SequenceState] => {
    const [logits, next] = model.forward(b.x, state);
    return [crossEntropy(logits.reshape([T * B, V]), b.y), next];
  };
  const result = fit<{ x: Tensor; y: Tensor } | ContiguousBatch>({
    model, optimizer, steps: c.steps, rng, clipNorm: c.clip, itemsPerStep: T * B, progress: true,
    batch: (s, r) => (stream ? stream.at(s) : randomWindows(train, T, B, r)),
    ...(stream
      ? { stateful: { loss: (b, state) => lossOf(b, state as SequenceState | null), reset: (b) => (b as ContiguousBatch).reset } }
      : { loss: (b) => lossOf(b, null)[0] }),
    validate, validateEvery: c['val-every'] || undefined,
    checkpoint: values.checkpoint ? { every: c['checkpoint-every'], write: (b) => writeFileAtomic(values.checkpoint!, b), extras: () => ({ config: c }) } : undefined,
    resumeFrom: plan.bytes,
    onResume: () => (optimizer.lr = c.lr),
    // uniform guessing costs log(V) nats per character
    divergence: { baseline: Math.log(V) },
    remedy: remedy(c.lr, c.clip),
  });
  saveModelFile(values.out, model, { task: 'text', vocab: vocab.toJSON(), seqLen: T });
  const prompt = suggestedPrompt(text);
  process.stderr.write(`generate with: npx recurrent generate --model ${values.out}${prompt ? ` --prompt "${prompt}"` : ''}\n`);
  reportResult(values.json, `saved ${values.out}: validation loss ${result.valLoss?.toFixed(4)} nats/char after ${result.steps} steps (${result.seconds.toFixed(0)} s)`,
    { steps: result.steps, train_loss: result.trainLoss, val_loss: result.valLoss, seconds: result.seconds, out: values.out });
}

/** Tokens generated per call, written out as they come: a long text never sits whole in memory. */
const GENERATE_CHUNK = 4096;

export function generate(args: string[]): void {
  const { values } = parseArgs({
    args, strict: true, options: {
      model: { type: 'string' }, prompt: { type: 'string' }, length: { type: 'string' }, temperature: { type: 'string' },
      'top-k': { type: 'string' }, 'top-p': { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(GENERATE_USAGE);
    return;
  }
  if (!values.model) throw new UsageError(`generate: --model is required\n\n${GENERATE_USAGE}`);
  const length = intOpt(values.length, 'length', 200, 'length');
  const temperature = realIn(values.temperature, 'temperature', 0.8, 0, RANGES.temperature[1], true);
  const topK = intOpt(values['top-k'], 'top-k', 0, 'topK');
  const topP = num(values['top-p'], 'top-p', 1, (x) => x > 0 && x <= 1, 'in (0, 1]');
  const seed = seedOpt(values.seed, Math.floor(Math.random() * 2 ** 31));
  checkInput(values.model, 'model file');
  const { model, extras } = loadModelFile(values.model);
  if (extras['task'] !== 'text' || !extras['vocab']) throw new Error(`${values.model} is not a text model (trained with 'recurrent train text')`);
  const vocab = CharVocabulary.fromJSON(extras['vocab']);
  const prompt = values.prompt ?? '\n';
  if (prompt.length === 0) throw new UsageError('--prompt must not be empty');
  const promptIds = vocab.encode(prompt, 'generate: the prompt has');
  if (!model.embedding) throw new Error(`${values.model} has no embedding: not a text model`);
  const rng = new Generator(seed);
  const options = { temperature, topK, topP };
  const stepper = model.stepper(); // embedding, recurrent step and head in one call
  const parts: string[] = [];
  const emit = (s: string): void => void (values.json ? parts.push(s) : process.stdout.write(s));
  try {
    emit(prompt);
    noGrad(() => {
      // the prompt in one call per layer, then the rest in chunks of one call each: each token
      // drawn from the step its predecessor fed
      let [logits, state] = stepper.prime(promptIds, null);
      if (length === 0) return;
      let token = sampleLogits(logits.data, options, rng);
      emit(vocab.decode([token]));
      for (let done = 1; done < length;) {
        const n = Math.min(GENERATE_CHUNK, length - done);
        let ids: Int32Array;
        [ids, state] = stepper.generate(token, n, state, options, rng);
        emit(vocab.decode(ids));
        token = ids[n - 1]!;
        done += n;
      }
      void logits;
    });
  } finally {
    stepper.dispose();
  }
  if (values.json) process.stdout.write(`${JSON.stringify({ text: parts.join(''), prompt, length, seed })}\n`);
  else process.stdout.write('\n');
}
