/** addingProblem: the batch's layout, one mark in each half, the target their sum, and its errors. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addingProblem, Generator } from 'recurrent';
import { assertThrowsMatching } from '../helpers.js';

describe('addingProblem', () => {
  it('marks one number in each half; the target is their sum; the same seed gives the same batch', () => {
    const T = 9, n = 5;
    const { x, y } = addingProblem(T, n, new Generator(3));
    assert.deepEqual(x.shape, [T, n, 2]);
    assert.deepEqual(y.shape, [n, 1]);
    for (let b = 0; b < n; b++) {
      const marked = [];
      for (let t = 0; t < T; t++) {
        const v = x.data[(t * n + b) * 2]!, m = x.data[(t * n + b) * 2 + 1]!;
        assert.ok(v >= 0 && v < 1);
        assert.ok(m === 0 || m === 1);
        if (m === 1) marked.push(t);
      }
      assert.equal(marked.length, 2);
      assert.ok(marked[0]! < 4 && marked[1]! >= 4, `one mark in each half: ${marked}`);
      assert.ok(Math.abs(y.data[b]! - (x.data[(marked[0]! * n + b) * 2]! + x.data[(marked[1]! * n + b) * 2]!)) < 1e-6);
    }
    assert.deepEqual(Array.from(addingProblem(T, n, new Generator(3)).x.data), Array.from(x.data));
  });

  it('refuses sizes out of range, naming them', () => {
    assertThrowsMatching(() => addingProblem(1, 4, new Generator(1)), /addingProblem: length must be a whole number from 2 to 1e6, got 1/);
    assertThrowsMatching(() => addingProblem(10, 0, new Generator(1)), /addingProblem: batch must be a whole number from 1 to 1e6, got 0/);
    assertThrowsMatching(() => addingProblem(1e5, 1e5, new Generator(1)), /length x batch must be at most 1e8/);
  });
});
