/**
 * The backend contract: core tensor kernels plus optional extensions. A backend with only the
 * core runs every layer (the reference's sequence, optimizer and generation kernels stand in);
 * one whose sequence kernels support some kinds runs those itself and the rest on the reference;
 * a backward runs where its forward ran.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  registerBackend, referenceBackend, setBackend, backend, LSTM, GRU, SequenceModel, Adam, randn, manualSeed, crossEntropy, randint,
  type BackendImplementation, type CoreKernels, type RecurrentDims,
} from 'recurrent';
import { assertClose } from '../helpers.js';

const CORE: (keyof CoreKernels)[] = ['gemm', 'linearBackward', 'unary', 'unaryBackward', 'pow', 'binary', 'sumTo', 'broadcastTo', 'permute', 'softmax', 'softmaxBackward', 'logSoftmaxNllBackward'];
const core = (name: string): BackendImplementation => ({ ...Object.fromEntries(CORE.map((k) => [k, referenceBackend[k]])), name } as unknown as BackendImplementation);

/** A training step and a generation from the same seed: its loss, gradients and drawn tokens. */
function run(be: string): { loss: number; grads: number[]; ids: number[] } {
  setBackend(be);
  manualSeed(3);
  const m = new SequenceModel({ embedding: { numEmbeddings: 7, embeddingDim: 4 }, rnn: { kind: 'gru', inputSize: 4, hiddenSize: 5 }, head: { outFeatures: 7 } });
  const opt = new Adam(m.parameters(), { lr: 0.01 });
  const x = randint(0, 7, [6, 3]);
  const y = randint(0, 7, [18]);
  const loss = crossEntropy(m.forward(x)[0].reshape([18, 7]), y);
  loss.backward();
  const grads = m.parameters().flatMap((p) => Array.from(p.grad!.data));
  opt.step();
  const ids = Array.from(m.stepper().generate(1, 5, null, { temperature: 0 })[0]);
  return { loss: loss.item(), grads, ids };
}

describe('the backend contract', () => {
  const before = backend();
  after(() => setBackend(before));

  it('a backend of core kernels alone trains and generates: the reference\'s extensions stand in', () => {
    registerBackend(core('core-only'));
    setBackend('core-only');
    const want = run('reference');
    const got = run('core-only');
    assert.equal(got.loss, want.loss);
    assert.deepEqual(got.grads, want.grads);
    assert.deepEqual(got.ids, want.ids);
  });

  it('sequence kernels that support some kinds run those; the others, and their backward, run on the reference', () => {
    const seen: string[] = [];
    registerBackend({
      ...core('gru-only'),
      sequence: {
        supports: (d: RecurrentDims) => d.kind === 'gru',
        recurrentForward: (...a) => {
          seen.push(`forward ${a[0].kind}`);
          const r = referenceBackend.recurrentForward(...a);
          // a cache of this backend: its backward must come back here
          return { ...r, cache: r.cache && { ...r.cache, backend: 'gru-only' } };
        },
        recurrentBackward: (...a) => {
          seen.push(`backward ${a[0].kind}`);
          return referenceBackend.recurrentBackward(a[0], a[1], a[2], a[3], a[4], a[5], { ...a[6], cache: a[6].cache && { ...a[6].cache, backend: 'reference' } }, a[7], a[8], a[9], a[10]);
        },
      },
    });
    setBackend('gru-only');
    manualSeed(1);
    const x = randn([4, 2, 3], { requiresGrad: true });
    const [yl] = new LSTM({ inputSize: 3, hiddenSize: 4 }).forward(x);
    const [yg] = new GRU({ inputSize: 3, hiddenSize: 4 }).forward(x);
    yl.sum().add(yg.sum()).backward();
    assert.deepEqual(seen.sort(), ['backward gru', 'forward gru']);
    const dx = Array.from(x.grad!.data);
    setBackend('reference');
    manualSeed(1);
    const xr = randn([4, 2, 3], { requiresGrad: true });
    const [zl] = new LSTM({ inputSize: 3, hiddenSize: 4 }).forward(xr);
    const [zg] = new GRU({ inputSize: 3, hiddenSize: 4 }).forward(xr);
    zl.sum().add(zg.sum()).backward();
    assertClose(dx, xr.grad!.data, 'input gradient', 0, 0);
  });
});
