/**
 * Same inputs, same results for any split of the batch: a row's output must not depend on the
 * rows computed with it (one alone, a few, many), on every backend, with gradients recorded or
 * not. Products of one row, of few columns and of many rows take different kernels; each must
 * sum every element in the same order.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Linear, LSTM, GRU, RNN, SequenceModel, randn, randint, tensor, manualSeed, noGrad, type Tensor } from 'recurrent';
import { eachBackend } from '../helpers.js';

/** Rows r0..r1 of a (rows, ...) tensor along dimension `dim` (0 or 1), as a new tensor. */
function rows(t: Tensor, dim: 0 | 1, r0: number, r1: number): Tensor {
  const shape = [...t.shape];
  const outer = dim === 0 ? 1 : shape[0]!;
  const n = shape[dim]!;
  const inner = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const data = new (t.data.constructor as Float32ArrayConstructor)(outer * (r1 - r0) * inner);
  for (let o = 0; o < outer; o++) data.set(t.data.subarray((o * n + r0) * inner, (o * n + r1) * inner), o * (r1 - r0) * inner);
  shape[dim] = r1 - r0;
  return tensor(data, shape);
}

function assertRows(part: Tensor, whole: Tensor, dim: 0 | 1, r0: number, what: string): void {
  const want = rows(whole, dim, r0, r0 + part.shape[dim]!);
  for (let i = 0; i < want.data.length; i++) {
    if (!Object.is(part.data[i], want.data[i])) assert.fail(`${what}: element ${i} is ${part.data[i]} alone, ${want.data[i]} in the whole batch`);
  }
}

/** Splits of B rows: each alone, then two parts. */
const splits = (B: number): [number, number][] => [...Array.from({ length: B }, (_, b) => [b, b + 1] as [number, number]), [0, 2], [2, B]];

describe('a row\'s results do not depend on the rows around it', () => {
  it('Linear: one row, a few and many; few columns and many; with and without gradients', () => {
    eachBackend((backend) => {
      manualSeed(11);
      // (inFeatures, outFeatures, rows): narrow heads, a one-row product past the threads' threshold, a wide one
      for (const [K, N, M] of [[32, 1, 700], [256, 3, 5000], [300, 2, 40], [1024, 512, 3], [64, 65, 9]] as const) {
        const lin = new Linear({ inFeatures: K, outFeatures: N });
        const x = randn([M, K]);
        for (const grad of [true, false]) {
          const run = (t: Tensor): Tensor => (grad ? lin.forward(t) : noGrad(() => lin.forward(t)));
          const whole = run(x);
          for (const [r0, r1] of [[0, 1], [M - 1, M], [1, 3]] as const) {
            assertRows(run(rows(x, 0, r0, r1)), whole, 0, r0, `${backend}: Linear(${K}, ${N}) rows ${r0}..${r1} of ${M}${grad ? '' : ', noGrad'}`);
          }
        }
      }
    });
  });

  it('recurrent layers and a SequenceModel: each sequence alone and in parts, outputs and states', () => {
    eachBackend((backend) => {
      manualSeed(12);
      const B = 5;
      for (const m of [new LSTM({ inputSize: 6, hiddenSize: 24, numLayers: 2 }), new GRU({ inputSize: 6, hiddenSize: 256 }), new RNN({ inputSize: 6, hiddenSize: 40 })]) {
        const x = randn([7, B, 6]);
        for (const grad of [true, false]) {
          const run = (t: Tensor): [Tensor, Tensor] => {
            const [out, s] = grad ? m.forward(t) : noGrad(() => m.forward(t));
            return [out, Array.isArray(s) ? (s as Tensor[])[0]! : (s as Tensor)];
          };
          const [out, hN] = run(x);
          for (const [r0, r1] of splits(B)) {
            const [o, h] = run(rows(x, 1, r0, r1));
            const what = `${backend}: ${m.constructor.name} ${m.hiddenSize}, sequences ${r0}..${r1}${grad ? '' : ', noGrad'}`;
            assertRows(o, out, 1, r0, `${what}: output`);
            assertRows(h, hN, 1, r0, `${what}: h`);
          }
        }
      }
      const model = new SequenceModel({ embedding: { numEmbeddings: 30, embeddingDim: 16 }, rnn: { kind: 'lstm', inputSize: 16, hiddenSize: 64 }, head: { outFeatures: 30 } });
      model.eval();
      const ids = randint(0, 30, [9, B]);
      for (const grad of [true, false]) {
        const run = (t: Tensor): Tensor => (grad ? model.forward(t)[0] : noGrad(() => model.forward(t)[0]));
        const whole = run(ids);
        for (const [r0, r1] of splits(B)) assertRows(run(rows(ids, 1, r0, r1)), whole, 1, r0, `${backend}: SequenceModel, sequences ${r0}..${r1}${grad ? '' : ', noGrad'}`);
      }
    });
  });
});
