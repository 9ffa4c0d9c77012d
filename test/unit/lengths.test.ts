/**
 * Variable lengths on every kind of layer: a right-padded batch with lengths in any order gives
 * each sequence what it gives alone (its steps' outputs, zeros after them, its final states), in
 * both directions and through several layers; lengths out of range are refused with the range.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LAYERS, Tensor, randn, manualSeed, type LayerKind } from 'recurrent';
import { assertClose, assertThrowsMatching as throws } from '../helpers.js';

type Forward = { forward(x: Tensor, s?: unknown, o?: unknown): [Tensor, Tensor | [Tensor, Tensor]] };

describe('lengths', () => {
  for (const kind of Object.keys(LAYERS) as LayerKind[]) {
    it(`${kind}: unsorted lengths, two layers, both directions: each sequence as if alone; bad lengths refused`, () => {
      manualSeed(5);
      const Cls = LAYERS[kind] as unknown as new (o: object) => Forward;
      const m = new Cls({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true });
      const T = 5, lengths = [3, 5, 1];
      const x = randn([T, 3, 3]);
      const [out, st] = m.forward(x, null, { lengths });
      const h = Array.isArray(st) ? st[0] : st;
      lengths.forEach((n, b) => {
        const alone = x.slice(0, 0, n).slice(1, b, b + 1); // (n, 1, 3)
        const [o1, s1] = m.forward(alone);
        const h1 = Array.isArray(s1) ? s1[0] : s1;
        const mine = out.slice(1, b, b + 1);
        assertClose(mine.slice(0, 0, n), o1.data, `${kind} sequence ${b}: outputs`, 1e-6, 1e-5);
        if (n < T) assert.equal(mine.slice(0, n, T).abs().sum().item(), 0, `${kind} sequence ${b}: zeros after its end`);
        assertClose(h.slice(1, b, b + 1), h1.data, `${kind} sequence ${b}: final states`, 1e-6, 1e-5);
      });
      throws(() => m.forward(x, null, { lengths: [3, 6, 1] }), 'lengths must be 3 integers from 1 to 5 (the batch\'s sequences, the input\'s time steps), got [3,6,1]');
      throws(() => m.forward(x, null, { lengths: [3, 0, 1] }), 'lengths must be 3 integers from 1 to 5');
      throws(() => m.forward(x, null, { lengths: [3, 2.5, 1] }), 'lengths must be 3 integers from 1 to 5');
      throws(() => m.forward(x, null, { lengths: [3, 2] }), 'lengths must be 3 integers from 1 to 5');
      // a batch of one length is the plain forward
      const [full] = m.forward(x, null, { lengths: [5, 5, 5] });
      assertClose(full, m.forward(x)[0].data, `${kind} all full`, 0, 0);
    });
  }
});
