/** Float64 finite-difference checks of CTC, the attentions and a small Seq2Seq, on every backend. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, tensor, randn, gradcheck, manualSeed, ctcLoss, listBackends, setBackend, MultiheadAttention, BahdanauAttention, maskedFill, Seq2Seq, crossEntropy, additiveScores, additiveAttention } from 'recurrent';

const ints = (values: number[], shape: number[]): Tensor => tensor(Int32Array.from(values), shape);
const f64 = (shape: number[]): Tensor => randn(shape, { dtype: 'float64', requiresGrad: true });

const cases: [string, () => [(...xs: Tensor[]) => Tensor, Tensor[]]][] = [
  ['ctcLoss on log-probabilities (the true gradient, not only through a log-softmax)', () => {
    const lp = f64([7, 3, 5]);
    for (let i = 0; i < lp.size; i++) lp.data[i] = -0.2 - Math.abs(lp.data[i]!);
    return [(x) => ctcLoss(x, ints([1, 2, 2, 3, 0, 0, 4, 4, 1], [3, 3]), [7, 5, 6], [3, 0, 3]), [lp]];
  }],
  ['ctcLoss through logSoftmax, reduction none weighted, 1-D targets, blank last', () => {
    const w = tensor(Float64Array.from([0.3, -1.2, 0.7]), [3]);
    return [(x) => ctcLoss(x.logSoftmax(2), ints([1, 1, 2, 0, 3, 3, 0], [7]), [6, 4, 8], [3, 1, 3], { blank: 4, reduction: 'none' }).mul(w).sum(), [f64([8, 3, 5])]];
  }],
  ['ctcLoss sum with zeroInfinity and an impossible sample', () =>
    [(x) => ctcLoss(x.logSoftmax(2), ints([1, 1, 2, 2, 1, 0], [2, 3]), [3, 5], [3, 2], { reduction: 'sum', zeroInfinity: true }), [f64([5, 2, 4])]]],
  ['maskedFill (broadcast mask)', () => {
    const r = randn([3, 4], { dtype: 'float64' });
    return [(x) => maskedFill(x, ints([1, 0, 0, 1], [4]), 2.5).mul(r).sum(), [f64([3, 4])]];
  }],
  ['MultiheadAttention: every parameter and input, both masks, per-head weights', () => {
    const m = new MultiheadAttention({ embedDim: 6, numHeads: 3, kdim: 5, vdim: 4, batchFirst: true }).to('float64');
    const kpm = ints([0, 0, 1, 0, 0, 0], [2, 3]);
    const am = ints([0, 1, 0, 0, 0, 1], [2, 3]);
    const r1 = randn([2, 2, 6], { dtype: 'float64' });
    const r2 = randn([2, 3, 2, 3], { dtype: 'float64' });
    return [(q, k, v) => {
      const [out, w] = m.forward(q, k, v, { keyPaddingMask: kpm, attnMask: am, averageAttnWeights: false });
      return out.mul(r1).sum().add(w!.mul(r2).sum());
    }, [f64([2, 2, 6]), f64([2, 3, 5]), f64([2, 3, 4]), ...m.parameters()]];
  }],
  ['additiveScores: q, keys and v, weighted scores', () => {
    const r = randn([3, 5], { dtype: 'float64' });
    return [(q, k, v) => additiveScores(q, k, v).mul(r).sum(), [f64([3, 7]), f64([3, 5, 7]), f64([7])]];
  }],
  ['additiveAttention: q, keys, values, v and bias, with a mask, through the context and the weights', () => {
    const mask = ints([0, 1, 0, 0, 0, 0, 0, 1, 1, 0], [2, 5]);
    const r1 = randn([2, 3], { dtype: 'float64' });
    const r2 = randn([2, 5], { dtype: 'float64' });
    return [(q, k, vals, v, b) => {
      const [ctx, w] = additiveAttention(q, k, vals, v, b, mask);
      return ctx.mul(r1).sum().add(w.mul(r2).sum());
    }, [f64([2, 3]), f64([2, 5, 3]), f64([2, 5, 3]), f64([3]), f64([1])]];
  }],
  ['BahdanauAttention: every parameter, query and keys, with a mask', () => {
    const m = new BahdanauAttention({ hiddenSize: 4 }).to('float64');
    const mask = ints([0, 0, 1, 0, 0, 0], [2, 3]);
    const r1 = randn([2, 1, 4], { dtype: 'float64' });
    const r2 = randn([2, 1, 3], { dtype: 'float64' });
    return [(q, k) => {
      const [ctx, w] = m.forward(q, k, mask);
      return ctx.mul(r1).sum().add(w.mul(r2).sum());
    }, [f64([2, 1, 4]), f64([2, 3, 4]), ...m.parameters()]];
  }],
  ['Seq2Seq: every parameter of a bi-GRU encoder, Bahdanau attention and a GRU decoder, on a padded batch', () => {
    const m = new Seq2Seq({
      sourceVocab: 6, sourceEmbedding: 3, targetVocab: 7, targetEmbedding: 3, encoder: { kind: 'gru', hiddenSize: 2, bidirectional: true },
      decoder: { kind: 'gru', hiddenSize: 4 }, bos: 1, eos: 2, pad: 0,
    }).to('float64');
    const src = ints([3, 4, 5, 5, 4, 0], [3, 2]);
    const tin = ints([1, 1, 3, 6, 4, 0], [3, 2]);
    const tout = ints([3, 6, 4, 2, 2, 0], [3, 2]);
    return [() => crossEntropy(m.forward(src, tin, { sourceLengths: [3, 2] }).reshape([6, 7]), tout.reshape([6]), { ignoreIndex: 0 }), m.parameters()];
  }],
  ['Seq2Seq: LSTM encoder and decoder through a bridge, multi-head attention', () => {
    const m = new Seq2Seq({
      sourceVocab: 5, sourceEmbedding: 2, targetVocab: 6, targetEmbedding: 2, encoder: { kind: 'lstm', hiddenSize: 3 },
      decoder: { kind: 'lstm', hiddenSize: 4 }, attention: 'multihead', numHeads: 2, bos: 1, eos: 2, pad: 0,
    }).to('float64');
    const src = ints([3, 4, 4, 3], [2, 2]);
    const tin = ints([1, 1, 3, 5], [2, 2]);
    const tout = ints([3, 5, 2, 2], [2, 2]);
    return [() => crossEntropy(m.forward(src, tin).reshape([4, 6]), tout.reshape([4])), m.parameters()];
  }],
];

for (const be of listBackends()) {
  describe(`gradcheck of the sequence tools [${be}]`, () => {
    for (const [name, make] of cases) {
      it(name, () => {
        setBackend(be);
        manualSeed(11);
        const [fn, inputs] = make();
        const r = gradcheck(fn, inputs);
        assert.ok(r.ok, `${name}: max error ${r.maxError} at ${JSON.stringify(r.worst)}`);
      });
    }
  });
}
