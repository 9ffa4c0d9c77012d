/**
 * SequenceModel.forward under noGrad runs on a snapshot of the weights (a stepper's: packed once,
 * token ids indexing precomputed input projections, the head inside the layer's call). It must
 * give exactly what the layers give one after another with gradients recorded, on every backend,
 * and never read stale weights after a change.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  SequenceModel, LSTM, GRU, RNN, Adam, crossEntropy, randn, randint, manualSeed, listBackends, setBackend, backendInfo, noGrad, tensor,
  type SequenceModelConfig, type SequenceState, type Tensor,
} from 'recurrent';
import { eachBackend } from '../helpers.js';

/** Bit for bit: the same values, NaN nowhere. */
function assertSame(got: Tensor, want: Tensor, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  assert.equal(got.dtype, want.dtype, `${what}: dtype`);
  for (let i = 0; i < want.data.length; i++) {
    if (!Object.is(got.data[i], want.data[i])) assert.fail(`${what}: element ${i} is ${got.data[i]}, expected ${want.data[i]}`);
  }
}

function states(s: SequenceState): Tensor[] {
  return Array.isArray(s) ? [...(s as readonly Tensor[])] : [s as Tensor];
}

/** forward with gradients recorded (the layers one after another) and under noGrad: the same. */
function compare(model: SequenceModel, x: Tensor, state: SequenceState | null, what: string): SequenceState {
  const [yWant, sWant] = model.forward(x, state);
  const [yGot, sGot] = noGrad(() => model.forward(x, state));
  assertSame(yGot, yWant, `${what}: output`);
  states(sGot).forEach((t, i) => assertSame(t, states(sWant)[i]!, `${what}: state ${i}`));
  return sGot;
}

const CONFIGS: [string, SequenceModelConfig, 'ids' | 'features'][] = [
  ['lstm, 2 layers, embedding, every step', { embedding: { numEmbeddings: 23, embeddingDim: 11 }, rnn: { kind: 'lstm', inputSize: 11, hiddenSize: 24, numLayers: 2 }, head: { outFeatures: 23 } }, 'ids'],
  ['gru over features, last step', { rnn: { kind: 'gru', inputSize: 5, hiddenSize: 17 }, head: { outFeatures: 3 }, output: 'last' }, 'features'],
  ['rnn, embedding, head without bias', { embedding: { numEmbeddings: 9, embeddingDim: 6 }, rnn: { kind: 'rnn', inputSize: 6, hiddenSize: 40 }, head: { outFeatures: 9, bias: false } }, 'ids'],
  ['lstm with a projection', { rnn: { kind: 'lstm', inputSize: 7, hiddenSize: 16, projSize: 5 }, head: { outFeatures: 4 } }, 'features'],
  ['relu rnn, 3 layers, last step', { embedding: { numEmbeddings: 12, embeddingDim: 8 }, rnn: { kind: 'rnn', inputSize: 8, hiddenSize: 16, numLayers: 3, nonlinearity: 'relu' }, head: { outFeatures: 12 }, output: 'last' }, 'ids'],
  // the general path: kinds whose steppers run other kernels, a bidirectional layer, a mean
  ['layer-normalised lstm', { embedding: { numEmbeddings: 12, embeddingDim: 8 }, rnn: { kind: 'layernorm_lstm', inputSize: 8, hiddenSize: 16 }, head: { outFeatures: 12 } }, 'ids'],
  ['mingru', { rnn: { kind: 'mingru', inputSize: 4, hiddenSize: 16 }, head: { outFeatures: 2 }, output: 'last' }, 'features'],
  ['bidirectional gru, mean', { rnn: { kind: 'gru', inputSize: 4, hiddenSize: 8, bidirectional: true }, head: { outFeatures: 2 }, output: 'mean' }, 'features'],
];

describe('SequenceModel.forward under noGrad (the inference path)', () => {
  it('gives exactly the general path\'s output and state, on every backend, with and without a state', () => {
    eachBackend((backend) => {
    for (const [name, config, input] of CONFIGS) {
      manualSeed(3);
      const model = new SequenceModel(config);
      model.eval();
      for (const [T, B] of [[1, 1], [7, 1], [5, 3]] as const) {
        const x = input === 'ids' ? randint(0, config.embedding!.numEmbeddings, [T, B]) : randn([T, B, config.rnn.inputSize]);
        const what = `${backend}, ${name}, T=${T} B=${B}`;
        const s = compare(model, x, null, what);
        // carried on: the state of the call before
        compare(model, x, s, `${what}, from a state`);
      }
    }
    });
  });

  it('follows the weights: after an optimizer step, loadStateDict and an edit marked modified', () => {
    eachBackend((backend) => {
    manualSeed(4);
    const config: SequenceModelConfig = { embedding: { numEmbeddings: 15, embeddingDim: 8 }, rnn: { kind: 'lstm', inputSize: 8, hiddenSize: 16 }, head: { outFeatures: 15 } };
    const model = new SequenceModel(config);
    const x = randint(0, 15, [6, 2]);
    const y = randint(0, 15, [12]);
    const opt = new Adam(model.parameters(), { lr: 0.05 });
    for (let step = 0; step < 3; step++) {
      compare(model, x, null, `${backend}, before step ${step}`);
      opt.zeroGrad();
      crossEntropy(model.forward(x)[0].reshape([12, 15]), y).backward();
      opt.step();
    }
    compare(model, x, null, `${backend}, after the steps`);
    const other = new SequenceModel(config);
    model.loadStateDict(other.stateDict());
    compare(model, x, null, `${backend}, after loadStateDict`);
    model.head.bias!.data[3] = 7;
    model.head.bias!.markModified();
    compare(model, x, null, `${backend}, after an edit of the head`);
    model.embedding!.weight.data.fill(0.25, 0, 8);
    model.embedding!.weight.markModified();
    compare(model, x, null, `${backend}, after an edit of the embedding`);
    });
  });

  it('a layer\'s forward: the same output and states as with gradients recorded, on every backend', () => {
    eachBackend((backend) => {
    manualSeed(6);
    const layers = [
      new LSTM({ inputSize: 5, hiddenSize: 24, numLayers: 2 }),
      new LSTM({ inputSize: 3, hiddenSize: 16, projSize: 6 }),
      new GRU({ inputSize: 7, hiddenSize: 40 }),
      new RNN({ inputSize: 4, hiddenSize: 9, nonlinearity: 'relu', numLayers: 3 }),
      // the general path: both directions, batch first
      new GRU({ inputSize: 4, hiddenSize: 8, bidirectional: true }),
      new LSTM({ inputSize: 4, hiddenSize: 8, batchFirst: true }),
      new GRU({ inputSize: 4, hiddenSize: 8, zoneout: 0.3 }),
      new LSTM({ inputSize: 4, hiddenSize: 16, numLayers: 2, dropout: 0.5, recurrentDropout: 0.2 }),
    ];
    for (const m of layers) {
      m.eval();
      for (const [T, B] of [[1, 1], [6, 1], [4, 5]] as const) {
        const x = randn(m.batchFirst ? [B, T, m.inputSize] : [T, B, m.inputSize]);
        const what = `${backend}, ${m.constructor.name} ${m.hiddenSize}, T=${T} B=${B}`;
        const [outWant, sWant] = m.forward(x);
        const [outGot, sGot] = noGrad(() => m.forward(x));
        assertSame(outGot, outWant, `${what}: output`);
        states(sGot as SequenceState).forEach((t, i) => assertSame(t, states(sWant as SequenceState)[i]!, `${what}: state ${i}`));
        // from that state
        const [out2Want] = m.forward(x, sWant as never);
        const [out2Got] = noGrad(() => m.forward(x, sGot as never));
        assertSame(out2Got, out2Want, `${what}: output from a state`);
      }
    }
    // an optimizer step: the next forward reads the new weights
    const lstm = layers[0] as LSTM;
    lstm.train();
    const x = randn([3, 2, 5]);
    const opt = new Adam(lstm.parameters(), { lr: 0.1 });
    noGrad(() => lstm.forward(x));
    lstm.forward(x)[0].sum().backward();
    opt.step();
    assertSame(noGrad(() => lstm.forward(x))[0], lstm.forward(x)[0], `${backend}: after a step`);
    });
  });

  it('a snapshot follows the backend in use', () => {
    const before = backendInfo().name;
    try {
      const [a, b] = listBackends();
      if (!b) return;
      manualSeed(7);
      const m = new GRU({ inputSize: 3, hiddenSize: 8 });
      const x = randn([2, 1, 3]);
      setBackend(a!);
      noGrad(() => m.forward(x));
      setBackend(b);
      const [want] = m.forward(x);
      assertSame(noGrad(() => m.forward(x))[0], want, `${a} then ${b}`);
    } finally {
      setBackend(before);
    }
  });

  it('reports bad input as the general path does', () => {
    manualSeed(5);
    const model = new SequenceModel({ embedding: { numEmbeddings: 10, embeddingDim: 4 }, rnn: { kind: 'gru', inputSize: 4, hiddenSize: 8 }, head: { outFeatures: 10 } });
    model.eval();
    const bad = tensor(Int32Array.from([1, 2, 10]), [3, 1]);
    const message = (fn: () => unknown): string => {
      try {
        fn();
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    const want = message(() => model.forward(bad));
    assert.match(want, /10/);
    assert.equal(message(() => noGrad(() => model.forward(bad))), want, 'a token id outside the vocabulary');
    const x = tensor(Int32Array.from([1, 2, 3, 4]), [2, 2]);
    const wrong = randn([1, 3, 8]); // a state for 3 sequences, the batch has 2
    const stateWant = message(() => model.forward(x, wrong));
    assert.match(stateWant, /h0|state/);
    assert.equal(message(() => noGrad(() => model.forward(x, wrong))), stateWant, 'a state of the wrong shape');
  });
});
