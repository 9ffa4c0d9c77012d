// recurrent on the standard workloads of BENCHMARKS.md. One workload per process:
//   node bench/ours.mjs WORKLOAD [SECONDS]   -> one JSON line
import {
  LSTM, Linear, SequenceModel, sampleLogits, crossEntropy, mseLoss, Adam, randn, randint, manualSeed, Generator,
  backendInfo, ctcLoss, tensor, Seq2Seq, Embedding, noGrad, exportOnnx,
} from '../dist/index.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { measure } from './measure.mjs';
import { lm as lmWith } from './workloads.mjs';
import * as R from '../dist/index.js';

const lm = (...a) => lmWith(R, ...a);

const [name, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg ?? 5);
manualSeed(0);

function ts() {
  const T = 24, B = 64, H = 32;
  const rnn = new LSTM({ inputSize: 1, hiddenSize: H });
  const head = new Linear({ inFeatures: H, outFeatures: 1 });
  const params = [...rnn.parameters(), ...head.parameters()];
  const opt = new Adam(params, { lr: 1e-3 });
  const x = randn([T, B, 1]);
  const y = randn([B, 1]);
  return {
    unit: 'sequences/s', perStep: B, step() {
      opt.zeroGrad();
      const [, [hN]] = rnn.forward(x);
      const loss = mseLoss(head.forward(hN.squeeze(0)), y);
      loss.backward();
      opt.step();
    },
  };
}

// Generation as the library's users call it: stepper.generate, GEN_CHUNK tokens a call (default
// 100, a short paragraph of characters), each token drawn from the step its predecessor fed, the
// state carried from call to call. GEN_CHUNK=1 measures step() and sampleLogits() a token at a time.
function gen() {
  const V = 65, E = 64, H = 256;
  const chunk = Number(process.env.GEN_CHUNK ?? 100);
  const model = new SequenceModel({ embedding: { numEmbeddings: V, embeddingDim: E }, rnn: { kind: 'lstm', inputSize: E, hiddenSize: H }, head: { outFeatures: V } });
  const rng = new Generator(1);
  const stepper = model.stepper(); // embedding, LSTM step and head in one call, weights packed once
  let state = null;
  let token = 0;
  if (chunk === 1) {
    return {
      unit: 'tokens/s', perStep: 1, step() {
        const [logits, s] = stepper.step(token, state);
        state = s;
        token = sampleLogits(logits.data, {}, rng); // softmax and a draw
      },
    };
  }
  return {
    unit: 'tokens/s', perStep: chunk, step() {
      const [ids, s] = stepper.generate(token, chunk, state, {}, rng); // the step, softmax and draw of each token
      state = s;
      token = ids[chunk - 1];
    },
  };
}

// A generation loop as a PyTorch user writes it (BENCHMARKS.md's lstm-step): per token the
// embedding, the layer's forward on one step with the state carried, the head, softmax and a draw;
// 100 tokens a call
function stepLoop() {
  const V = 65, E = 64, H = 256;
  const emb = new Embedding({ numEmbeddings: V, embeddingDim: E });
  const lstm = new LSTM({ inputSize: E, hiddenSize: H });
  const head = new Linear({ inFeatures: H, outFeatures: V });
  const rng = new Generator(1);
  let state = null;
  let token = 0;
  return {
    unit: 'tokens/s', perStep: 100, step() {
      noGrad(() => {
        for (let i = 0; i < 100; i++) {
          const [out, s] = lstm.forward(emb.forward(tensor(Int32Array.of(token), [1, 1])), state);
          state = s;
          token = sampleLogits(head.forward(out.reshape([1, H])).data, {}, rng); // softmax and a draw
        }
      });
    },
  };
}

// One LSTM.forward at T=1, B=1 on lstm-step's sizes (64 -> 256) with the state carried, under
// noGrad: the call the issue of small calls names, 100 calls a step (calls/s; 1e6 / value us a call).
function forwardCall() {
  const lstm = new LSTM({ inputSize: 64, hiddenSize: 256 });
  const x = randn([1, 1, 64]);
  let state = null;
  return {
    unit: 'calls/s', perStep: 100, step() {
      noGrad(() => {
        for (let i = 0; i < 100; i++) state = lstm.forward(x, state)[1];
      });
    },
  };
}

// Inference (BENCHMARKS.md's lstm-infer): Embedding(65, 64) -> LSTM(64, 256) -> Linear(256, 65)
// on every step, forward only, at (T, B). With INFER_DUMP=DIR it first writes what bench/ort.mjs
// needs to run the same model in onnxruntime-node and check it: the ONNX file, the input and our
// output.
async function infer(T, B) {
  const V = 65, E = 64, H = 256;
  const model = new SequenceModel({ embedding: { numEmbeddings: V, embeddingDim: E }, rnn: { kind: 'lstm', inputSize: E, hiddenSize: H }, head: { outFeatures: V } });
  model.eval();
  const x = randint(0, V, [T, B], { dtype: 'int32' });
  if (process.env.INFER_DUMP) {
    const dir = process.env.INFER_DUMP;
    const [out] = noGrad(() => model.forward(x));
    writeFileSync(join(dir, 'model.onnx'), await exportOnnx(model));
    writeFileSync(join(dir, 'input.json'), JSON.stringify({ T, B, ids: Array.from(x.data) }));
    writeFileSync(join(dir, 'output.bin'), new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength));
  }
  return { unit: 'tokens/s', perStep: T * B, step() { noGrad(() => model.forward(x)); } };
}

// CTC loss and its gradient through a log-softmax, as a recognizer's training step computes them
// (the logits stand for a network's output): T=100, N=32, C=30, targets of 10-30 labels
function ctc() {
  const T = 100, N = 32, C = 30;
  const rng = new Generator(3);
  const logits = randn([T, N, C], { requiresGrad: true });
  const lengths = Array.from({ length: N }, () => 10 + rng.int(21));
  const targets = tensor(Int32Array.from({ length: N * 30 }, () => 1 + rng.int(C - 1)), [N, 30]);
  const inputLengths = new Array(N).fill(T);
  return {
    unit: 'sequences/s', perStep: N, step() {
      logits.grad = null;
      ctcLoss(logits.logSoftmax(2), targets, inputLengths, lengths).backward();
    },
  };
}

// BENCHMARKS.md's seq2seq: vocabularies 30 and 45, embeddings 64, a bidirectional GRU encoder
// (128 each way), Bahdanau attention, a GRU decoder (256) fed [embedding, context], Linear(256, 45);
// source and target length 12, batch 64, teacher forcing, Adam; target tokens/s
function seq2seq() {
  const S = 12, T = 12, N = 64;
  const model = new Seq2Seq({
    sourceVocab: 30, sourceEmbedding: 64, targetVocab: 45, targetEmbedding: 64, encoder: { kind: 'gru', hiddenSize: 128, bidirectional: true },
    decoder: { kind: 'gru', hiddenSize: 256 }, attention: 'bahdanau', outputContext: false, bos: 1, eos: 2, pad: 0,
  });
  const opt = new Adam(model.parameters(), { lr: 1e-3 });
  const src = randint(3, 30, [S, N], { dtype: 'int32' });
  const tin = randint(3, 45, [T, N], { dtype: 'int32' });
  const tout = randint(3, 45, [T, N], { dtype: 'int32' });
  return {
    unit: 'tokens/s', perStep: T * N, step() {
      opt.zeroGrad();
      crossEntropy(model.forward(src, tin).reshape([T * N, 45]), tout.reshape([T * N]), { ignoreIndex: 0 }).backward();
      opt.step();
    },
  };
}

const workloads = {
  'lstm-lm': () => lm('lstm', 256), 'gru-lm': () => lm('gru', 256), 'rnn-lm': () => lm('rnn', 256),
  'lstm-big': () => lm('lstm', 512, 2), 'lstm-ts': ts, 'lstm-gen': gen, 'lstm-step': stepLoop, 'lstm-forward-1x1': forwardCall, 'lstm-long': () => lm('lstm', 256, 1, 1024, 8),
  'mingru-lm': () => lm('mingru', 256), 'lnlstm-lm': () => lm('layernorm_lstm', 256), ctc, seq2seq,
};
for (const [T, B] of [[1, 1], [64, 1], [64, 64], [256, 8]]) workloads[`lstm-infer-${T}x${B}`] = () => infer(T, B);
if (!workloads[name]) {
  console.error(`ours.mjs: unknown workload '${name}' (${Object.keys(workloads).join(', ')})`);
  process.exit(2);
}
const info = backendInfo();
const r = measure(await workloads[name](), seconds);
console.log(JSON.stringify({ lib: 'recurrent', variant: `${info.name} ${info.wasm ?? ''} ${info.threads}t`.trim(), workload: name, ...r }));
