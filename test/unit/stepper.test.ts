import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LSTM, GRU, RNN, randn, manualSeed, listBackends, setBackend, SGD, zeros, type Tensor } from 'recurrent';
import { assertClose, assertThrowsMatching as throws } from '../helpers.js';

for (const be of listBackends()) {
  describe(`layer steppers [${be}]`, () => {
    const cases: [string, () => LSTM | GRU | RNN][] = [
      ['LSTM 2 layers, projection', () => new LSTM({ inputSize: 5, hiddenSize: 8, numLayers: 2, projSize: 3 })],
      ['GRU 3 layers', () => new GRU({ inputSize: 4, hiddenSize: 7, numLayers: 3 })],
      ['RNN relu', () => new RNN({ inputSize: 3, hiddenSize: 12, nonlinearity: 'relu' })],
    ];
    for (const [name, make] of cases) {
      it(`${name}: stepping equals forward over the sequence`, () => {
        setBackend(be);
        manualSeed(3);
        const m = make();
        const T = 6, B = 2;
        const x = randn([T, B, m.inputSize]);
        let out: Tensor, hN: Tensor, cN: Tensor | null = null;
        if (m instanceof LSTM) [out, [hN, cN]] = m.forward(x);
        else [out, hN] = m.forward(x);
        const s = m.stepper();
        let state = null;
        let y: Tensor | null = null;
        for (let t = 0; t < T; t++) [y, state] = s.step(x.slice(0, t, t + 1).squeeze(0), state as never);
        assertClose(y!, out.slice(0, T - 1, T).squeeze(0).data, 'last output');
        if (cN) {
          const [h, c] = state as unknown as [Tensor, Tensor];
          assertClose(h, hN.data, 'h');
          assertClose(c, cN.data, 'c');
        } else assertClose(state as unknown as Tensor, hN.data, 'h');
        s.dispose();
      });
    }
    it('unbatched steps', () => {
      setBackend(be);
      const m = new GRU({ inputSize: 3, hiddenSize: 4, numLayers: 2 });
      const [y, h] = m.stepper().step(randn([3]));
      assert.deepEqual(y.shape, [4]);
      assert.deepEqual((h as Tensor).shape, [2, 4]);
    });
    it('refuses bidirectional layers, stale weights and bad input', () => {
      setBackend(be);
      throws(() => new LSTM({ inputSize: 3, hiddenSize: 4, bidirectional: true }).stepper(), 'LSTM.stepper', 'bidirectional');
      const m = new LSTM({ inputSize: 3, hiddenSize: 4 });
      const s = m.stepper();
      throws(() => s.step(randn([2, 5])), 'x has 5 features, expected inputSize 3');
      throws(() => s.step(randn([2, 3]), [zeros([1, 2, 4]), zeros([1, 3, 4])]), 'c must be a float32 tensor of shape [1, 2, 4]');
      const [y] = m.forward(randn([2, 1, 3]));
      y.sum().backward();
      new SGD(m.parameters(), { lr: 0.1 }).step();
      throws(() => s.step(randn([1, 3])), "the layer's weights changed after this stepper was made");
      m.stepper().step(randn([1, 3]));
    });
  });
}
