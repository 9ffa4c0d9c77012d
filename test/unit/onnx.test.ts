/**
 * ONNX export, checked in a real runtime: each exported model runs in ONNX Runtime
 * (onnxruntime-node) at two batch sizes and sequence lengths from one file, with non-zero
 * initial states as inputs (initialStates) and without state inputs (zeros), and matches
 * recurrent's outputs and final states within 1e-4.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import { SequenceModel, exportOnnx, randint, randn, manualSeed, type SequenceModelConfig, type Tensor } from 'recurrent';
import { assertClose } from '../helpers.js';

const configs: [string, SequenceModelConfig][] = [
  ['LSTM language model, 2 layers, bidirectional', { embedding: { numEmbeddings: 13, embeddingDim: 5 }, rnn: { kind: 'lstm', inputSize: 5, hiddenSize: 7, numLayers: 2, bidirectional: true }, head: { outFeatures: 13 } }],
  ['GRU language model, 2 layers', { embedding: { numEmbeddings: 9, embeddingDim: 4 }, rnn: { kind: 'gru', inputSize: 4, hiddenSize: 6, numLayers: 2 }, head: { outFeatures: 9 } }],
  ['GRU bidirectional forecaster (last step), batch-first', { rnn: { kind: 'gru', inputSize: 3, hiddenSize: 5, bidirectional: true, batchFirst: true }, head: { outFeatures: 2 }, output: 'last' }],
  ['RNN tanh classifier (mean), no bias', { rnn: { kind: 'rnn', inputSize: 4, hiddenSize: 6, bias: false }, head: { outFeatures: 3, bias: false }, output: 'mean' }],
  ['RNN relu, 3 layers, bidirectional', { rnn: { kind: 'rnn', inputSize: 2, hiddenSize: 5, numLayers: 3, bidirectional: true, nonlinearity: 'relu' }, head: { outFeatures: 4 } }],
  ['LSTM forecaster (last step), batch-first, 2 layers', { rnn: { kind: 'lstm', inputSize: 1, hiddenSize: 8, numLayers: 2, batchFirst: true }, head: { outFeatures: 1 }, output: 'last' }],
  ['PeepholeLSTM, 2 layers, bidirectional (ONNX\'s P input)', { rnn: { kind: 'peephole_lstm', inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true }, head: { outFeatures: 2 } }],
  ['PeepholeLSTM language model, no bias', { embedding: { numEmbeddings: 7, embeddingDim: 3 }, rnn: { kind: 'peephole_lstm', inputSize: 3, hiddenSize: 4, bias: false }, head: { outFeatures: 7 } }],
  ["GRU, Keras's reset_after=False (linear_before_reset 0)", { rnn: { kind: 'gru', inputSize: 3, hiddenSize: 4, resetAfter: false, bidirectional: true }, head: { outFeatures: 2 } }],
  ["LSTM, Keras's hard_sigmoid gates (HardSigmoid)", { rnn: { kind: 'lstm', inputSize: 3, hiddenSize: 4, recurrentActivation: 'hard_sigmoid' }, head: { outFeatures: 2 } }],
];

describe('ONNX export, run in ONNX Runtime', () => {
  for (const [name, config] of configs) {
    it(name, async () => {
      manualSeed(3);
      const m = new SequenceModel(config);
      m.eval();
      const session = await ort.InferenceSession.create(await exportOnnx(m, { initialStates: true }));
      const plain = await ort.InferenceSession.create(await exportOnnx(m));
      assert.deepEqual(plain.inputNames, ['input'], 'without initialStates, no state inputs');
      const rnn = m.rnn;
      const LD = rnn.numLayers * rnn.numDirections;
      const H = rnn.hiddenSize;
      const lstm = m.rnn.rule.cell;
      for (const [T, B] of [[7, 3], [2, 1]] as const) {
        const dims = rnn.batchFirst ? [B, T] : [T, B];
        const x = m.embedding ? randint(0, m.embedding.numEmbeddings, dims) : randn([...dims, rnn.inputSize]);
        const h0 = randn([LD, B, H]);
        const c0 = randn([LD, B, H]);
        const [out, state] = m.forward(x, lstm ? [h0, c0] : h0);
        const feeds: Record<string, ort.Tensor> = {
          input: m.embedding ? new ort.Tensor('int32', Int32Array.from(x.data), [...x.shape]) : new ort.Tensor('float32', Float32Array.from(x.data), [...x.shape]),
          h0: new ort.Tensor('float32', Float32Array.from(h0.data), [...h0.shape]),
        };
        if (lstm) feeds['c0'] = new ort.Tensor('float32', Float32Array.from(c0.data), [...c0.shape]);
        const r = await session.run(feeds);
        assert.deepEqual([...r['output']!.dims], [...out.shape], 'output shape');
        assertClose(r['output']!.data as Float32Array, out.data, `${name} T=${T} B=${B} output`, 1e-4, 0);
        const [hN, cN] = lstm ? (state as [Tensor, Tensor]) : [state as Tensor, null];
        assertClose(r['hN']!.data as Float32Array, hN.data, `${name} hN`, 1e-4, 0);
        if (cN) assertClose(r['cN']!.data as Float32Array, cN.data, `${name} cN`, 1e-4, 0);
        // without initialStates the states start at zeros (as forward's default) and are not inputs
        const [out0, state0] = m.forward(x);
        const r0 = await plain.run({ input: feeds['input']! });
        assertClose(r0['output']!.data as Float32Array, out0.data, `${name} T=${T} B=${B} output from zero states`, 1e-4, 0);
        assertClose(r0['hN']!.data as Float32Array, (lstm ? (state0 as [Tensor, Tensor])[0] : (state0 as Tensor)).data, `${name} hN from zero states`, 1e-4, 0);
      }
    });
  }
  it('refuses LSTM projections and the cells ONNX has no operator for, with a reason', async () => {
    const m = new SequenceModel({ rnn: { kind: 'lstm', inputSize: 2, hiddenSize: 4, projSize: 2 }, head: { outFeatures: 1 } });
    await assert.rejects(exportOnnx(m), /exportOnnx: LSTM projections \(projSize 2\) have no ONNX operator/);
    for (const [kind, layer, why] of [['layernorm_lstm', 'LayerNormLSTM', 'layer-normalised LSTM'], ['mingru', 'MinGRU', 'minGRU'], ['minlstm', 'MinLSTM', 'minLSTM']] as const) {
      const r = new SequenceModel({ rnn: { kind, inputSize: 2, hiddenSize: 4 }, head: { outFeatures: 1 } });
      await assert.rejects(exportOnnx(r), new RegExp(`exportOnnx: a ${layer} cannot be exported to ONNX: ONNX has no ${why} operator`));
    }
    // zoneout changes evaluation (the state's expectation), recurrent dropout does not
    const zoned = new SequenceModel({ rnn: { kind: 'gru', inputSize: 2, hiddenSize: 4, zoneout: 0.1 }, head: { outFeatures: 1 } });
    await assert.rejects(exportOnnx(zoned), /exportOnnx: a layer trained with zoneout \(0.1\) evaluates as p \* previous/);
    const dropped = new SequenceModel({ rnn: { kind: 'gru', inputSize: 2, hiddenSize: 4, recurrentDropout: 0.3 }, head: { outFeatures: 1 } });
    assert.ok((await exportOnnx(dropped)).length > 0);
  });
});
