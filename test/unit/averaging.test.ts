/**
 * ExponentialMovingAverage: PyTorch's EMA rule (the first update copies, then
 * decay * average + (1 - decay) * parameter), the swap in and out of the parameters (the layer's
 * prepared weights included), checkpoints and bad input.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LSTM, Adam, ExponentialMovingAverage, randn, manualSeed, noGrad, tensor, listBackends, setBackend, backendInfo } from 'recurrent';
import { assertClose } from '../helpers.js';

describe('ExponentialMovingAverage', () => {
  it('averages as PyTorch\'s get_ema_multi_avg_fn, in float64', () => {
    const p = tensor(new Float64Array([1, -2, 3]), [3], { requiresGrad: true });
    const ema = new ExponentialMovingAverage([p], { decay: 0.9 });
    const seen = [[5, 0, 1], [2, 2, 2], [-1, 4, 0]];
    // PyTorch: n_averaged 0 copies; after that ema = decay * ema + (1 - decay) * p
    let want = [0, 0, 0];
    seen.forEach((v, k) => {
      p.data.set(v);
      ema.update();
      want = k === 0 ? [...v] : want.map((w, i) => 0.9 * w + 0.1 * v[i]!);
    });
    assert.equal(ema.numUpdates, 3);
    const got = ema.withAveraged(() => Array.from(p.data));
    want.forEach((w, i) => assert.ok(Math.abs(got[i]! - w) < 1e-15, `average ${i}: ${got[i]} against ${w}`));
    assert.deepEqual(Array.from(p.data), [-1, 4, 0], 'the trained values come back');
  });

  it('swaps the averages into a layer (its prepared weights too) and back, also after a throw and across await', async () => {
    const backends = listBackends();
    const before = backendInfo().name;
    for (const backend of backends) {
      setBackend(backend);
      manualSeed(2);
      const lstm = new LSTM({ inputSize: 5, hiddenSize: 12, numLayers: 2 });
      const twin = new LSTM({ inputSize: 5, hiddenSize: 12, numLayers: 2 });
      const x = randn([4, 3, 5]);
      const opt = new Adam(lstm.parameters(), { lr: 0.05 });
      const ema = new ExponentialMovingAverage(lstm.parameters(), { decay: 0.5 });
      for (let step = 0; step < 4; step++) {
        opt.zeroGrad();
        lstm.forward(x)[0].pow(2).sum().backward();
        opt.step();
        ema.update();
      }
      const trained = noGrad(() => lstm.forward(x)[0]);
      // the twin holds the averages written out by hand from the state dict
      const averages = ema.stateDict().averages;
      // parameters() lists them in namedParameters() order
      twin.loadStateDict(Object.fromEntries(lstm.namedParameters().map(([n, p], i) => [n, tensor(Float32Array.from(averages[i]!), p.shape)])));
      const want = noGrad(() => twin.forward(x)[0]);
      const inside = ema.withAveraged(() => noGrad(() => lstm.forward(x)[0]));
      assertClose(inside.data, want.data, `${backend}: the averaged model`, 1e-6, 1e-5);
      assert.ok(Math.max(...Array.from(inside.data, (v, i) => Math.abs(v - trained.data[i]!))) > 1e-4, `${backend}: the averages differ from the trained weights`);
      assertClose(noGrad(() => lstm.forward(x)[0]).data, trained.data, `${backend}: the trained weights are back`, 0, 0);
      assert.throws(() => ema.withAveraged(() => { throw new Error('boom'); }), /boom/);
      assertClose(noGrad(() => lstm.forward(x)[0]).data, trained.data, `${backend}: back after a throw`, 0, 0);
      const later = await ema.withAveraged(async () => {
        await new Promise((r) => setTimeout(r, 1));
        return noGrad(() => lstm.forward(x)[0]);
      });
      assertClose(later.data, want.data, `${backend}: the averaged model across an await`, 1e-6, 1e-5);
      assertClose(noGrad(() => lstm.forward(x)[0]).data, trained.data, `${backend}: back after the promise settles`, 0, 0);
    }
    setBackend(before);
  });

  it('restores from a checkpoint and writes the averages for good with copyTo', () => {
    const p = tensor(new Float32Array([1, 2]), [2], { requiresGrad: true });
    const ema = new ExponentialMovingAverage([p], { decay: 0.75 });
    ema.update();
    p.data.set([3, 6]);
    ema.update();
    const state = ema.stateDict();
    const q = tensor(new Float32Array([0, 0]), [2], { requiresGrad: true });
    const again = new ExponentialMovingAverage([q], { decay: 0.75 });
    again.loadStateDict(JSON.parse(JSON.stringify(state)));
    assert.equal(again.numUpdates, 2);
    const v0 = q.version;
    again.copyTo();
    assert.deepEqual(Array.from(q.data), [1.5, 3]);
    assert.ok(q.version > v0, 'copyTo marks the parameter modified');
  });

  it('refuses bad input with the argument named', () => {
    const p = tensor(new Float32Array([1]), [1], { requiresGrad: true });
    assert.throws(() => new ExponentialMovingAverage([p], { decay: 1 }), /decay must be a number in \[0, 1\), got 1/);
    assert.throws(() => new ExponentialMovingAverage([p], { decay: Number.NaN }), /decay must be/);
    assert.throws(() => new ExponentialMovingAverage([]), /empty parameter list/);
    assert.throws(() => new ExponentialMovingAverage([p, p]), /appears more than once/);
    assert.throws(() => new ExponentialMovingAverage([tensor(new Int32Array([1]), [1])]), /parameter 0 is int32/);
    const ema = new ExponentialMovingAverage([p]);
    assert.throws(() => ema.loadStateDict({ numUpdates: 1, averages: [[1, 2]] }), /average 0 has 2 values, expected 1/);
    assert.throws(() => ema.loadStateDict({ numUpdates: -1, averages: [[1]] }), /numUpdates must be a non-negative integer/);
    assert.throws(() => ema.withAveraged(() => ema.update()), /inside withAveraged/);
    assert.deepEqual(Array.from(p.data), [1], 'a refused update inside leaves the parameter restored');
  });
});
