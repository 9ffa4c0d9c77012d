import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  tensor, zeros, randn, rand, randint, arange, manualSeed, Generator, noGrad, LSTM, GRU, RNN, Linear, Dropout,
  crossEntropy, bceWithLogits, mseLoss, SGD, Adam, AdamW, RMSprop, clipGradNorm, clipGradValue, StepLR,
  CosineAnnealingLR, ReduceLROnPlateau, type Tensor,
} from 'recurrent';
import { ROOT, fixture, assertClose, type Arr } from '../helpers.js';

describe('tensors', () => {
  it('infer dtype from typed arrays and shape from nesting', () => {
    assert.equal(tensor(new Int32Array([1, 2]), [2]).dtype, 'int32');
    assert.equal(tensor(new Float64Array([1, 2])).dtype, 'float64');
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(t.shape, [2, 3]);
    assert.equal(t.dtype, 'float32');
    assert.deepEqual(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
    assert.equal(tensor(3.5).item(), 3.5);
  });
  it('copy their data', () => {
    const d = new Float32Array([1, 2]);
    const t = tensor(d, [2]);
    d[0] = 9;
    assert.equal(t.data[0], 1);
  });
  it('arange, randint', () => {
    assert.deepEqual(Array.from(arange(5).data), [0, 1, 2, 3, 4]);
    assert.deepEqual(Array.from(arange(1, 2, 0.25).data), [1, 1.25, 1.5, 1.75]);
    const r = randint(2, 5, [1000]);
    assert.equal(r.dtype, 'int32');
    assert.ok(Array.from(r.data).every((v) => v >= 2 && v < 5));
    assert.equal(new Set(r.data).size, 3);
  });
  it('seeded randomness is reproducible and well distributed', () => {
    manualSeed(3);
    const a = randn([5]);
    manualSeed(3);
    const b = randn([5]);
    assert.deepEqual(Array.from(a.data), Array.from(b.data));
    manualSeed(4);
    assert.notDeepEqual(Array.from(randn([5]).data), Array.from(a.data));
    const n = randn([100000], { generator: new Generator(1), dtype: 'float64' });
    const mean = n.mean().item();
    const sd = Math.sqrt(n.sub(mean).pow(2).mean().item());
    assert.ok(Math.abs(mean) < 0.02 && Math.abs(sd - 1) < 0.02, `mean ${mean} sd ${sd}`);
    const u = rand([100000], { generator: new Generator(2), dtype: 'float64' });
    assert.ok(Math.abs(u.mean().item() - 0.5) < 0.01 && u.max().item() < 1);
  });
  it('generator state saves and restores mid-stream', () => {
    const g = new Generator(10);
    g.normal();
    const st = g.getState();
    const x = [g.normal(), g.random(), g.nextUint32()];
    g.setState(st);
    assert.deepEqual([g.normal(), g.random(), g.nextUint32()], x);
  });
  it('noGrad records nothing', () => {
    const x = randn([3], { requiresGrad: true });
    const y = noGrad(() => x.mul(2).tanh());
    assert.equal(y.requiresGrad, false);
    assert.equal(x.mul(2).requiresGrad, true);
  });
  it('gradients accumulate across backward calls', () => {
    const x = tensor([1, 2, 3], undefined, { requiresGrad: true });
    x.mul(x).sum().backward();
    x.mul(3).sum().backward();
    assert.deepEqual(Array.from(x.grad!.data), [5, 7, 9]);
  });
  it('a tensor used twice gets both contributions', () => {
    const x = tensor([2], undefined, { requiresGrad: true });
    const y = x.add(x);
    y.mul(y).sum().backward(); // (2x)^2 -> 8x
    assert.deepEqual(Array.from(x.grad!.data), [16]);
  });
});

describe('modules', () => {
  it('parameter names and order are PyTorch\'s for every fixture layer', () => {
    const names = readdirSync(join(ROOT, 'test', 'fixtures', 'torch')).filter((f) => /^(rnn|lstm|gru)_/.test(f));
    for (const f of names) {
      const c = fixture<{ config: Record<string, never>; params: Record<string, Arr> }>(f.slice(0, -5));
      const k = c.config;
      const base = { inputSize: k['input_size'], hiddenSize: k['hidden_size'], numLayers: k['num_layers'], bias: k['bias'], batchFirst: k['batch_first'], bidirectional: k['bidirectional'] };
      const m = k['kind'] === 'LSTM' ? new LSTM({ ...base, projSize: k['proj_size'] ?? 0 }) : k['kind'] === 'GRU' ? new GRU(base) : new RNN({ ...base, nonlinearity: k['nonlinearity'] });
      assert.deepEqual(m.namedParameters().map(([n, p]) => [n, p.shape]), Object.entries(c.params).map(([n, a]) => [n, a.shape]), f);
    }
  });
  it('initialises within U(-1/sqrt(H), 1/sqrt(H))', () => {
    const m = new LSTM({ inputSize: 10, hiddenSize: 16 });
    for (const p of m.parameters()) assert.ok(p.data.every((v) => Math.abs(v) <= 0.25));
    const all = m.parameters().flatMap((p) => Array.from(p.data));
    assert.ok(Math.max(...all) > 0.2 && Math.min(...all) < -0.2);
  });
  it('nested names join with dots; stateDict shares storage', () => {
    class Model extends LSTM {}
    const m = new Model({ inputSize: 2, hiddenSize: 3 });
    assert.deepEqual(m.namedParameters('rnn.').map(([n]) => n).slice(0, 2), ['rnn.weight_ih_l0', 'rnn.weight_hh_l0']);
    const sd = m.stateDict();
    assert.equal(sd['weight_ih_l0']!.data, m.parameters()[0]!.data);
  });
  it('unbatched input equals a batch of one', () => {
    const m = new GRU({ inputSize: 3, hiddenSize: 4, numLayers: 2 });
    const x = randn([5, 3]);
    const [o1, h1] = m.forward(x);
    const [o2, h2] = m.forward(x.unsqueeze(1));
    assert.deepEqual(o1.shape, [5, 4]);
    assert.deepEqual(h1.shape, [2, 4]);
    assertClose(o1, o2.data, 'output');
    assertClose(h1, h2.data, 'h_n');
  });
  it('batchFirst transposes input and output but not the states', () => {
    const a = new LSTM({ inputSize: 3, hiddenSize: 4, batchFirst: true });
    const b = new LSTM({ inputSize: 3, hiddenSize: 4 });
    b.loadStateDict(a.stateDict());
    const x = randn([2, 6, 3]);
    const [oa, [ha]] = a.forward(x);
    const [ob, [hb]] = b.forward(x.transpose(0, 1));
    assert.deepEqual(oa.shape, [2, 6, 4]);
    assertClose(oa, ob.transpose(0, 1).data, 'output');
    assertClose(ha, hb.data, 'h_n');
  });
  it('dropout is active in training only, including between recurrent layers', () => {
    const d = new Dropout({ p: 0.3 });
    const x = zeros([20000]).add(1);
    const y = d.forward(x);
    const zerosFrac = y.data.filter((v) => v === 0).length / y.size;
    assert.ok(Math.abs(zerosFrac - 0.3) < 0.02, `dropped ${zerosFrac}`);
    assert.ok(Math.abs(y.mean().item() - 1) < 0.03);
    d.eval();
    assert.equal(d.forward(x), x);
    const m = new LSTM({ inputSize: 3, hiddenSize: 8, numLayers: 2, dropout: 0.5 });
    const inp = randn([4, 2, 3]);
    const [t1] = m.forward(inp);
    const [t2] = m.forward(inp);
    assert.notDeepEqual(Array.from(t1.data), Array.from(t2.data));
    m.eval();
    const [e1] = m.forward(inp);
    const [e2] = m.forward(inp);
    assert.deepEqual(Array.from(e1.data), Array.from(e2.data));
  });
  it('Linear applies to the last dimension', () => {
    const l = new Linear({ inFeatures: 3, outFeatures: 2 });
    const x = randn([4, 5, 3]);
    const y = l.forward(x);
    assert.deepEqual(y.shape, [4, 5, 2]);
    const manual = x.matmul(l.weight.transpose(0, 1)).add(l.bias!);
    assertClose(y, manual.data, 'linear');
  });
});

describe('losses', () => {
  it('crossEntropy of equal logits is log C; ignoreIndex and reductions', () => {
    const x = zeros([3, 5]);
    assertClose([crossEntropy(x, tensor(Int32Array.from([0, 1, 4]), [3])).item()], [Math.log(5)], 'uniform');
    const logits = tensor([[2, 0, 0], [0, 3, 0]]);
    const t = tensor(Int32Array.from([0, -100]), [2]);
    const lse = Math.log(Math.exp(2) + 2);
    assertClose([crossEntropy(logits, t).item()], [lse - 2], 'ignored target excluded from the mean');
    assertClose(crossEntropy(logits, tensor(Int32Array.from([0, 1]), [2]), { reduction: 'none' }).data, [lse - 2, Math.log(Math.exp(3) + 2) - 3], 'none');
  });
  it('bceWithLogits is stable for large logits', () => {
    const v = bceWithLogits(tensor([100, -100, 0]), tensor([1, 0, 1]), { reduction: 'none' });
    assertClose(v.data, [0, 0, Math.log(2)], 'bce', 1e-6, 1e-6);
    assert.ok(Number.isFinite(bceWithLogits(tensor([1000]), tensor([0])).item()));
  });
  it('mseLoss', () => {
    assertClose([mseLoss(tensor([1, 2, 3]), tensor([1, 0, 0])).item()], [13 / 3], 'mse');
    assertClose([mseLoss(tensor([1, 2, 3]), tensor([1, 0, 0]), { reduction: 'sum' }).item()], [13], 'mse sum');
  });
});

describe('optimizers, clipping and schedules', () => {
  const param = (v: number[]): Tensor => tensor(Float64Array.from(v), [v.length], { requiresGrad: true });
  const setGrad = (p: Tensor, g: number[]): void => {
    p.grad = tensor(Float64Array.from(g), [g.length]);
  };
  it('SGD with Nesterov momentum and weight decay follows PyTorch\'s rule', () => {
    const p = param([1]);
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.1, nesterov: true });
    setGrad(p, [0.5]);
    opt.step();
    assertClose(p.data, [0.886], 'step 1', 1e-12, 1e-12);
    setGrad(p, [0.5]);
    opt.step();
    assertClose(p.data, [0.725566], 'step 2', 1e-12, 1e-12);
  });
  it('Adam\'s first step moves each parameter by lr against the gradient sign', () => {
    const p = param([1, -2, 3]);
    const opt = new Adam([p], { lr: 0.01 });
    setGrad(p, [0.3, -5, 1e-3]);
    opt.step();
    assertClose(p.data, [0.99, -1.99, 2.99], 'adam step', 1e-7, 1e-6);
  });
  it('AdamW decays the parameter itself; Adam\'s L2 goes through the moments', () => {
    const a = param([2]);
    const w = param([2]);
    const oa = new Adam([a], { lr: 0.1, weightDecay: 0.5 });
    const ow = new AdamW([w], { lr: 0.1, weightDecay: 0.5 });
    setGrad(a, [0]);
    setGrad(w, [0]);
    oa.step();
    ow.step();
    assertClose(a.data, [1.9], 'adam: grad 0 + 0.5*2 -> one lr step');
    assertClose(w.data, [2 * (1 - 0.05)], 'adamw: only the decay');
  });
  it('RMSprop centered with momentum', () => {
    const p = param([1]);
    const opt = new RMSprop([p], { lr: 0.1, alpha: 0.5, centered: true, momentum: 0.5, eps: 0 });
    setGrad(p, [2]);
    opt.step();
    // sq = 0.5*4 = 2, gavg = 1, avg = sqrt(2 - 1) = 1, buf = 2, p = 1 - 0.2
    assertClose(p.data, [0.8], 'rmsprop', 1e-12, 1e-12);
  });
  it('parameter groups keep their own lr; zeroGrad clears', () => {
    const a = param([1]);
    const b = param([1]);
    const opt = new SGD([{ params: [a] }, { params: [b], lr: 1 }], { lr: 0.1 });
    setGrad(a, [1]);
    setGrad(b, [1]);
    opt.step();
    assertClose([a.data[0]!, b.data[0]!], [0.9, 0], 'groups', 1e-12, 1e-12);
    opt.zeroGrad();
    assert.equal(a.grad, null);
  });
  it('optimizer state round-trips through stateDict', () => {
    const p = param([1, 2]);
    const q = param([1, 2]);
    const o1 = new Adam([p], { lr: 0.1 });
    setGrad(p, [1, -1]);
    o1.step();
    const o2 = new Adam([q], { lr: 0.1 });
    q.data.set(p.data);
    o2.loadStateDict(JSON.parse(JSON.stringify(o1.stateDict())));
    setGrad(p, [0.5, 0.5]);
    setGrad(q, [0.5, 0.5]);
    o1.step();
    o2.step();
    assert.deepEqual(Array.from(q.data), Array.from(p.data));
  });
  it('clipGradNorm returns the norm before clipping and scales to maxNorm', () => {
    const a = param([0, 0]);
    const b = param([0]);
    setGrad(a, [3, 0]);
    setGrad(b, [4]);
    const n = clipGradNorm([a, b], 1);
    assert.equal(n, 5);
    assertClose([...a.grad!.data, ...b.grad!.data], [0.6, 0, 0.8], 'clipped', 1e-6, 1e-6);
    assert.equal(clipGradNorm([a, b], 10), Math.hypot(...a.grad!.data, ...b.grad!.data));
    setGrad(a, [3, -7]);
    assert.equal(clipGradNorm([a], 100, { normType: Infinity }), 7);
    clipGradValue([a], 1);
    assert.deepEqual(Array.from(a.grad!.data), [1, -1]);
  });
  it('StepLR, CosineAnnealingLR and ReduceLROnPlateau give PyTorch\'s sequences', () => {
    const p = param([1]);
    const o = new SGD([p], { lr: 0.1 });
    const s = new StepLR(o, { stepSize: 2, gamma: 0.5 });
    const seen = [o.lr];
    for (let i = 0; i < 5; i++) {
      s.step();
      seen.push(o.lr);
    }
    assertClose(seen, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025], 'StepLR', 1e-15, 1e-12);
    const o2 = new SGD([param([1])], { lr: 1 });
    const c = new CosineAnnealingLR(o2, { tMax: 4 });
    const cs: number[] = [];
    for (let i = 0; i < 4; i++) {
      c.step();
      cs.push(o2.lr);
    }
    assertClose(cs, [0.8535533905932737, 0.5, 0.14644660940672627, 0], 'cosine', 1e-12, 1e-12);
    const o3 = new SGD([param([1])], { lr: 1 });
    const r = new ReduceLROnPlateau(o3, { patience: 1, factor: 0.5 });
    const rs: number[] = [];
    for (const m of [1, 1, 1, 0.5, 0.5, 0.5]) {
      r.step(m);
      rs.push(o3.lr);
    }
    assert.deepEqual(rs, [1, 1, 0.5, 0.5, 0.5, 0.25]);
  });
});
