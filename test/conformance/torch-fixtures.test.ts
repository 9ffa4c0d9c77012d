/**
 * PyTorch's own values (test/fixtures/torch, computed in float64 by PyTorch 1.13) reproduced
 * through the public API, on every backend: outputs, final states, the gradient of every
 * parameter and input, and whole training runs.
 */
import { describe, it } from 'node:test';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  Tensor, tensor, LSTM, GRU, RNN, LSTMCell, GRUCell, RNNCell, Embedding, Linear, crossEntropy,
  Adam, AdamW, SGD, RMSprop, clipGradNorm, listBackends, setBackend, type DType, type Module,
} from 'recurrent';
import { ROOT, fixture, fromArr, assertClose, type Arr } from '../helpers.js';

interface LayerCase {
  config: { kind: 'RNN' | 'LSTM' | 'GRU'; input_size: number; hidden_size: number; num_layers: number; bias: boolean;
    batch_first: boolean; bidirectional: boolean; nonlinearity: 'tanh' | 'relu' | null; proj_size: number | null };
  params: Record<string, Arr>;
  input: Arr; output: Arr; h_n: Arr; c_n?: Arr; h_0?: Arr; c_0?: Arr;
  r_output: Arr; r_h_n: Arr; r_c_n?: Arr;
  grads: Record<string, Arr>;
}

interface CellCase {
  config: { kind: 'RNNCell' | 'LSTMCell' | 'GRUCell'; input_size: number; hidden_size: number; bias: boolean; nonlinearity: 'tanh' | 'relu' | null };
  params: Record<string, Arr>;
  input: Arr; h_0: Arr; c_0?: Arr; h_1: Arr; c_1?: Arr; r_h_1: Arr; r_c_1?: Arr;
  grads: Record<string, Arr>;
}

interface TrainCase {
  config: { kind: 'RNN' | 'LSTM' | 'GRU'; vocab: number; embedding_dim: number; hidden_size: number; seq_len: number; batch: number;
    steps: number; lr: number; clip_grad_norm: number; optimizer: 'adam' | 'sgd' | 'adamw' | 'rmsprop' };
  tokens: { shape: number[]; data: number[] };
  initial_params: Record<string, Arr>; final_params: Record<string, Arr>;
  losses: number[]; grad_norms_before_clip: number[];
}

const names = readdirSync(join(ROOT, 'test', 'fixtures', 'torch')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
const layerCases = names.filter((n) => /^(rnn|lstm|gru)_/.test(n));
const cellCases = names.filter((n) => /cell/.test(n));
const trainCases = names.filter((n) => n.startsWith('train_'));

/** The task's bound for float32; float64 must agree far more tightly. */
const TOL: Record<'float32' | 'float64', [number, number]> = { float32: [1e-5, 1e-4], float64: [1e-10, 1e-9] };

function stateDictOf(params: Record<string, Arr>, dtype: DType, prefix = ''): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(params)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = fromArr(v, dtype);
  return out;
}

function buildLayer(c: LayerCase['config']): LSTM | GRU | RNN {
  const base = { inputSize: c.input_size, hiddenSize: c.hidden_size, numLayers: c.num_layers, bias: c.bias, batchFirst: c.batch_first, bidirectional: c.bidirectional };
  if (c.kind === 'LSTM') return new LSTM({ ...base, projSize: c.proj_size ?? 0 });
  if (c.kind === 'GRU') return new GRU(base);
  return new RNN({ ...base, nonlinearity: c.nonlinearity ?? 'tanh' });
}

function checkGrads(m: Module, grads: Record<string, Arr>, inputs: Record<string, Tensor | undefined>, dtype: 'float32' | 'float64', label: string): void {
  const [atol, rtol] = TOL[dtype];
  const named = new Map(m.namedParameters());
  let checked = 0;
  for (const [name, g] of Object.entries(grads)) {
    const t = named.get(name) ?? inputs[name];
    if (!t) throw new Error(`${label}: nothing named ${name} to compare`);
    if (!t.grad) throw new Error(`${label}: ${name} got no gradient`);
    assertClose(t.grad, g, `${label} grad ${name}`, atol, rtol);
    checked++;
  }
  if (checked !== Object.keys(grads).length || checked < named.size) throw new Error(`${label}: compared ${checked} gradients`);
}

for (const be of listBackends()) {
  describe(`PyTorch fixtures [${be}]`, () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const [atol, rtol] = TOL[dtype];
      for (const name of layerCases) {
        it(`${name} ${dtype}`, () => {
          setBackend(be);
          const c = fixture<LayerCase>(name);
          const m = buildLayer(c.config).to(dtype);
          m.loadStateDict(stateDictOf(c.params, dtype));
          const x = fromArr(c.input, dtype, true);
          const h0 = c.h_0 ? fromArr(c.h_0, dtype, true) : undefined;
          const c0 = c.c_0 ? fromArr(c.c_0, dtype, true) : undefined;
          let out: Tensor, hN: Tensor, cN: Tensor | undefined;
          if (m instanceof LSTM) [out, [hN, cN]] = m.forward(x, h0 && c0 ? [h0, c0] : undefined);
          else [out, hN] = m.forward(x, h0);
          assertClose(out, c.output, `${name} output`, atol, rtol);
          assertClose(hN, c.h_n, `${name} h_n`, atol, rtol);
          if (c.c_n) assertClose(cN!, c.c_n, `${name} c_n`, atol, rtol);
          let loss = out.mul(fromArr(c.r_output, dtype)).sum().add(hN.mul(fromArr(c.r_h_n, dtype)).sum());
          if (c.r_c_n) loss = loss.add(cN!.mul(fromArr(c.r_c_n, dtype)).sum());
          loss.backward();
          checkGrads(m, c.grads, { input: x, h_0: h0, c_0: c0 }, dtype, name);
        });
      }
      for (const name of cellCases) {
        it(`${name} ${dtype}`, () => {
          setBackend(be);
          const c = fixture<CellCase>(name);
          const opts = { inputSize: c.config.input_size, hiddenSize: c.config.hidden_size, bias: c.config.bias };
          const x = fromArr(c.input, dtype, true);
          const h0 = fromArr(c.h_0, dtype, true);
          const c0 = c.c_0 ? fromArr(c.c_0, dtype, true) : undefined;
          let m: Module;
          let loss: Tensor;
          if (c.config.kind === 'LSTMCell') {
            const cell = new LSTMCell(opts).to(dtype);
            cell.loadStateDict(stateDictOf(c.params, dtype));
            const [h1, c1] = cell.forward(x, [h0, c0!]);
            assertClose(h1, c.h_1, `${name} h_1`, atol, rtol);
            assertClose(c1, c.c_1!, `${name} c_1`, atol, rtol);
            loss = h1.mul(fromArr(c.r_h_1, dtype)).sum().add(c1.mul(fromArr(c.r_c_1!, dtype)).sum());
            m = cell;
          } else {
            const cell = c.config.kind === 'GRUCell' ? new GRUCell(opts) : new RNNCell({ ...opts, nonlinearity: c.config.nonlinearity ?? 'tanh' });
            cell.to(dtype).loadStateDict(stateDictOf(c.params, dtype));
            const h1 = cell.forward(x, h0);
            assertClose(h1, c.h_1, `${name} h_1`, atol, rtol);
            loss = h1.mul(fromArr(c.r_h_1, dtype)).sum();
            m = cell;
          }
          loss.backward();
          checkGrads(m, c.grads, { input: x, h_0: h0, c_0: c0 }, dtype, name);
        });
      }
    }
    for (const name of trainCases) {
      it(`${name} float32: per-step losses, gradient norms and final parameters`, () => {
        setBackend(be);
        const c = fixture<TrainCase>(name);
        const cfg = c.config;
        const [atol, rtol] = TOL.float32;
        const emb = new Embedding({ numEmbeddings: cfg.vocab, embeddingDim: cfg.embedding_dim });
        const opts = { inputSize: cfg.embedding_dim, hiddenSize: cfg.hidden_size };
        const rnn = cfg.kind === 'LSTM' ? new LSTM(opts) : cfg.kind === 'GRU' ? new GRU(opts) : new RNN(opts);
        const head = new Linear({ inFeatures: cfg.hidden_size, outFeatures: cfg.vocab });
        emb.loadStateDict(stateDictOf(c.initial_params, 'float32', 'embedding.'));
        rnn.loadStateDict(stateDictOf(c.initial_params, 'float32', 'rnn.'));
        head.loadStateDict(stateDictOf(c.initial_params, 'float32', 'head.'));
        const params = [...emb.parameters(), ...rnn.parameters(), ...head.parameters()];
        const opt = cfg.optimizer === 'adam' ? new Adam(params, { lr: cfg.lr })
          : cfg.optimizer === 'adamw' ? new AdamW(params, { lr: cfg.lr, weightDecay: 0.1 })
            : cfg.optimizer === 'sgd' ? new SGD(params, { lr: cfg.lr, momentum: 0.9 })
              : new RMSprop(params, { lr: cfg.lr });
        const [T1, B] = c.tokens.shape as [number, number];
        const T = T1 - 1;
        const inputs = tensor(Int32Array.from(c.tokens.data.slice(0, T * B)), [T, B]);
        const targets = tensor(Int32Array.from(c.tokens.data.slice(B)), [T * B]);
        const losses: number[] = [];
        const norms: number[] = [];
        for (let s = 0; s < cfg.steps; s++) {
          opt.zeroGrad();
          const [seq] = rnn.forward(emb.forward(inputs));
          const loss = crossEntropy(head.forward(seq).reshape([T * B, cfg.vocab]), targets);
          loss.backward();
          norms.push(clipGradNorm(params, cfg.clip_grad_norm));
          opt.step();
          losses.push(loss.item());
        }
        assertClose(losses, c.losses, `${name} losses`, atol, rtol);
        assertClose(norms, c.grad_norms_before_clip, `${name} gradient norms`, atol, rtol);
        const final = new Map([...emb.namedParameters('embedding.'), ...rnn.namedParameters('rnn.'), ...head.namedParameters('head.')]);
        for (const [k, v] of Object.entries(c.final_params)) assertClose(final.get(k)!, v, `${name} final ${k}`, atol, rtol);
        if (final.size !== Object.keys(c.final_params).length) throw new Error(`${name}: parameter sets differ`);
      });
    }
  });
}
