/**
 * TensorFlow.js / Keras layers models converted to recurrent reproduce their predictions:
 * models built and saved by @tensorflow/tfjs (SimpleRNN, LSTM, GRU with reset_after=False, which
 * is all TF.js builds; Bidirectional; Dense; Embedding; hard_sigmoid and sigmoid gates), and a
 * Keras GRU with reset_after=True (Keras's default, which TF.js cannot build) written by hand and
 * checked against Keras's equations.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { fromTfjs, tensor, Generator, LSTM, type TfjsModel, type TfjsWeightSpec } from 'recurrent';
import { assertClose, assertThrowsMatching as throws } from '../helpers.js';

async function artifacts(m: tf.LayersModel): Promise<TfjsModel> {
  let out: TfjsModel | null = null;
  await m.save(tf.io.withSaveHandler(async (a) => {
    out = { modelTopology: a.modelTopology, weightSpecs: a.weightSpecs as TfjsWeightSpec[], weightData: a.weightData as ArrayBuffer };
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  // the file form too: model.json's weightsManifest and the shard bytes
  const a = out! as TfjsModel;
  return { modelTopology: JSON.parse(JSON.stringify(a.modelTopology)), weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: a.weightSpecs! }], weightData: a.weightData };
}

const g = new Generator(31);

/** Larger random weights than TF.js's initialisers give (embeddings in +-0.05, zero biases), so every weight shows. */
function randomize(m: tf.LayersModel): void {
  m.setWeights(m.getWeights().map((w) => tf.tensor(Array.from({ length: w.size }, () => (g.random() * 2 - 1) * 0.8), w.shape)));
}

describe('TensorFlow.js / Keras models', () => {
  it('Embedding -> LSTM (hard_sigmoid, sequences) -> GRU (reset_after=False, last) -> Dense(softmax)', async () => {
    const m = tf.sequential();
    m.add(tf.layers.embedding({ inputDim: 12, outputDim: 5, inputLength: 6 }));
    m.add(tf.layers.lstm({ units: 7, returnSequences: true }));
    m.add(tf.layers.gru({ units: 4, returnSequences: false }));
    m.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
    randomize(m);
    const ids = Array.from({ length: 2 * 6 }, () => g.int(12));
    const want = (m.predict(tf.tensor2d(ids, [2, 6], 'int32')) as tf.Tensor).dataSync();
    const ours = fromTfjs(await artifacts(m)).forward(tensor(Int32Array.from(ids), [2, 6]));
    assert.deepEqual([...ours.shape], [2, 3]);
    assertClose(ours.data, want, 'predictions', 1e-4, 0);
  });

  it('SimpleRNN (relu) -> Bidirectional(LSTM, sigmoid, last) -> Dense', async () => {
    const m = tf.sequential();
    m.add(tf.layers.simpleRNN({ units: 6, returnSequences: true, activation: 'relu', inputShape: [5, 3] }));
    m.add(tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 4, recurrentActivation: 'sigmoid' }) as tf.layers.RNN }));
    m.add(tf.layers.dense({ units: 2 }));
    randomize(m);
    const x = Array.from({ length: 3 * 5 * 3 }, () => g.random() * 2 - 1);
    const want = (m.predict(tf.tensor3d(x, [3, 5, 3])) as tf.Tensor).dataSync();
    const ours = fromTfjs(await artifacts(m)).forward(tensor(Float32Array.from(x), [3, 5, 3]));
    assertClose(ours.data, want, 'predictions', 1e-4, 0);
  });

  it('Bidirectional(GRU, sequences) -> TimeDistributed(Dense(tanh)), no bias', async () => {
    const m = tf.sequential();
    m.add(tf.layers.bidirectional({ layer: tf.layers.gru({ units: 5, returnSequences: true, useBias: false }) as tf.layers.RNN, inputShape: [4, 2] }));
    m.add(tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 3, activation: 'tanh' }) }));
    randomize(m);
    const x = Array.from({ length: 2 * 4 * 2 }, () => g.random() * 2 - 1);
    const want = (m.predict(tf.tensor3d(x, [2, 4, 2])) as tf.Tensor).dataSync();
    const ours = fromTfjs(await artifacts(m)).forward(tensor(Float32Array.from(x), [2, 4, 2]));
    assert.deepEqual([...ours.shape], [2, 4, 3]);
    assertClose(ours.data, want, 'predictions', 1e-4, 0);
  });

  it("a Keras GRU with reset_after=True (Keras's default) matches Keras's equations", () => {
    const I = 3, H = 4, T = 5, B = 2;
    const rnd = (n: number): number[] => Array.from({ length: n }, () => g.random() - 0.5);
    const kernel = rnd(I * 3 * H), rec = rnd(H * 3 * H), bias = rnd(2 * 3 * H), x = rnd(B * T * I);
    const topology = { class_name: 'Sequential', config: { name: 's', layers: [
      { class_name: 'GRU', config: { name: 'gru', units: H, reset_after: true, recurrent_activation: 'sigmoid', activation: 'tanh', return_sequences: true, batch_input_shape: [null, T, I] } },
    ] } };
    const weights = new Float32Array([...kernel, ...rec, ...bias]);
    const ours = fromTfjs({ modelTopology: topology, weightSpecs: [
      { name: 'gru/kernel', shape: [I, 3 * H] }, { name: 'gru/recurrent_kernel', shape: [H, 3 * H] }, { name: 'gru/bias', shape: [2, 3 * H] },
    ], weightData: weights.buffer }).forward(tensor(Float32Array.from(x), [B, T, I]));
    // Keras: [z r h] = x K + b_in; rec = h R + b_rec; z = s(xz + rz), r = s(xr + rr), hh = tanh(xh + r * rh), h = z h + (1 - z) hh
    const sig = (v: number): number => 1 / (1 + Math.exp(-v));
    const want: number[] = [];
    for (let b = 0; b < B; b++) {
      let h = new Array<number>(H).fill(0);
      for (let t = 0; t < T; t++) {
        const xi = x.slice((b * T + t) * I, (b * T + t + 1) * I);
        const xk = Array.from({ length: 3 * H }, (_, j) => xi.reduce((s, v, i) => s + v * kernel[i * 3 * H + j]!, 0) + bias[j]!);
        const hr = Array.from({ length: 3 * H }, (_, j) => h.reduce((s, v, i) => s + v * rec[i * 3 * H + j]!, 0) + bias[3 * H + j]!);
        h = h.map((hv, j) => {
          const z = sig(xk[j]! + hr[j]!), r = sig(xk[H + j]! + hr[H + j]!);
          const hh = Math.tanh(xk[2 * H + j]! + r * hr[2 * H + j]!);
          return z * hv + (1 - z) * hh;
        });
        want.push(...h);
      }
    }
    assertClose(ours.data, want, 'reset_after=True', 1e-5, 1e-4);
  });

  it("keeps Keras's recurrent_dropout for further training, and refuses one out of range", () => {
    const layer = (rd: unknown): TfjsModel => ({
      modelTopology: { class_name: 'Sequential', config: { layers: [{ class_name: 'LSTM', config: { name: 'l', units: 2, recurrent_dropout: rd, batch_input_shape: [null, 3, 1] } }] } },
      weightSpecs: [{ name: 'l/kernel', shape: [1, 8] }, { name: 'l/recurrent_kernel', shape: [2, 8] }, { name: 'l/bias', shape: [8] }],
      weightData: new Float32Array(8 + 16 + 8).buffer,
    });
    const lstm = fromTfjs(layer(0.25)).namedChildren()[0]![1] as LSTM;
    assert.equal(lstm.recurrentDropout, 0.25);
    assert.throws(() => fromTfjs(layer(1.2)), /layer l: recurrent_dropout must be in \[0, 1\), got 1.2/);
  });

  it('refuses what it cannot convert, saying why', () => {
    const base = (layers: unknown[]): TfjsModel => ({ modelTopology: { class_name: 'Sequential', config: { layers } }, weightSpecs: [], weightData: new ArrayBuffer(0) });
    throws(() => fromTfjs({ modelTopology: { class_name: 'Model', config: {} }, weightSpecs: [], weightData: new ArrayBuffer(0) }), 'fromTfjs: only Sequential models convert');
    throws(() => fromTfjs(base([{ class_name: 'Conv1D', config: { name: 'conv' } }])), 'layer conv: Conv1D layers are not supported');
    throws(() => fromTfjs(base([{ class_name: 'LSTM', config: { name: 'l', units: 2, go_backwards: true, batch_input_shape: [null, 3, 2] } }])), 'go_backwards is not supported');
    throws(() => fromTfjs(base([{ class_name: 'Bidirectional', config: { name: 'b', merge_mode: 'sum', layer: { class_name: 'GRU', config: { units: 2 } } } }])), "merge_mode 'sum' is not supported");
    throws(() => fromTfjs({ ...base([{ class_name: 'Dropout', config: { name: 'd' } }]), weightSpecs: [{ name: 'a', shape: [2] }], weightData: new ArrayBuffer(4) }), 'need 8 bytes but the weight data hold 4');
    throws(() => fromTfjs(base([])), 'the model has no layers');
  });
});
