/**
 * A layer's weights kept prepared by the backend between calls (packed for its kernels) must
 * never go stale: after an optimizer step, loadStateDict, or a user's in-place edit followed by
 * markModified(), the next forward reads the new weights.
 */
import { describe, it } from 'node:test';
import { LSTM, GRU, Linear, Adam, randn, manualSeed, listBackends, setBackend, noGrad, type Tensor } from 'recurrent';
import { assertClose } from '../helpers.js';

/** The layer's output on the reference backend (the specification), from the same weights. */
function referenceOut(m: LSTM | GRU, x: Tensor): Float32Array {
  setBackend('reference');
  try {
    return noGrad(() => m.forward(x)[0]).data as Float32Array;
  } finally {
    setBackend('wasm');
  }
}

describe('prepared weights follow every change', { skip: !listBackends().includes('wasm') }, () => {
  it('after optimizer steps, loadStateDict and an in-place edit marked modified', () => {
    setBackend('wasm');
    manualSeed(5);
    for (const m of [new LSTM({ inputSize: 6, hiddenSize: 16, numLayers: 2, bidirectional: true }), new GRU({ inputSize: 9, hiddenSize: 24 })]) {
      const x = randn([5, 3, m.inputSize]);
      const opt = new Adam(m.parameters(), { lr: 0.05 });
      for (let step = 0; step < 3; step++) {
        opt.zeroGrad();
        // twice with the same weights (the second reuses them), then a step changes them
        m.forward(x);
        const [out] = m.forward(x);
        assertClose(out.data as Float32Array, referenceOut(m, x), `step ${step}`);
        out.pow(2).sum().backward();
        opt.step();
      }
      assertClose(noGrad(() => m.forward(x)[0]).data as Float32Array, referenceOut(m, x), 'after the last step');
      const other = m instanceof LSTM ? new LSTM({ inputSize: 6, hiddenSize: 16, numLayers: 2, bidirectional: true }) : new GRU({ inputSize: 9, hiddenSize: 24 });
      m.loadStateDict(other.stateDict());
      assertClose(noGrad(() => m.forward(x)[0]).data as Float32Array, referenceOut(other, x), 'after loadStateDict');
      const w = m.parameters()[0]!;
      w.data.fill(0.01);
      w.markModified();
      assertClose(noGrad(() => m.forward(x)[0]).data as Float32Array, referenceOut(m, x), 'after an in-place edit');
    }
  });

  it("a linear head's weight over one row, after optimizer steps and an in-place edit", () => {
    setBackend('wasm');
    manualSeed(6);
    const head = new Linear({ inFeatures: 256, outFeatures: 65 });
    const x = randn([1, 256]);
    const ref = (): Float32Array => {
      setBackend('reference');
      try {
        return noGrad(() => head.forward(x)).data as Float32Array;
      } finally {
        setBackend('wasm');
      }
    };
    const opt = new Adam(head.parameters(), { lr: 0.05 });
    for (let step = 0; step < 3; step++) {
      opt.zeroGrad();
      head.forward(x);
      const y = head.forward(x);
      assertClose(y.data as Float32Array, ref(), `step ${step}`, 1e-5, 1e-5);
      y.pow(2).sum().backward();
      opt.step();
    }
    head.weight.data.fill(0.02);
    head.weight.markModified();
    assertClose(noGrad(() => head.forward(x)).data as Float32Array, ref(), 'after an in-place edit', 1e-5, 1e-5);
  });
});
