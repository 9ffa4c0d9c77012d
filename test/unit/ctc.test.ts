/** CTC: the loss's cases and errors, and the greedy and prefix beam-search decoders. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, tensor, randn, manualSeed, ctcLoss, ctcGreedyDecode, ctcBeamSearch, ctcBeamHypotheses, noGrad, listBackends, setBackend } from 'recurrent';
import { assertThrowsMatching } from '../helpers.js';

const ints = (values: number[], shape: number[]): Tensor => tensor(Int32Array.from(values), shape);
/** (T, N, C) log-probabilities from rows of probabilities. */
const fromProbs = (rows: number[][], N = 1): Tensor => {
  const T = rows.length / N;
  return tensor(Float64Array.from(rows.flat().map(Math.log)), [T, N, rows[0]!.length]);
};

describe('ctcLoss', () => {
  it('is -log of the summed probability of every alignment (enumerated by hand)', () => {
    // T=2, classes {blank, a}: target "a" aligns as "a-", "-a", "aa"
    const p = [[0.6, 0.4], [0.3, 0.7]];
    const loss = ctcLoss(fromProbs(p), ints([1], [1, 1]), [2], [1], { reduction: 'sum' });
    const expected = -Math.log(0.4 * 0.3 + 0.6 * 0.7 + 0.4 * 0.7);
    assert.ok(Math.abs(loss.item() - expected) < 1e-12);
    // an empty target: only the all-blank path
    const empty = ctcLoss(fromProbs(p), ints([], [1, 0]), [2], [0], { reduction: 'sum' });
    assert.ok(Math.abs(empty.item() + Math.log(0.6 * 0.3)) < 1e-12);
  });

  it('gives Infinity for an impossible alignment, 0 and a zero gradient under zeroInfinity', () => {
    const x = randn([3, 2, 4], { dtype: 'float64', requiresGrad: true });
    const t = ints([2, 2, 0, 1, 0, 0], [2, 3]); // "22" needs three steps with its blank: sample 0 has 2
    const none = ctcLoss(x.logSoftmax(2), t, [2, 3], [2, 1], { reduction: 'none' });
    assert.equal(none.data[0], Infinity);
    assert.ok(Number.isFinite(none.data[1]!));
    const zeroed = ctcLoss(x.logSoftmax(2), t, [2, 3], [2, 1], { reduction: 'none', zeroInfinity: true });
    assert.equal(zeroed.data[0], 0);
    zeroed.sum().backward();
    for (let t2 = 0; t2 < 3; t2++) for (let c = 0; c < 4; c++) assert.equal(x.grad!.data[(t2 * 2 + 0) * 4 + c], 0);
    assert.ok(Array.from(x.grad!.data).some((v) => v !== 0));
  });

  it("'mean' divides each sample by its target length (at least 1), then averages", () => {
    manualSeed(2);
    const lp = randn([6, 3, 5], { dtype: 'float64' }).logSoftmax(2);
    const t = ints([1, 2, 3, 4, 4, 0, 0, 0, 0], [3, 3]);
    const per = ctcLoss(lp, t, [6, 6, 4], [3, 2, 0], { reduction: 'none' }).data;
    const mean = ctcLoss(lp, t, [6, 6, 4], [3, 2, 0]).item();
    assert.ok(Math.abs(mean - (per[0]! / 3 + per[1]! / 2 + per[2]! / 1) / 3) < 1e-12);
    const sum = ctcLoss(lp, t, [6, 6, 4], [3, 2, 0], { reduction: 'sum' }).item();
    assert.ok(Math.abs(sum - (per[0]! + per[1]! + per[2]!)) < 1e-12);
  });

  it('takes padded (N, S) and 1-D concatenated targets alike, and lengths as arrays or int32 tensors', () => {
    manualSeed(3);
    const lp = randn([8, 2, 6], { dtype: 'float64' }).logSoftmax(2);
    const a = ctcLoss(lp, ints([1, 2, 3, 5, 5, 0], [2, 3]), [8, 7], [3, 2], { reduction: 'none' });
    const b = ctcLoss(lp, ints([1, 2, 3, 5, 5], [5]), ints([8, 7], [2]), new Int32Array([3, 2]), { reduction: 'none' });
    assert.deepEqual(Array.from(a.data), Array.from(b.data));
  });

  for (const be of listBackends()) {
    it(`stays finite where the probabilities underflow float64's exponent range [${be}]`, () => {
      setBackend(be);
      // every alignment but one costs 1e9; that one emits the label at step 1, at -1000
      const T = 3, C = 3;
      const lp = new Float32Array(T * C).fill(-1e9);
      for (let t = 0; t < T; t++) lp[t * C] = 0;
      lp[1 * C + 1] = -1000;
      const loss = ctcLoss(tensor(lp, [T, 1, C]), ints([1], [1, 1]), [3], [1], { reduction: 'sum' });
      assert.ok(Math.abs(loss.item() - 1000) < 1e-3, `got ${loss.item()}`);
    });
  }

  it('refuses bad input before any work, naming the argument', () => {
    const lp = randn([5, 2, 4]).logSoftmax(2);
    const t = ints([1, 2, 3, 1], [2, 2]);
    assertThrowsMatching(() => ctcLoss(lp, ints([1, 0, 3, 1], [2, 2]), [5, 5], [2, 2]), /targets of sample 0 hold the blank \(0\) at position 1/);
    assertThrowsMatching(() => ctcLoss(lp, ints([1, 2, 3, 1], [2, 2]), [5, 5], [2, 2], { blank: 3 }), /hold the blank \(3\)/);
    assertThrowsMatching(() => ctcLoss(lp, ints([1, 9, 3, 1], [2, 2]), [5, 5], [2, 2]), /sample 0 hold 9 at position 1, outside the 4 classes/);
    assertThrowsMatching(() => ctcLoss(lp, t, [5, 6], [2, 2]), /inputLengths\[1\] must be a whole number in \[0, 5\].*got 6/);
    assertThrowsMatching(() => ctcLoss(lp, t, [5, -1], [2, 2]), /inputLengths\[1\].*got -1/);
    assertThrowsMatching(() => ctcLoss(lp, t, [5, 5], [2, 3]), /targetLengths\[1\] must be a whole number in \[0, 2\].*got 3/);
    assertThrowsMatching(() => ctcLoss(lp, t, [5, 5, 5], [2, 2]), /inputLengths must have one length per sample \(2\), got 3/);
    assertThrowsMatching(() => ctcLoss(lp, t, [5], [2, 2]), /inputLengths must have one length per sample/);
    assertThrowsMatching(() => ctcLoss(lp, t, [5, 5], [2.5, 2]), /targetLengths\[0\].*got 2.5/);
    assertThrowsMatching(() => ctcLoss(lp, ints([1, 2, 3], [3, 1]), [5, 5], [1, 1]), /N = 2 rows/);
    assertThrowsMatching(() => ctcLoss(lp, ints([1, 2, 3], [3]), [5, 5], [1, 1]), /targetLengths sum to 2, targets has 3/);
    assertThrowsMatching(() => ctcLoss(lp.reshape([10, 4]), t, [5, 5], [2, 2]), /logProbs must be \(T, N, C\)/);
    assertThrowsMatching(() => ctcLoss(lp, tensor([[1, 2], [3, 1]]), [5, 5], [2, 2]), /targets must be an int32 tensor/);
    assertThrowsMatching(() => ctcLoss(lp, t, [5, 5], [2, 2], { blank: 4 }), /blank must be a class index in \[0, 4\), got 4/);
    assertThrowsMatching(() => ctcLoss(lp, t, [5, 5], [2, 2], { reduction: 'avg' as 'mean' }), /reduction/);
    assertThrowsMatching(() => ctcLoss(lp, t, [5, 5], [2, 2], { zeroInfinty: true } as object), /unknown option 'zeroInfinty'/);
  });
});

describe('CTC decoders', () => {
  const p = [
    [0.1, 0.8, 0.1], [0.1, 0.8, 0.1], [0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.9, 0.05, 0.05],
  ];
  it('greedy: best class per step, repeats merged, blanks removed, each sample to its length', () => {
    assert.deepEqual(ctcGreedyDecode(fromProbs(p)), [[1, 1, 2]]);
    assert.deepEqual(ctcGreedyDecode(fromProbs(p), [2]), [[1]]);
    assert.deepEqual(ctcGreedyDecode(fromProbs(p), undefined, { blank: 1 }), [[0, 2, 0]]);
  });

  it('beam search finds the most probable label sequence where best path does not', () => {
    // best path says "-" (blank, blank) with 0.36; but "a" collects 0.4*0.4 + 0.4*0.6 + 0.6*0.4 = 0.64
    const q = [[0.6, 0.4], [0.6, 0.4]];
    assert.deepEqual(ctcGreedyDecode(fromProbs(q)), [[]]);
    assert.deepEqual(ctcBeamSearch(fromProbs(q), undefined, { beamWidth: 4 }), [[1]]);
    const h = ctcBeamHypotheses(fromProbs(q), undefined, { beamWidth: 4 })[0]!;
    assert.deepEqual(h.map((x) => x.tokens), [[1], [], [1, 1]]);
    assert.ok(Math.abs(h[0]!.logProb - Math.log(0.64)) < 1e-12);
  });

  it("beam search's scores equal ctcLoss's, and a wide beam finds the exhaustive best", () => {
    manualSeed(5);
    const lp = noGrad(() => randn([5, 2, 3], { dtype: 'float64' }).mul(2).logSoftmax(2));
    const hyps = ctcBeamHypotheses(lp, [5, 4], { beamWidth: 50 });
    for (let n = 0; n < 2; n++) {
      const one = lp.slice(1, n, n + 1);
      const T = n === 0 ? 5 : 4;
      for (const h of hyps[n]!.slice(0, 5)) {
        const nll = ctcLoss(one, ints(h.tokens, [1, h.tokens.length]), [T], [h.tokens.length], { reduction: 'sum' }).item();
        assert.ok(Math.abs(-nll - h.logProb) < 1e-9, `sample ${n} ${h.tokens}: ${-nll} against ${h.logProb}`);
      }
      // every label sequence of length <= T over {1, 2}
      let best = -Infinity;
      let bestSeq: number[] = [];
      const walk = (seq: number[]): void => {
        const nll = ctcLoss(one, ints(seq, [1, seq.length]), [T], [seq.length], { reduction: 'sum' }).item();
        if (-nll > best) { best = -nll; bestSeq = seq; }
        if (seq.length < T) for (const c of [1, 2]) walk([...seq, c]);
      };
      walk([]);
      assert.deepEqual(hyps[n]![0]!.tokens, bestSeq);
    }
  });

  it('a prior lowers the classes it makes frequent', () => {
    const q = [[0.2, 0.45, 0.35]];
    assert.deepEqual(ctcBeamSearch(fromProbs(q)), [[1]]);
    assert.deepEqual(ctcBeamSearch(fromProbs(q), undefined, { prior: [1, 0.7, 0.3] }), [[2]]);
    assertThrowsMatching(() => ctcBeamSearch(fromProbs(q), undefined, { prior: [1, 0.5] }), /prior must hold one probability per class \(3\), got 2 values/);
    assertThrowsMatching(() => ctcBeamSearch(fromProbs(q), undefined, { prior: [1, 0, 0.5] }), /prior\[1\] must be a probability in \(0, 1\], got 0/);
    assertThrowsMatching(() => ctcBeamSearch(fromProbs(q), undefined, { beamWidth: 0 }), /beamWidth must be a positive integer/);
    assertThrowsMatching(() => ctcBeamSearch(fromProbs(q), undefined, { beamWidth: 5000 }), /beamWidth must be in \[1, 1000\]/);
    assertThrowsMatching(() => ctcGreedyDecode(fromProbs(q), [2]), /inputLengths\[0\] must be a whole number in \[0, 1\]/);
  });
});

describe('attention: bad input', () => {
  it('MultiheadAttention refuses sizes, shapes and masks that do not fit, naming them', async () => {
    const { MultiheadAttention, BahdanauAttention } = await import('recurrent');
    assertThrowsMatching(() => new MultiheadAttention({ embedDim: 10, numHeads: 3 }), /embedDim \(10\) must be divisible by numHeads \(3\)/);
    assertThrowsMatching(() => new MultiheadAttention({ embedDim: 8, numHeads: 0 }), /numHeads must be a positive integer/);
    assertThrowsMatching(() => new MultiheadAttention({ embedDim: 8, numHeads: 2, dropout: 1 }), /dropout must be below 1/);
    const m = new MultiheadAttention({ embedDim: 8, numHeads: 2 });
    const q = randn([4, 3, 8]), k = randn([5, 3, 8]);
    assertThrowsMatching(() => m.forward(q, k, k, { keyPaddingMask: ints(new Array(15).fill(0), [5, 3]) }), /keyPaddingMask must have shape \[3, 5\], got \[5, 3\]/);
    assertThrowsMatching(() => m.forward(q, k, k, { attnMask: ints(new Array(20).fill(0), [5, 4]) }), /attnMask must have shape \[4, 5\] or \[6, 4, 5\], got \[5, 4\]/);
    assertThrowsMatching(() => m.forward(q, k, k, { keyPaddingMask: ints(new Array(15).fill(2), [3, 5]) }), /keyPaddingMask must hold only 0 and 1.*got 2/);
    assertThrowsMatching(() => m.forward(q, k, k, { keyPaddingMask: ints([...new Array(5).fill(1), ...new Array(10).fill(0)], [3, 5]) }), /leave query 0 of sample 0 no key to attend to/);
    assertThrowsMatching(() => m.forward(q, randn([5, 2, 8]), randn([5, 2, 8])), /one batch size/);
    assertThrowsMatching(() => m.forward(q, k, randn([6, 3, 8])), /key and value must have one length/);
    assertThrowsMatching(() => m.forward(randn([4, 3, 7]), k, k), /query must be \(len, N, features\) with 8 features, got \[4, 3, 7\]/);
    const b = new BahdanauAttention({ hiddenSize: 4 });
    assertThrowsMatching(() => b.forward(randn([2, 1, 4]), randn([2, 3, 4]), ints([0, 0, 0], [1, 3])), /mask must have shape \[2, 3\], got \[1, 3\]/);
    assertThrowsMatching(() => b.forward(randn([2, 2, 4]), randn([2, 3, 4])), /query must be a floating-point Tensor \(N, 1, H\) = \[2, 1, 4\], got \[2, 2, 4\]/);
    assertThrowsMatching(() => b.forward(randn([2, 1, 4]), randn([2, 3, 5])), /keys must be .* H = 4/);
    assertThrowsMatching(() => b.forward(randn([2, 1, 4]), randn([2, 3, 4]), ints([1, 1, 1, 0, 0, 0], [2, 3])), /leave sample 0 no key/);
  });

  it('additiveAttention names the argument that does not fit, and a mask that leaves a row nothing', async () => {
    const { additiveAttention } = await import('recurrent');
    const q = randn([2, 4]), k = randn([2, 3, 4]), v = randn([4]);
    const [ctx, w] = additiveAttention(q, k, k, v);
    assert.deepEqual([ctx.shape, w.shape], [[2, 4], [2, 3]]);
    assertThrowsMatching(() => additiveAttention(q, k, randn([2, 2, 4]), v), /keys and values must have one length, got \[2, 3, 4\] and \[2, 2, 4\]/);
    assertThrowsMatching(() => additiveAttention(q, randn([2, 3, 5]), k, v), /keys must be a floating-point Tensor \(N, S, H\) = \[2, S >= 1, 4\], got float32 \[2, 3, 5\]/);
    assertThrowsMatching(() => additiveAttention(q, k, k, v, randn([2])), /bias must be a floating-point Tensor of one element or null, got float32 \[2\]/);
    assertThrowsMatching(() => additiveAttention(q, k, k, v, null, ints([0, 0, 0], [1, 3])), /additiveAttention: mask must have shape \[2, 3\], got \[1, 3\]/);
    assertThrowsMatching(() => additiveAttention(q, k, k, v, null, ints([0, 2, 0, 0, 0, 0], [2, 3])), /additiveAttention: mask must hold only 0 and 1 \(1 = may not attend\), got 2 at element 1/);
    assertThrowsMatching(() => additiveAttention(q, k, k, v, null, ints([0, 0, 0, 1, 1, 1], [2, 3])), /additiveAttention: the masks leave row 1 no key to attend to/);
  });

  it('additiveScores names the argument whose shape or dtype does not fit', async () => {
    const { additiveScores } = await import('recurrent');
    const q = randn([2, 4]), k = randn([2, 3, 4]), v = randn([4]);
    assert.deepEqual(additiveScores(q, k, v).shape, [2, 3]);
    assertThrowsMatching(() => additiveScores(randn([2, 1, 4]), k, v), /q must be a floating-point Tensor \(N, H\), got float32 \[2, 1, 4\]/);
    assertThrowsMatching(() => additiveScores(q, randn([3, 3, 4]), v), /keys must be a floating-point Tensor \(N, S, H\) = \[2, S, 4\], got float32 \[3, 3, 4\]/);
    assertThrowsMatching(() => additiveScores(q, k, randn([5])), /v must be a floating-point Tensor \(H\) = \[4\], got float32 \[5\]/);
    assertThrowsMatching(() => additiveScores(q, randn([2, 3, 4], { dtype: 'float64' }), v), /q, keys and v must share one dtype, got float32, float64 and float32/);
  });
});
