/// <reference lib="webworker" />
// The playground's trainer, a Web Worker: the page's thread only draws. Training runs in slices
// of about 100 ms; between slices the worker reads its messages (pause, stop, a sample wanted),
// so it answers within one slice. Everything here is the library's public API.
import {
  ready, backendInfo, SequenceModel, CharVocabulary, Adam, clipGradNorm, crossEntropy, tensor, noGrad, Generator, manualSeed, sampleLogits,
  saveModel, type Tensor,
} from 'recurrent';
import type { FromPage, ToPage, TextConfig, SampleRequest } from './protocol';

const post = (m: ToPage): void => (self as unknown as DedicatedWorkerGlobalScope).postMessage(m);

let state: 'idle' | 'running' | 'paused' | 'stopped' = 'idle';
let job: TextJob | null = null;
let sampleWanted: SampleRequest | null = null;
/** The page's sample settings, for the samples drawn while training. */
let settings: SampleRequest = { prompt: '', temperature: 0.8, topK: 0, length: 160 };

/** A character model on one corpus, trained on random windows. */
class TextJob {
  readonly vocab: CharVocabulary;
  readonly model: SequenceModel;
  readonly optimizer: Adam;
  readonly train: Int32Array;
  readonly val: Int32Array;
  readonly rng: Generator;
  step = 0;
  trainSeconds = 0;
  smooth: number | null = null;

  constructor(readonly text: string, readonly config: TextConfig) {
    manualSeed(config.seed);
    this.vocab = CharVocabulary.fromText(text);
    const ids = this.vocab.encode(text);
    const cut = Math.floor(ids.length * 0.9);
    this.train = ids.subarray(0, cut);
    this.val = ids.subarray(cut);
    const V = this.vocab.size;
    this.model = new SequenceModel({
      embedding: { numEmbeddings: V, embeddingDim: 32 },
      rnn: { kind: config.kind, inputSize: 32, hiddenSize: config.hidden, numLayers: config.layers },
      head: { outFeatures: V },
    });
    this.optimizer = new Adam(this.model.parameters(), { lr: config.lr });
    this.rng = new Generator(config.seed);
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
    this.optimizer.zeroGrad();
    const [logits] = this.model.forward(tensor(x, [T, B]));
    const loss = crossEntropy((logits as Tensor).reshape([T * B, this.vocab.size]), tensor(y, [T * B]));
    loss.backward();
    if (clip > 0) clipGradNorm(this.model.parameters(), clip);
    this.optimizer.step();
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
        job = new TextJob(text, m.config);
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
      case 'save':
        if (!job) throw new Error('train a model first');
        post({ type: 'model', bytes: saveModel(job.model, { task: 'text', vocab: job.vocab.toJSON() }) });
        break;
    }
  } catch (err) {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
};
