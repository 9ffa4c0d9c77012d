/// <reference types="node" />
/**
 * `recurrent train text` and `recurrent generate`: a character language model from a text file,
 * saved as a model file with its vocabulary, and sampling from it.
 */
import { parseArgs } from 'node:util';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { Tensor } from '../tensor/tensor.js';
import { Generator, manualSeed } from '../tensor/random.js';
import { noGrad } from '../autograd/engine.js';
import { SequenceModel } from '../nn/sequence-model.js';
import { crossEntropy } from '../nn/losses.js';
import { Adam } from '../optim/optimizers.js';
import { CharVocabulary } from '../data/vocab.js';
import { splitIds, randomWindows, sequentialWindows } from '../data/text.js';
import { fit } from '../train/fit.js';
import { sampleLogits } from '../train/sample.js';
import { saveModelFile, loadModelFile, writeFileAtomic } from '../io/files.js';

import { UsageError, num, positive as int } from './args.js';

export { UsageError };

export const TRAIN_TEXT_USAGE = `Usage: recurrent train text --data FILE --out MODEL [options]

Trains a character-level language model: Embedding -> RNN/LSTM/GRU -> Linear, on random windows
of the first (1 - val-fraction) of the text, Adam, gradient clipping; validation loss in nats per
character over non-overlapping windows of the rest, each from a zero state.

Options:
  --data FILE            the text (UTF-8)
  --out MODEL            the model file to write (atomically)
  --model KIND           lstm (default), gru or rnn
  --layers N             recurrent layers (default 1)
  --hidden H             hidden size (default 256)
  --embed E              embedding size (default 64)
  --seq-len T            window length (default 64)
  --batch B              windows per step (default 32)
  --lr LR                Adam's learning rate (default 0.002)
  --clip C               gradient norm clip (default 5)
  --steps N              optimizer steps (default 3000)
  --val-fraction F       validation share of the text (default 0.1)
  --val-every N          validate every N steps (default 500; 0: only at the end)
  --checkpoint PATH      write a checkpoint there (every --checkpoint-every steps, default 500)
  --resume               continue from --checkpoint
  --seed S               seed (default 1)
  --json                 print {"steps", "train_loss", "val_loss", ...} on stdout at the end
`;

export const GENERATE_USAGE = `Usage: recurrent generate --model MODEL [options]

Samples text from a character language model trained with 'recurrent train text'.

Options:
  --model MODEL       the model file
  --prompt TEXT       text to start from (default: a newline)
  --length N          characters to generate (default 200)
  --temperature T     0 greedy, 1 as learned (default 0.8)
  --top-k K           sample among the K most likely (default all)
  --top-p P           sample among the most likely up to probability P (default 1)
  --seed S            seed (default: random)
`;


export function readText(path: string): string {
  if (!existsSync(path)) throw new Error(`the data file ${path} does not exist`);
  if (statSync(path).isDirectory()) throw new Error(`${path} is a folder, not a text file`);
  const text = readFileSync(path, 'utf8');
  if (text.length === 0) throw new Error(`the data file ${path} is empty`);
  return text;
}

/**
 * Mean cross-entropy in nats per token of a language model over the non-overlapping windows of T
 * tokens (and their next tokens) of `ids`, each from a zero state, in batches of 256.
 */
export function textLoss(model: SequenceModel, ids: Int32Array, T: number): number {
  const windows = [...sequentialWindows(ids, T)];
  if (windows.length === 0) throw new Error(`the text has ${ids.length} characters, fewer than one window of ${T + 1}`);
  const V = model.head.outFeatures;
  let total = 0;
  noGrad(() => {
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
    }
  });
  return total / (windows.length * T);
}

export function trainText(args: string[]): void {
  const { values } = parseArgs({
    args, strict: true, options: {
      data: { type: 'string' }, out: { type: 'string' }, model: { type: 'string' }, layers: { type: 'string' }, hidden: { type: 'string' },
      embed: { type: 'string' }, 'seq-len': { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' }, clip: { type: 'string' },
      steps: { type: 'string' }, 'val-fraction': { type: 'string' }, 'val-every': { type: 'string' }, checkpoint: { type: 'string' },
      'checkpoint-every': { type: 'string' }, resume: { type: 'boolean' }, seed: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(TRAIN_TEXT_USAGE);
    return;
  }
  if (!values.data) throw new UsageError(`train text: --data is required\n\n${TRAIN_TEXT_USAGE}`);
  if (!values.out) throw new UsageError(`train text: --out is required\n\n${TRAIN_TEXT_USAGE}`);
  const kind = values.model ?? 'lstm';
  if (!['lstm', 'gru', 'rnn'].includes(kind)) throw new UsageError(`--model must be lstm, gru or rnn, got '${kind}'`);
  const L = num(values.layers, 'layers', 1, int, 'a positive integer');
  const H = num(values.hidden, 'hidden', 256, int, 'a positive integer');
  const E = num(values.embed, 'embed', 64, int, 'a positive integer');
  const T = num(values['seq-len'], 'seq-len', 64, int, 'a positive integer');
  const B = num(values.batch, 'batch', 32, int, 'a positive integer');
  const lr = num(values.lr, 'lr', 2e-3, (x) => x > 0, 'a positive number');
  const clip = num(values.clip, 'clip', 5, (x) => x > 0, 'a positive number');
  const steps = num(values.steps, 'steps', 3000, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');
  const valFraction = num(values['val-fraction'], 'val-fraction', 0.1, (x) => x > 0 && x < 1, 'in (0, 1)');
  const valEvery = num(values['val-every'], 'val-every', 500, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');
  const ckEvery = num(values['checkpoint-every'], 'checkpoint-every', 500, int, 'a positive integer');
  const seed = num(values.seed, 'seed', 1, Number.isInteger, 'an integer');
  if (values.resume && !values.checkpoint) throw new UsageError('--resume needs --checkpoint PATH');

  const text = readText(values.data);
  const vocab = CharVocabulary.fromText(text);
  const ids = vocab.encode(text);
  const { train, val } = splitIds(ids, valFraction);
  if (train.length < T + 1) throw new Error(`the text has ${train.length} training characters, fewer than one window of ${T + 1} (--seq-len)`);
  if (val.length < T + 1) throw new Error(`the validation split has ${val.length} characters, fewer than one window of ${T + 1}; raise --val-fraction or lower --seq-len`);
  manualSeed(seed);
  const model = new SequenceModel({
    embedding: { numEmbeddings: vocab.size, embeddingDim: E },
    rnn: { kind: kind as 'lstm', inputSize: E, hiddenSize: H, numLayers: L },
    head: { outFeatures: vocab.size },
  });
  const optimizer = new Adam(model.parameters(), { lr });
  const rng = new Generator(seed + 1);
  const V = vocab.size;
  const validate = (): number => textLoss(model, val, T);
  const resumeFrom = values.resume && values.checkpoint && existsSync(values.checkpoint) ? new Uint8Array(readFileSync(values.checkpoint)) : undefined;
  if (values.resume && !resumeFrom) process.stderr.write(`no checkpoint at ${values.checkpoint} yet: starting from step 0\n`);
  process.stderr.write(`${values.data}: ${text.length} characters, ${V} distinct; ${kind.toUpperCase()} ${L}x${H}, ${model.numParameters()} parameters; ${steps} steps of ${B}x${T}\n`);
  const result = fit({
    model, optimizer, steps, rng, clipNorm: clip, itemsPerStep: T * B, progress: true,
    batch: (_s, r) => randomWindows(train, T, B, r),
    loss: ({ x, y }) => crossEntropy(model.forward(x)[0].reshape([T * B, V]), y),
    validate, validateEvery: valEvery || undefined,
    checkpoint: values.checkpoint ? { every: ckEvery, write: (b) => writeFileAtomic(values.checkpoint!, b) } : undefined,
    resumeFrom,
  });
  saveModelFile(values.out, model, { task: 'text', vocab: vocab.toJSON(), seqLen: T });
  process.stderr.write(`saved ${values.out}: validation loss ${result.valLoss?.toFixed(4)} nats/char after ${result.steps} steps (${result.seconds.toFixed(0)} s)\n`);
  process.stderr.write(`generate with: npx recurrent generate --model ${values.out} --prompt "The "\n`);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ steps: result.steps, train_loss: result.trainLoss, val_loss: result.valLoss, seconds: result.seconds, out: values.out })}\n`);
  }
}

export function generate(args: string[]): void {
  const { values } = parseArgs({
    args, strict: true, options: {
      model: { type: 'string' }, prompt: { type: 'string' }, length: { type: 'string' }, temperature: { type: 'string' },
      'top-k': { type: 'string' }, 'top-p': { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(GENERATE_USAGE);
    return;
  }
  if (!values.model) throw new UsageError(`generate: --model is required\n\n${GENERATE_USAGE}`);
  const length = num(values.length, 'length', 200, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');
  const temperature = num(values.temperature, 'temperature', 0.8, (x) => x >= 0, 'a number >= 0');
  const topK = num(values['top-k'], 'top-k', 0, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');
  const topP = num(values['top-p'], 'top-p', 1, (x) => x > 0 && x <= 1, 'in (0, 1]');
  const seed = num(values.seed, 'seed', Math.floor(Math.random() * 2 ** 31), Number.isInteger, 'an integer');
  if (!existsSync(values.model)) throw new Error(`the model file ${values.model} does not exist`);
  const { model, extras } = loadModelFile(values.model);
  if (extras['task'] !== 'text' || !extras['vocab']) throw new Error(`${values.model} is not a text model (trained with 'recurrent train text')`);
  const vocab = CharVocabulary.fromJSON(extras['vocab']);
  const prompt = values.prompt ?? '\n';
  if (prompt.length === 0) throw new UsageError('--prompt must not be empty');
  const promptIds = vocab.encode(prompt, 'generate: the prompt has');
  if (!model.embedding) throw new Error(`${values.model} has no embedding: not a text model`);
  const rng = new Generator(seed);
  const stepper = model.stepper(); // embedding, recurrent step and head in one call
  let out = prompt;
  noGrad(() => {
    // the prompt in one call per layer, then the rest in one call: each token drawn from the
    // step its predecessor fed
    const [logits, state] = stepper.prime(promptIds, null);
    if (length === 0) return;
    const first = sampleLogits(logits.data, { temperature, topK, topP }, rng);
    const rest = length > 1 ? stepper.generate(first, length - 1, state, { temperature, topK, topP }, rng)[0] : [];
    out += vocab.decode([first, ...rest]);
  });
  stepper.dispose();
  process.stdout.write(`${out}\n`);
}
