/// <reference lib="webworker" />
// The playground's trainer, a Web Worker: the page's thread only draws. Training runs in slices
// of about 100 ms; between slices the worker reads its messages (pause, stop, a sample wanted),
// so it answers within one slice. Everything here is the library's public API.
import {
  ready, backendInfo, SequenceModel, CharVocabulary, Adam, clipGradNorm, crossEntropy, tensor, noGrad, Generator, manualSeed, sampleLogits,
  saveModel, loadModel, vocabularyFromJSON, type Tensor,
} from 'recurrent';
import type { FromPage, ToPage, TextConfig, SampleRequest } from './protocol';

const post = (m: ToPage): void => (self as unknown as DedicatedWorkerGlobalScope).postMessage(m);

let state: 'idle' | 'running' | 'paused' | 'stopped' = 'idle';
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
      case 'save':
        if (!job) throw new Error('train a model first');
        post({ type: 'model', bytes: saveModel(job.model, { task: 'text', vocab: job.vocab.toJSON() }) });
        break;
    }
  } catch (err) {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
};
