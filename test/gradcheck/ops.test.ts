/** Float64 finite-difference checks of every op's gradient rule (independent of PyTorch). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Tensor, tensor, randn, rand, gradcheck, manualSeed, concat, stack, linear, matmul, softmax, logSoftmax,
  crossEntropy, nllLoss, mseLoss, bceWithLogits, Embedding, dropout, Generator, listBackends, setBackend,
} from 'recurrent';

const f64 = (shape: number[], opts: { positive?: boolean; awayFromZero?: boolean } = {}): Tensor => {
  const t = randn(shape, { dtype: 'float64', requiresGrad: true });
  if (opts.positive) for (let i = 0; i < t.size; i++) t.data[i] = 0.5 + Math.abs(t.data[i]!);
  if (opts.awayFromZero) for (let i = 0; i < t.size; i++) t.data[i] = (t.data[i]! < 0 ? -0.3 : 0.3) + t.data[i]!;
  return t;
};
/** A fixed random weighting turns any output into a scalar that depends on every element. */
const weigh = (y: Tensor): Tensor => {
  const g = new Generator(99);
  return y.mul(randn(y.shape, { dtype: 'float64', generator: g })).sum();
};
const ints = (values: number[], shape: number[]): Tensor => tensor(Int32Array.from(values), shape);

const cases: [string, () => [(...xs: Tensor[]) => Tensor, Tensor[]]][] = [
  ['add (broadcast)', () => [(a, b) => weigh(a.add(b)), [f64([3, 4]), f64([4])]]],
  ['sub (broadcast both ways)', () => [(a, b) => weigh(a.sub(b)), [f64([3, 1]), f64([1, 4])]]],
  ['mul (broadcast)', () => [(a, b) => weigh(a.mul(b)), [f64([2, 3, 4]), f64([3, 1])]]],
  ['div', () => [(a, b) => weigh(a.div(b)), [f64([3, 4]), f64([3, 4], { positive: true })]]],
  ['mul by a number', () => [(a) => weigh(a.mul(2.5).add(1)), [f64([5])]]],
  ['neg', () => [(a) => weigh(a.neg()), [f64([4])]]],
  ['exp', () => [(a) => weigh(a.exp()), [f64([6])]]],
  ['log', () => [(a) => weigh(a.log()), [f64([6], { positive: true })]]],
  ['tanh', () => [(a) => weigh(a.tanh()), [f64([6])]]],
  ['sigmoid', () => [(a) => weigh(a.sigmoid()), [f64([6])]]],
  ['relu', () => [(a) => weigh(a.relu()), [f64([8], { awayFromZero: true })]]],
  ['sqrt', () => [(a) => weigh(a.sqrt()), [f64([5], { positive: true })]]],
  ['abs', () => [(a) => weigh(a.abs()), [f64([5], { awayFromZero: true })]]],
  ['pow', () => [(a) => weigh(a.pow(3)), [f64([5])]]],
  ['matmul 2-D', () => [(a, b) => weigh(a.matmul(b)), [f64([3, 5]), f64([5, 2])]]],
  ['matmul 3-D @ 2-D', () => [(a, b) => weigh(matmul(a, b)), [f64([2, 3, 5]), f64([5, 4])]]],
  ['matmul batched broadcast', () => [(a, b) => weigh(a.matmul(b)), [f64([2, 1, 3, 4]), f64([3, 4, 2])]]],
  ['matmul vector operands', () => [(a, b, c) => weigh(a.matmul(b)).add(weigh(b.matmul(c))), [f64([4]), f64([4, 3]), f64([3])]]],
  ['linear', () => [(x, w, b) => weigh(linear(x, w, b)), [f64([2, 3, 4]), f64([5, 4]), f64([5])]]],
  ['sum all', () => [(a) => a.sum().mul(a.sum()), [f64([3, 4])]]],
  ['sum dims keepdim', () => [(a) => weigh(a.sum([0, 2], true)), [f64([2, 3, 4])]]],
  ['mean dim', () => [(a) => weigh(a.mean(1)), [f64([2, 3, 4])]]],
  ['max dim', () => [(a) => weigh(a.max(1)), [f64([3, 5])]]],
  ['reshape', () => [(a) => weigh(a.reshape([4, -1])), [f64([2, 3, 2])]]],
  ['transpose', () => [(a) => weigh(a.transpose(0, 2)), [f64([2, 3, 4])]]],
  ['permute', () => [(a) => weigh(a.permute([1, 2, 0])), [f64([2, 3, 4])]]],
  ['expand', () => [(a) => weigh(a.expand([2, 3, 4])), [f64([3, 1])]]],
  ['unsqueeze/squeeze', () => [(a) => weigh(a.unsqueeze(1).mul(2).squeeze(1)), [f64([3, 4])]]],
  ['concat', () => [(a, b) => weigh(concat([a, b], 1)), [f64([2, 3]), f64([2, 5])]]],
  ['stack', () => [(a, b) => weigh(stack([a, b], 1)), [f64([2, 3]), f64([2, 3])]]],
  ['slice', () => [(a) => weigh(a.slice(1, 1, -1)), [f64([3, 5])]]],
  ['gather', () => [(a) => weigh(a.gather(1, ints([0, 2, 2, 1, 0, 0], [3, 2]))), [f64([3, 4])]]],
  ['indexSelect (repeated ids)', () => [(a) => weigh(a.indexSelect(0, ints([2, 0, 2, 1], [2, 2]))), [f64([3, 4])]]],
  ['softmax', () => [(a) => weigh(softmax(a, 1)), [f64([3, 5])]]],
  ['logSoftmax', () => [(a) => weigh(a.logSoftmax(0)), [f64([4, 3])]]],
  ['crossEntropy', () => [(a) => crossEntropy(a, ints([1, 0, 3], [3])), [f64([3, 4])]]],
  ['crossEntropy (N, C, d) with ignoreIndex', () => [(a) => crossEntropy(a, ints([1, -100, 3, 0], [2, 2]), { ignoreIndex: -100 }), [f64([2, 4, 2])]]],
  ['crossEntropy weighted sum', () => [(a) => crossEntropy(a, ints([1, 0, 3], [3]), { reduction: 'sum', weight: tensor(new Float64Array([0.5, 2, 1, 3]), [4]) }), [f64([3, 4])]]],
  ['crossEntropy weighted mean', () => [(a) => crossEntropy(a, ints([1, 0, 3, 3], [4]), { weight: tensor(new Float64Array([0.5, 2, 1, 3]), [4]) }), [f64([4, 4])]]],
  ['crossEntropy none, rows weighted', () => [(a) => crossEntropy(a, ints([2, 0, 1], [3]), { reduction: 'none' }).mul(tensor(new Float64Array([0.5, -2, 3]), [3])).sum(), [f64([3, 5])]]],
  ['nllLoss', () => [(a) => nllLoss(logSoftmax(a, 1), ints([2, 2], [2])), [f64([2, 3])]]],
  ['mseLoss', () => [(a, b) => mseLoss(a, b), [f64([3, 2]), f64([3, 2])]]],
  ['bceWithLogits (input and target)', () => [(a, y) => bceWithLogits(a, y), [f64([4, 2]), (() => { const t = rand([4, 2], { dtype: 'float64' }); t.requiresGrad = true; return t; })()]]],
  ['bceWithLogits posWeight', () => [(a) => bceWithLogits(a, rand([3, 2], { dtype: 'float64', generator: new Generator(5) }), { posWeight: tensor(new Float64Array([2, 0.5]), [2]) }), [f64([3, 2])]]],
  ['dropout (fixed mask)', () => [(a) => weigh(dropout(a, 0.4, true, new Generator(3))), [f64([10])]]],
];

for (const be of listBackends()) {
  describe(`gradcheck of every op [${be}]`, () => {
    for (const [name, make] of cases) {
      it(name, () => {
        setBackend(be);
        manualSeed(7);
        const [fn, inputs] = make();
        const r = gradcheck(fn, inputs);
        assert.ok(r.ok, `${name}: max error ${r.maxError} at ${JSON.stringify(r.worst)}`);
      });
    }
    it('embedding, with its padding row frozen', () => {
      setBackend(be);
      manualSeed(1);
      const emb = new Embedding({ numEmbeddings: 5, embeddingDim: 3, paddingIdx: 0 }).to('float64');
      const ids = ints([0, 3, 3, 4, 0, 1], [2, 3]);
      const r = gradcheck(() => weigh(emb.forward(ids)).add(emb.weight.sum().mul(0)), [emb.weight]);
      // the padding row gets no gradient, so only the other rows can match finite differences
      assert.ok(!r.ok || emb.weight.grad!.data.slice(0, 3).every((v) => v === 0));
      assert.deepEqual(Array.from(emb.weight.grad!.data.slice(0, 3)), [0, 0, 0]);
      const r2 = gradcheck(() => weigh(emb.forward(ints([1, 3, 3, 4], [4]))), [emb.weight]);
      assert.ok(r2.ok, `max error ${r2.maxError}`);
    });
  });
}

describe('cast', () => {
  it('passes gradients back across float types, in the input dtype', () => {
    const a = tensor(new Float64Array([1, 2, 3]), [3], { requiresGrad: true });
    a.to('float32').mul(tensor(new Float32Array([2, 3, 4]), [3])).sum().backward();
    assert.equal(a.grad!.dtype, 'float64');
    assert.deepEqual(Array.from(a.grad!.data), [2, 3, 4]);
  });
});

describe('gradcheck itself', () => {
  it('detects a wrong gradient', () => {
    // relu at exactly 0 has a kink: finite differences disagree with any one-sided rule
    const a = tensor(new Float64Array([0, 1]), [2], { requiresGrad: true });
    const r = gradcheck((x) => x.relu().sum(), [a]);
    assert.equal(r.ok, false);
  });
});
