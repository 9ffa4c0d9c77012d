/// <reference lib="webworker" />
// The playground's trainer, a Web Worker: the page's thread only draws. Training runs in slices
// of about 100 ms; between slices the worker reads its messages (pause, stop, a sample wanted),
// so it answers within one slice. Everything here is the library's public API.
import {
  ready, backendInfo, SequenceModel, CharVocabulary, Adam, clipGradNorm, crossEntropy, tensor, noGrad, Generator, manualSeed, sampleLogits,
  saveModel, loadModel, vocabularyFromJSON, addingProblem, mseLoss, Scaler, difference, randomSeriesWindows, forecastFrom, backtest,
  Seq2Seq, SymbolVocabulary, LSTM, Linear, ctcLoss, ctcGreedyDecode, editDistance, pairBatches, pairBatch, loadSeq2Seq, type Tensor, type SeriesExtras, type PairBatch,
} from 'recurrent';
import * as R from 'recurrent';
import { lm, time } from '../../bench/workloads.mjs';
import { splitDigits, composeLine, batchOf, type DigitImage } from '../../examples/digit-lines.mjs';
import type { FromPage, ToPage, TextConfig, SampleRequest, InsideCell, TaskName } from './protocol';

const post = (m: ToPage): void => (self as unknown as DedicatedWorkerGlobalScope).postMessage(m);

let state: 'idle' | 'running' | 'paused' | 'stopped' = 'idle';
/** Refuses to train `what` while the text model runs: both would compete for the same cores. */
function claimCores(what: string): void {
  if (state === 'running') throw new Error(`pause or stop the text model first: ${what} needs the cores`);
}
let job: TextJob | null = null;
let sampleWanted: SampleRequest | null = null;
/** The page's sample settings, for the samples drawn while training. */
let settings: SampleRequest = { prompt: '', temperature: 0.8, topK: 0, length: 160 };

/** A character model: trained here on one corpus (random windows), or uploaded to sample from. */
class TextJob {
  readonly train: Int32Array;
  readonly val: Int32Array;
  readonly optimizer: Adam | null;
  readonly rng: Generator;
  step = 0;
  trainSeconds = 0;
  smooth: number | null = null;

  constructor(readonly model: SequenceModel, readonly vocab: CharVocabulary, readonly config: TextConfig, text: string | null) {
    const ids = text === null ? new Int32Array(0) : this.vocab.encode(text);
    const cut = Math.floor(ids.length * 0.9);
    this.train = ids.subarray(0, cut);
    this.val = ids.subarray(cut);
    this.optimizer = text === null ? null : new Adam(this.model.parameters(), { lr: config.lr });
    this.rng = new Generator(config.seed);
  }

  /** A new model for the text, as the form configures it. */
  static fresh(text: string, config: TextConfig): TextJob {
    manualSeed(config.seed);
    const vocab = CharVocabulary.fromText(text);
    const model = new SequenceModel({
      embedding: { numEmbeddings: vocab.size, embeddingDim: 32 },
      rnn: { kind: config.kind, inputSize: 32, hiddenSize: config.hidden, numLayers: config.layers },
      head: { outFeatures: vocab.size },
    });
    return new TextJob(model, vocab, config, text);
  }

  /** A model file's character model (as `recurrent train text` and this page save them); throws, changing nothing, on anything else. */
  static fromFile(bytes: Uint8Array, name: string): TextJob {
    let loaded;
    try {
      loaded = loadModel(bytes);
    } catch (e) {
      throw new Error(`${name} is not a model file this page can read: ${e instanceof Error ? e.message : String(e)}`);
    }
    const { model, extras } = loaded;
    if (extras['task'] !== 'text' || !extras['vocab']) {
      throw new Error(`${name} holds a ${typeof extras['task'] === 'string' ? `'${extras['task']}'` : 'model without a task'} model; the Text task takes a character model (saved by this page or 'recurrent train text')`);
    }
    const vocab = vocabularyFromJSON(extras['vocab']);
    if (!(vocab instanceof CharVocabulary)) throw new Error(`${name}: its vocabulary is not one of characters`);
    return new TextJob(model, vocab, { kind: 'lstm', layers: 1, hidden: 1, seqLen: 1, batch: 1, lr: 0, clip: 0, seed: 1 }, null);
  }

  /** One step on B random windows of T + 1 characters; the loss. */
  trainStep(): number {
    const { seqLen: T, batch: B, clip } = this.config;
    const x = new Int32Array(T * B), y = new Int32Array(T * B);
    for (let b = 0; b < B; b++) {
      const start = this.rng.int(this.train.length - T - 1);
      for (let t = 0; t < T; t++) {
        x[t * B + b] = this.train[start + t]!;
        y[t * B + b] = this.train[start + t + 1]!;
      }
    }
    const optimizer = this.optimizer!;
    optimizer.zeroGrad();
    const [logits] = this.model.forward(tensor(x, [T, B]));
    const loss = crossEntropy((logits as Tensor).reshape([T * B, this.vocab.size]), tensor(y, [T * B]));
    loss.backward();
    if (clip > 0) clipGradNorm(this.model.parameters(), clip);
    optimizer.step();
    this.step++;
    return loss.item();
  }

  /** The mean loss over the first windows of the held-out tenth. */
  validate(windows = 8, W = 64): number {
    return noGrad(() => {
      let total = 0, n = 0;
      for (let w = 0; w < windows && (w + 1) * W + 1 <= this.val.length; w++) {
        const start = w * W;
        const [logits] = this.model.forward(tensor(this.val.slice(start, start + W), [W, 1]));
        total += crossEntropy((logits as Tensor).reshape([W, this.vocab.size]), tensor(this.val.slice(start + 1, start + W + 1), [W])).item();
        n++;
      }
      return n ? total / n : NaN;
    });
  }

  /** Text after the prompt (characters outside the vocabulary are left out of what is fed). */
  sample(r: SampleRequest): string {
    const stepper = this.model.stepper();
    try {
      return noGrad(() => {
        const known = [...r.prompt].filter((c) => this.vocab.tokens.includes(c));
        const prompt = known.length ? known.join('') : this.vocab.tokens[this.rng.int(this.vocab.size)]!;
        const [logits, s] = stepper.prime(this.vocab.encode(prompt));
        const options = { temperature: r.temperature, topK: r.topK };
        const first = sampleLogits(logits.data, options, this.rng);
        const [ids] = stepper.generate(first, r.length - 1, s, options, this.rng);
        return prompt + this.vocab.decode([first, ...ids]);
      });
    } finally {
      stepper.dispose();
    }
  }
}

/** How many units of each layer the heatmaps show, and how many characters. */
const SHOWN_UNITS = 24;
const SHOWN_CHARS = 80;

/** Characters as heatmap columns: unique, in order, a space made visible. */
const columns = (chars: string[]): string[] => chars.map((c, t) => `${String(t).padStart(2, '0')} ${c === ' ' ? '\u2423' : c === '\n' ? '\u21b5' : c}`);

/**
 * The first layer's h and gates at every character of the text, and the saliency of each
 * character for the model's next prediction: the norm of the loss's gradient with respect to
 * that character's embedding, the loss being the prediction's own negative log-probability.
 */
function inside(j: TextJob, text: string): ToPage {
  const chars = [...text].filter((c) => j.vocab.tokens.includes(c)).slice(-SHOWN_CHARS);
  if (chars.length < 2) throw new Error(`type at least two characters the model knows (it knows ${j.vocab.size})`);
  const ids = j.vocab.encode(chars.join(''));
  const T = ids.length;
  const x = noGrad(() => j.model.embedding!.forward(tensor(ids, [T, 1])));
  const [first] = j.model.rnn.activations(x);
  const cols = columns(chars);
  const units = Math.min(SHOWN_UNITS, first!.h.shape[2]!);
  const cells: InsideCell[] = [];
  const add = (panel: string, t: Tensor): void => {
    const width = t.shape[2]!;
    for (let s = 0; s < T; s++) for (let u = 0; u < units; u++) cells.push({ panel, x: cols[s]!, y: String(u).padStart(3, '0'), value: t.data[s * width + u]! });
  };
  add('h', first!.h);
  for (const [name, g] of Object.entries(first!.gates)) add(name, g);
  // saliency: the embeddings as a leaf, the whole model run on them, the predicted next character's loss
  const e = tensor(x.data.slice(), x.shape, { requiresGrad: true });
  const [out] = j.model.rnn.forward(e) as [Tensor, unknown];
  const last = out.data.slice(-out.shape[2]!);
  const top = tensor(last, [1, last.length], { requiresGrad: true });
  const logits = j.model.head!.forward(top);
  const predicted = logits.data.indexOf(Math.max(...logits.data));
  crossEntropy(logits, tensor(Int32Array.of(predicted), [1])).backward();
  // the head's gradient carried back through the layer to every embedding
  const gTop = top.grad!;
  const seqGrad = new Float32Array(out.size);
  seqGrad.set(gTop.data, seqGrad.length - gTop.size);
  out.backward(tensor(seqGrad, out.shape));
  const E = x.shape[2]!;
  const saliency = Array.from({ length: T }, (_, s) => Math.hypot(...e.grad!.data.slice(s * E, (s + 1) * E)));
  return { type: 'inside', kind: j.model.rnn.kind, chars, cells, saliency, predicted: j.vocab.decode([predicted]) };
}

/**
 * ||dL/dh_t|| at every step t of the text for a one-layer model, L the loss of predicting the
 * text's last character: the sequence run one step at a time, each step's state a leaf, and the
 * gradient carried back step by step (each step's backward seeded with the next one's).
 */
function gradientNorms(model: SequenceModel, vocab: CharVocabulary, text: string): number[] {
  const ids = vocab.encode(text);
  const T = ids.length - 1;
  const H = model.rnn.hiddenSize;
  const cell = model.rnn.rule.cell;
  const emb = noGrad(() => model.embedding!.forward(tensor(ids.slice(0, T), [T, 1])));
  const E = emb.shape[2]!;
  const leaf = (data: ArrayLike<number>): Tensor => tensor(Float32Array.from(data), [1, 1, H], { requiresGrad: true });
  let h = leaf(new Float32Array(H));
  let c = cell ? leaf(new Float32Array(H)) : null;
  const steps: { hIn: Tensor; cIn: Tensor | null; hN: Tensor; cN: Tensor | null }[] = [];
  for (let t = 0; t < T; t++) {
    const xt = tensor(emb.data.slice(t * E, (t + 1) * E), [1, 1, E]);
    const [, state] = model.rnn.forward(xt, (cell ? [h, c] : h) as never);
    const [hN, cN] = cell ? (state as [Tensor, Tensor]) : [state as Tensor, null];
    steps.push({ hIn: h, cIn: c, hN, cN });
    h = leaf(hN.data);
    c = cN ? leaf(cN.data) : null;
  }
  crossEntropy(model.head!.forward(h.reshape([1, H])), tensor(Int32Array.of(ids[T]!), [1])).backward();
  let gh = h.grad!;
  let gc: Tensor | null = c ? tensor(new Float32Array(H), [1, 1, H]) : null;
  const norms = new Array<number>(T);
  for (let t = T - 1; t >= 0; t--) {
    norms[t] = Math.hypot(...gh.data);
    const s = steps[t]!;
    let objective = s.hN.mul(gh).sum();
    if (s.cN && gc) objective = objective.add(s.cN.mul(gc).sum());
    objective.backward();
    gh = s.hIn.grad!;
    gc = s.cIn ? s.cIn.grad! : null;
  }
  return norms;
}

/** An RNN, an LSTM and a GRU (one layer of 64) trained alike on the corpus; each one's gradient norms on the text. */
async function compare(text: string, url: string, steps: number): Promise<ToPage> {
  const corpus = await (await fetch(url)).text();
  const config: TextConfig = { kind: 'rnn', layers: 1, hidden: 64, seqLen: 64, batch: 32, lr: 0.003, clip: 5, seed: 1 };
  const points: { series: string; x: number; y: number }[] = [];
  for (const kind of ['rnn', 'lstm', 'gru'] as const) {
    const j = TextJob.fresh(corpus, { ...config, kind });
    const known = [...text].filter((ch) => j.vocab.tokens.includes(ch)).join('');
    if (known.length < 3) throw new Error('type at least three characters of the corpus');
    while (j.step < steps) {
      const t0 = performance.now();
      while (j.step < steps && performance.now() - t0 < 100) j.trainStep();
      post({ type: 'compareProgress', kind, step: j.step, steps });
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    gradientNorms(j.model, j.vocab, known).forEach((y, x) => points.push({ series: kind.toUpperCase(), x, y }));
  }
  return { type: 'gradnorms', points, text };
}

/**
 * The adding problem: an RNN, an LSTM and a GRU of the same size trained side by side, a step of
 * each in turn on the same batches (Adam 2e-3, gradient norm clipped at 1); the three mean
 * losses every 25 steps, then each one's MSE on 1,000 unseen sequences.
 */
async function adding(length: number, steps: number, hidden: number): Promise<ToPage> {
  const t0 = performance.now();
  const kinds = ['rnn', 'lstm', 'gru'] as const;
  const runs = kinds.map((kind) => {
    manualSeed(1);
    const model = new SequenceModel({ rnn: { kind, inputSize: 2, hiddenSize: hidden }, head: { outFeatures: 1 }, output: 'last' });
    return { kind, model, optimizer: new Adam(model.parameters(), { lr: 2e-3 }), sum: 0 };
  });
  const rng = new Generator(2);
  let last = performance.now();
  for (let step = 1; step <= steps; step++) {
    const { x, y } = addingProblem(length, 64, rng);
    for (const r of runs) {
      r.optimizer.zeroGrad();
      const loss = mseLoss(r.model.forward(x)[0] as Tensor, y);
      loss.backward();
      clipGradNorm(r.model.parameters(), 1);
      r.optimizer.step();
      r.sum += loss.item();
    }
    if (step % 25 === 0) {
      post({ type: 'addingProgress', step, losses: Object.fromEntries(runs.map((r) => [r.kind.toUpperCase(), r.sum / 25])) });
      for (const r of runs) r.sum = 0;
    }
    if (performance.now() - last > 100) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      last = performance.now();
    }
  }
  const test = addingProblem(length, 1000, new Generator(999));
  const testMse = Object.fromEntries(runs.map((r) => [r.kind.toUpperCase(), noGrad(() => mseLoss(r.model.eval().forward(test.x)[0] as Tensor, test.y).item())]));
  return { type: 'addingDone', testMse, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Runs `steps` training steps (each returning its loss) in slices of about 100 ms; after each
 * slice, posts the slice's mean loss as the task's progress and yields, so the worker reads its
 * messages in between.
 */
async function trainInSlices(task: TaskName, steps: number, step: () => number): Promise<void> {
  let sum = 0, n = 0, last = performance.now();
  for (let s = 1; s <= steps; s++) {
    sum += step();
    n++;
    if (performance.now() - last > 100 || s === steps) {
      post({ type: 'progressOf', task, step: s, steps, loss: sum / n });
      sum = 0;
      n = 0;
      await new Promise((resolve) => setTimeout(resolve, 0));
      last = performance.now();
    }
  }
}

/** A series from the page's data, with the settings its forecaster trains with. */
interface SeriesData {
  title: string;
  values: number[];
  dates: string[];
  window: number;
  season: number;
  horizon: number;
  test: number;
  difference: boolean;
}

/** The trained forecaster, for forecasts at other horizons. */
let forecaster: { model: SequenceModel; extras: SeriesExtras; data: SeriesData; y: Float64Array } | null = null;

/**
 * An LSTM forecaster as `recurrent train series` trains one: on the series' values or their
 * differences, scaled with statistics of the training part only (the last `test` values held
 * out), windows of `window` values to the next one, Adam 3e-3, gradient norm clipped at 1.
 */
async function trainForecaster(url: string, steps: number, hidden: number): Promise<ToPage> {
  const data = (await (await fetch(url)).json()) as SeriesData;
  const y = Float64Array.from(data.values);
  const trainEnd = y.length - data.test;
  const series = data.difference ? difference(y) : y;
  const trainPart = series.subarray(0, data.difference ? trainEnd - 1 : trainEnd);
  const scaler = Scaler.fit(trainPart);
  const scaled = Float64Array.from(trainPart, (v) => scaler.transform(v));
  manualSeed(3);
  const model = new SequenceModel({ rnn: { kind: 'lstm', inputSize: 1, hiddenSize: hidden }, head: { outFeatures: 1 }, output: 'last' });
  const optimizer = new Adam(model.parameters(), { lr: 3e-3 });
  const rng = new Generator(4);
  await trainInSlices('forecast', steps, () => {
    const { x, y: target } = randomSeriesWindows(scaled, data.window, 64, rng);
    optimizer.zeroGrad();
    const loss = mseLoss(model.forward(x)[0] as Tensor, target);
    loss.backward();
    clipGradNorm(model.parameters(), 1);
    optimizer.step();
    return loss.item();
  });
  const extras: SeriesExtras = { task: 'series', column: data.title, window: data.window, difference: data.difference, scaler: scaler.toJSON(), season: data.season, horizon: data.horizon };
  forecaster = { model, extras, data, y };
  return forecastAt(data.horizon);
}

/**
 * A forecaster's model file (as `recurrent train series` and this page save them) set to
 * forecast the series at url; throws, changing nothing, on anything else.
 */
async function loadForecaster(bytes: Uint8Array, name: string, url: string): Promise<ToPage> {
  let loaded;
  try {
    loaded = loadModel(bytes);
  } catch (e) {
    throw new Error(`${name} is not a model file this page can read: ${e instanceof Error ? e.message : String(e)}`);
  }
  const ex = loaded.extras as Partial<SeriesExtras>;
  if (ex.task !== 'series') throw new Error(`${name} holds a ${typeof ex.task === 'string' ? `'${ex.task}'` : 'model without a task'} model; forecasting takes a series model (saved by this page or 'recurrent train series')`);
  if (!Number.isInteger(ex.window) || typeof ex.difference !== 'boolean' || !ex.scaler) throw new Error(`${name}: its series settings (window, difference, scaler) are missing or malformed`);
  const data = (await (await fetch(url)).json()) as SeriesData;
  const extras = ex as SeriesExtras;
  const y = Float64Array.from(data.values);
  if (y.length < extras.window + data.test) throw new Error(`${name} reads windows of ${extras.window} values: too long for this series of ${y.length}`);
  forecaster = { model: loaded.model, extras, data: { ...data, window: extras.window, difference: extras.difference, season: extras.season ?? data.season }, y };
  return forecastAt(Math.min(extras.horizon ?? data.horizon, data.test));
}

/**
 * The forecast from the last origin that leaves `horizon` values to compare with, drawn over
 * the actuals with the seasonal-naive forecast, and the backtest over every origin in the
 * held-out part.
 */
function forecastAt(horizon: number): ToPage {
  if (!forecaster) throw new Error('train a forecaster first');
  const { model, extras, data, y } = forecaster;
  const N = y.length, S = data.season;
  if (!Number.isInteger(horizon) || horizon < 1 || horizon > data.test) throw new Error(`the horizon must be a whole number from 1 to ${data.test}, got ${horizon}`);
  const bt = backtest(model, extras, y, N - data.test, horizon, S);
  if (!bt) throw new Error(`no origin in the last ${data.test} values leaves ${horizon} to compare with`);
  const o = N - horizon;
  const [pred] = forecastFrom(model, extras, y, [o], horizon);
  const points: { series: string; x: number; y: number }[] = [];
  for (let i = Math.max(0, o - Math.max(3 * horizon, 48)); i < N; i++) points.push({ series: 'actual', x: i, y: y[i]! });
  for (let h = 0; h < horizon; h++) {
    points.push({ series: 'LSTM forecast', x: o + h, y: pred![h]! });
    points.push({ series: 'seasonal naive', x: o + h, y: y[o + h - S * Math.ceil((h + 1) / S)]! });
  }
  return { type: 'forecast', title: data.title, horizon, points, rmse: bt.rmse, seasonalRmse: bt.seasonal_naive_rmse, naiveRmse: bt.naive_rmse, origins: bt.origins, dates: [data.dates[o]!, data.dates[N - 1]!] };
}

/** The pronunciation model and its two vocabularies (letters, phonemes). */
let g2p: { model: Seq2Seq; src: SymbolVocabulary; tgt: SymbolVocabulary } | null = null;

/**
 * A grapheme-to-phoneme model on the page's slice of CMUdict, smaller than examples/g2p.mjs's
 * so that it learns in minutes: letters through a bidirectional LSTM (2 x 64), Bahdanau
 * attention, an LSTM decoder (128); Adam 3e-3, batches of 64 pairs of like lengths.
 */
async function trainG2p(url: string, steps: number): Promise<ToPage> {
  const lines = (await (await fetch(url)).text()).trim().split('\n').map((l) => l.split('\t') as [string, string]);
  const src = SymbolVocabulary.fromTexts(lines.map(([w]) => w), 'char');
  const tgt = SymbolVocabulary.fromTexts(lines.map(([, p]) => p), 'space');
  const pairs = lines.map(([w, p]) => ({ source: src.encode(w), target: tgt.encode(p) }));
  manualSeed(1);
  const model = new Seq2Seq({
    sourceVocab: src.size, sourceEmbedding: 32, targetVocab: tgt.size, targetEmbedding: 32,
    encoder: { kind: 'lstm', hiddenSize: 64, bidirectional: true }, decoder: { kind: 'lstm', hiddenSize: 128 },
    attention: 'bahdanau', bos: tgt.bos, eos: tgt.eos, pad: tgt.pad,
  });
  const optimizer = new Adam(model.parameters(), { lr: 3e-3 });
  const rng = new Generator(7);
  const ids = { sourcePad: src.pad, pad: tgt.pad, bos: tgt.bos, eos: tgt.eos };
  let batches: PairBatch[] = [];
  await trainInSlices('g2p', steps, () => {
    if (batches.length === 0) batches = pairBatches(pairs, 64, rng, ids);
    optimizer.zeroGrad();
    const loss = model.loss(batches.pop()!);
    loss.backward();
    clipGradNorm(model.parameters(), 5);
    optimizer.step();
    return loss.item();
  });
  g2p = { model, src, tgt };
  return { type: 'g2pReady', words: new Set(lines.map(([w]) => w)).size, parameters: model.numParameters(), source: 'trained here' };
}

/** A word's phonemes (greedy decoding) and the attention of each phoneme over the letters. */
function pronounce(word: string): ToPage {
  if (!g2p) throw new Error('train or upload a pronunciation model first');
  const { model, src, tgt } = g2p;
  const w = word.trim().toLowerCase();
  if (!w || w.length > 40) throw new Error(`type a word of 1 to 40 letters, got ${JSON.stringify(word.slice(0, 50))}`);
  const source = src.encode(w, { who: 'the word' }); // throws, naming the characters it does not know
  const b = pairBatch([{ source, target: new Int32Array(0) }], [0], { sourcePad: src.pad, pad: tgt.pad, bos: tgt.bos, eos: tgt.eos });
  const [out] = model.translate(b.source, { sourceLengths: b.sourceLengths });
  const phonemes = tgt.decode(out!.tokens).split(' ').filter(Boolean);
  const rows = [...phonemes, '</s>'];
  const letters = [...w];
  const cells: InsideCell[] = [];
  out!.attention.forEach((row, i) => row.forEach((v, j) => cells.push({ panel: w, x: `${String(j).padStart(2, '0')} ${letters[j]}`, y: `${String(i).padStart(2, '0')} ${rows[i]}`, value: v })));
  return { type: 'pronounced', word: w, phonemes, cells };
}

/** A seq2seq model file with its vocabularies; throws, changing nothing, on anything else. */
function loadG2p(bytes: Uint8Array, name: string): ToPage {
  let loaded;
  try {
    loaded = loadSeq2Seq(bytes);
  } catch (e) {
    throw new Error(`${name} is not a sequence-to-sequence model file this page can read: ${e instanceof Error ? e.message : String(e)}`);
  }
  const { model, extras } = loaded;
  if (!extras['source'] || !extras['target']) throw new Error(`${name} carries no vocabularies (save it with 'recurrent train seq2seq' or examples/g2p.mjs --out)`);
  g2p = { model, src: SymbolVocabulary.fromJSON(extras['source']), tgt: SymbolVocabulary.fromJSON(extras['target']) };
  return { type: 'g2pReady', words: 0, parameters: model.numParameters(), source: name };
}

/** The digit reader: a bidirectional LSTM over the 28-pixel columns of a line, with a linear layer to the blank and ten digits. */
let reader: { rnn: LSTM; head: Linear; testImages: DigitImage[]; rng: Generator } | null = null;

/** Log-probabilities (T, N, 11) of the blank and each digit per column. */
function readColumns(r: { rnn: LSTM; head: Linear }, x: Tensor, lengths: number[]): Tensor {
  return r.head.forward(r.rnn.forward(x, null, { lengths })[0]).logSoftmax(2);
}

/**
 * A smaller reader than examples/digits-ctc.mjs's (two bidirectional layers of 64), trained as
 * it is: lines of 3-8 training digits with random gaps, each digit warped a little, ctcLoss,
 * Adam 2e-3, gradient norm clipped at 5, 16 lines a step; scored on 200 lines of held-out digits.
 */
async function trainDigits(url: string, steps: number): Promise<ToPage> {
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const images: DigitImage[] = [];
  for (let i = 0; i + 785 <= bytes.length; i += 785) images.push({ digit: bytes[i]!, pixels: Float32Array.from(bytes.subarray(i + 1, i + 785), (v) => v / 255) });
  const { trainImages, testImages } = splitDigits(images);
  manualSeed(3);
  const r = {
    rnn: new LSTM({ inputSize: 28, hiddenSize: 64, numLayers: 2, bidirectional: true }),
    head: new Linear({ inFeatures: 128, outFeatures: 11 }),
    testImages, rng: new Generator(13),
  };
  const params = [...r.rnn.parameters(), ...r.head.parameters()];
  const optimizer = new Adam(params, { lr: 2e-3 });
  const rng = new Generator(12);
  await trainInSlices('digits', steps, () => {
    const b = batchOf(Array.from({ length: 16 }, () => composeLine(trainImages, rng, 1)));
    optimizer.zeroGrad();
    const loss = ctcLoss(readColumns(r, b.x, b.lengths), b.y, b.lengths, b.targetLengths);
    loss.backward();
    clipGradNorm(params, 5);
    optimizer.step();
    return loss.item();
  });
  reader = r;
  const testRng = new Generator(14);
  const lines = Array.from({ length: 200 }, () => composeLine(testImages, testRng));
  let edits = 0, length = 0, right = 0;
  noGrad(() => {
    for (let i = 0; i < lines.length; i += 50) {
      const chunk = lines.slice(i, i + 50);
      const b = batchOf(chunk);
      const got = ctcGreedyDecode(readColumns(r, b.x, b.lengths), b.lengths);
      chunk.forEach((l, k) => {
        const d = editDistance(got[k]!, l.labels);
        edits += d;
        length += l.labels.length;
        if (d === 0) right++;
      });
    }
  });
  return { type: 'digitsReady', labelErrorRate: edits / length, lineAccuracy: right / lines.length, lines: lines.length };
}

/** The digits the reader reads in columns (width, 28). */
function readDigits(cols: Float32Array, width: number): string {
  if (!reader) throw new Error('train the digit reader first');
  if (!(width >= 4 && width <= 2000) || cols.length !== width * 28) throw new Error(`expected columns of 28 pixels, 4 to 2000 of them, got ${cols.length} values for width ${width}`);
  const r = reader;
  const [ids] = noGrad(() => ctcGreedyDecode(readColumns(r, tensor(cols, [width, 1, 28]), [width]), [width]));
  return ids!.map((l) => String(l - 1)).join('');
}

async function run(): Promise<void> {
  let lastVal = performance.now(), lastSample = performance.now();
  while (state === 'running' || state === 'paused') {
    const j = job!;
    if (state === 'running') {
      const t0 = performance.now();
      let steps = 0;
      do {
        const loss = j.trainStep();
        steps++;
        if (!Number.isFinite(loss)) {
          state = 'stopped';
          post({ type: 'error', message: `training diverged: the loss is ${loss} at step ${j.step}; lower the learning rate or set clipping` });
          post({ type: 'state', state });
          return;
        }
        j.smooth = j.smooth === null ? loss : 0.9 * j.smooth + 0.1 * loss;
      } while (performance.now() - t0 < 100);
      const seconds = (performance.now() - t0) / 1000;
      j.trainSeconds += seconds;
      post({ type: 'progress', step: j.step, loss: j.smooth!, tokensPerSecond: (steps * j.config.seqLen * j.config.batch) / seconds, seconds: j.trainSeconds });
      if (performance.now() - lastVal > 2000) {
        post({ type: 'validation', step: j.step, loss: j.validate() });
        lastVal = performance.now();
      }
      if (performance.now() - lastSample > 4000 && !sampleWanted) {
        sampleWanted = { ...settings, length: Math.min(settings.length, 300), auto: true };
        lastSample = performance.now();
      }
    }
    if (sampleWanted) {
      const r = sampleWanted;
      sampleWanted = null;
      post({ type: 'sample', step: j.step, text: j.sample(r), auto: !!r.auto });
    }
    // the messages that arrived meanwhile (pause, stop, a sample) are handled here
    await new Promise((resolve) => setTimeout(resolve, state === 'paused' ? 50 : 0));
  }
}

self.onmessage = async (e: MessageEvent<FromPage>) => {
  const m = e.data;
  try {
    switch (m.type) {
      case 'init': {
        await ready();
        const info = backendInfo();
        post({ type: 'backend', name: info.name, wasm: info.wasm ?? null, threads: info.threads, isolated: self.crossOriginIsolated === true, notes: info.notes });
        break;
      }
      case 'start': {
        if (state === 'running' || state === 'paused') return;
        await ready();
        const text = await (await fetch(m.url)).text();
        settings = m.sample;
        job = TextJob.fresh(text, m.config);
        post({ type: 'started', vocab: job.vocab.size, parameters: job.model.numParameters(), characters: text.length });
        state = 'running';
        post({ type: 'state', state });
        void run();
        break;
      }
      case 'settings':
        settings = m.sample;
        break;
      case 'pause':
        if (state === 'running') post({ type: 'state', state: (state = 'paused') });
        break;
      case 'resume':
        if (state === 'paused') post({ type: 'state', state: (state = 'running') });
        break;
      case 'stop':
        if (state === 'running' || state === 'paused') post({ type: 'state', state: (state = 'stopped') });
        break;
      case 'sample':
        if (!job) throw new Error('train a model first');
        if (state === 'running' || state === 'paused') sampleWanted = m.request;
        else post({ type: 'sample', step: job.step, text: job.sample(m.request), auto: false });
        break;
      case 'load': {
        const loaded = TextJob.fromFile(m.bytes, m.name); // throws before anything changes
        if (state === 'running' || state === 'paused') post({ type: 'state', state: (state = 'stopped') });
        job = loaded;
        post({ type: 'loaded', name: m.name, vocab: job.vocab.size, parameters: job.model.numParameters(), kind: job.model.rnn.kind });
        break;
      }
      case 'benchmark': {
        if (state === 'running') throw new Error('pause or stop the training first: the benchmark needs the cores to itself');
        await ready();
        R.manualSeed(0);
        const r = time(lm(R, 'lstm', 256), m.seconds);
        post({ type: 'benchmark', workload: 'lstm-lm', ...r });
        break;
      }
      case 'adding':
        if (state === 'running') throw new Error('pause or stop the training first: the three models need the cores');
        post(await adding(m.length, m.steps, m.hidden));
        break;
      case 'forecastTrain':
        if (state === 'running') throw new Error('pause or stop the text model first: the forecaster needs the cores');
        post(await trainForecaster(m.url, m.steps, m.hidden));
        break;
      case 'saveForecaster':
        if (!forecaster) throw new Error('train a forecaster first');
        post({ type: 'model', name: 'playground-forecaster.safetensors', bytes: saveModel(forecaster.model, forecaster.extras as unknown as Record<string, unknown>) });
        break;
      case 'loadForecaster':
        post(await loadForecaster(m.bytes, m.name, m.url));
        break;
      case 'forecastHorizon':
        post(forecastAt(m.horizon));
        break;
      case 'g2pTrain':
        claimCores('the pronunciation model');
        post(await trainG2p(m.url, m.steps));
        break;
      case 'pronounce':
        post(pronounce(m.word));
        break;
      case 'g2pLoad':
        post(loadG2p(m.bytes, m.name));
        break;
      case 'digitsTrain':
        claimCores('the digit reader');
        post(await trainDigits(m.url, m.steps));
        break;
      case 'readDigits':
        post({ type: 'digitsRead', digits: readDigits(m.cols, m.width), truth: null });
        break;
      case 'testLine': {
        if (!reader) throw new Error('train the digit reader first');
        if (m.digits !== '' && !/^[0-9]{1,12}$/.test(m.digits)) throw new Error(`digits to compose: 1 to 12 of 0-9, got ${JSON.stringify(m.digits.slice(0, 20))}`);
        const line = composeLine(reader.testImages, reader.rng, 0, m.digits ? [...m.digits].map(Number) : null);
        post({ type: 'testLine', cols: line.cols, width: line.width, truth: line.labels.map((l) => String(l - 1)).join('') });
        break;
      }
      case 'inside':
        if (!job) throw new Error('train or upload a model first');
        post(inside(job, m.text));
        break;
      case 'compare':
        if (state === 'running') throw new Error('pause or stop the training first: the comparison trains three models of its own');
        post(await compare(m.text, m.url, m.steps));
        break;
      case 'save':
        if (!job) throw new Error('train a model first');
        post({ type: 'model', name: 'playground-text.safetensors', bytes: saveModel(job.model, { task: 'text', vocab: job.vocab.toJSON() }) });
        break;
    }
  } catch (err) {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
};
