/** RecurrentBase.activations: every step's h, c and gates, consistent with forward and with each cell's equations. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LSTM, GRU, RNN, MinGRU, randn, manualSeed, noGrad, type Tensor } from 'recurrent';
import { assertThrowsMatching } from '../helpers.js';

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 1e-5 + 1e-5 * Math.abs(b), `${what}: ${a} against ${b}`);
const sigmoidRange = (t: Tensor, name: string): void => assert.ok(Array.from(t.data).every((v) => v > 0 && v < 1), `${name} in (0, 1)`);

describe('activations', () => {
  it('LSTM: h equals forward, every layer; c and the gates satisfy c = f c + i g and h = o tanh(c)', () => {
    manualSeed(4);
    const lstm = new LSTM({ inputSize: 5, hiddenSize: 7, numLayers: 2 });
    const x = randn([6, 3, 5]);
    const h0 = randn([2, 3, 7]), c0 = randn([2, 3, 7]);
    const [out, [hN, cN]] = noGrad(() => lstm.forward(x, [h0, c0]));
    const layers = lstm.activations(x, [h0, c0]);
    assert.equal(layers.length, 2);
    assert.deepEqual(Object.keys(layers[1]!.gates), ['i', 'f', 'g', 'o']);
    Array.from(out.data).forEach((v, k) => close(layers[1]!.h.data[k]!, v, `top h ${k}`));
    // final states of each layer: the last step's h and c
    for (let l = 0; l < 2; l++) {
      const a = layers[l]!;
      for (let k = 0; k < 21; k++) {
        close(a.h.data[5 * 21 + k]!, hN.data[l * 21 + k]!, `layer ${l} hN`);
        close(a.c!.data[5 * 21 + k]!, cN.data[l * 21 + k]!, `layer ${l} cN`);
      }
      const { i, f, g, o } = a.gates as Record<'i' | 'f' | 'g' | 'o', Tensor>;
      for (const [name, t] of [['i', i], ['f', f], ['o', o]] as const) sigmoidRange(t, name);
      for (let t = 0; t < 6; t++) {
        for (let k = 0; k < 21; k++) {
          const at = t * 21 + k;
          const cPrev = t === 0 ? c0.data[l * 21 + k]! : a.c!.data[at - 21]!;
          close(a.c!.data[at]!, f.data[at]! * cPrev + i.data[at]! * g.data[at]!, `layer ${l} c at ${t}`);
          close(a.h.data[at]!, o.data[at]! * Math.tanh(a.c!.data[at]!), `layer ${l} h at ${t}`);
        }
      }
    }
  });

  it('GRU: h = (1 - z) n + z h_prev, batch-first input read as forward reads it', () => {
    manualSeed(5);
    const gru = new GRU({ inputSize: 4, hiddenSize: 6, batchFirst: true });
    const x = randn([2, 5, 4]); // (B, T, I)
    const [out] = noGrad(() => gru.forward(x));
    const [a] = gru.activations(x);
    assert.deepEqual(a!.h.shape, [5, 2, 6], 'time-first');
    assert.deepEqual(Object.keys(a!.gates), ['r', 'z', 'n']);
    const { z, n } = a!.gates as Record<'z' | 'n', Tensor>;
    for (let t = 0; t < 5; t++) {
      for (let b = 0; b < 2; b++) {
        for (let j = 0; j < 6; j++) {
          const at = (t * 2 + b) * 6 + j;
          const prev = t === 0 ? 0 : a!.h.data[at - 12]!;
          close(a!.h.data[at]!, (1 - z.data[at]!) * n.data[at]! + z.data[at]! * prev, `h at ${t}`);
          close(a!.h.data[at]!, out.data[(b * 5 + t) * 6 + j]!, `forward's output at ${t}`);
        }
      }
    }
  });

  it('RNN: h alone; refused where there is nothing to show this way', () => {
    const rnn = new RNN({ inputSize: 3, hiddenSize: 4 });
    const [a] = rnn.activations(randn([5, 3]));
    assert.deepEqual(a!.h.shape, [5, 1, 4]);
    assert.equal(a!.c, null);
    assert.deepEqual(a!.gates, {});
    assertThrowsMatching(() => new LSTM({ inputSize: 3, hiddenSize: 4, bidirectional: true }).activations(randn([5, 1, 3])), /LSTM\.activations: unidirectional layers only/);
    assertThrowsMatching(() => new MinGRU({ inputSize: 3, hiddenSize: 4 }).activations(randn([5, 1, 3])), /activations: shown for RNN, LSTM and GRU layers, not MinGRU/);
    assertThrowsMatching(() => rnn.activations(randn([5, 1, 2])), /RNN\.activations: input has 2 features, expected inputSize 3/);
  });
});
