/**
 * Truncated BPTT with carried state: contiguous windows, the state carried from window to window
 * (the same values as one pass over the whole stretch), gradients stopping at each window's
 * start, resets, exact resume from checkpoints that keep the state, and `train text --stateful`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ContiguousWindows, fit, SequenceModel, SGD, Adam, crossEntropy, manualSeed, Generator, Tensor, loadCheckpoint, noGrad,
  type ContiguousBatch, type CarriedState, type SequenceState,
} from 'recurrent';
import { ROOT, assertClose, assertThrowsMatching as throws, inTmp } from '../helpers.js';

const ids = Int32Array.from({ length: 103 }, (_, i) => (i * 7 + (i >> 3)) % 11);

describe('contiguous windows', () => {
  it('each row reads its own stretch, window after window, and starts again after the last', () => {
    const w = new ContiguousWindows(ids, 4, 3); // stretches of 34: 8 windows of 4 (and their next ids)
    assert.equal(w.stretch, 34);
    assert.equal(w.windows, 8);
    for (let s = 0; s < 17; s++) {
      const b = w.at(s);
      assert.equal(b.reset, s % 8 === 0);
      for (let row = 0; row < 3; row++) {
        const start = row * 34 + (s % 8) * 4;
        for (let t = 0; t < 4; t++) {
          assert.equal(b.x.data[t * 3 + row], ids[start + t]);
          assert.equal(b.y.data[t * 3 + row], ids[start + t + 1]);
        }
      }
    }
    throws(() => new ContiguousWindows(ids, 40, 3), 'ContiguousWindows: 103 tokens make 3 stretches of 34, shorter than one window of 41; lower the batch or the window length');
    throws(() => new ContiguousWindows(ids, 0, 3), 'ContiguousWindows: T must be a positive integer, got 0');
    throws(() => w.at(-1), 'ContiguousWindows.at: step must be a non-negative integer, got -1');
  });
});

function model(seed: number, kind: 'lstm' | 'gru' = 'lstm'): SequenceModel {
  manualSeed(seed);
  return new SequenceModel({ embedding: { numEmbeddings: 11, embeddingDim: 5 }, rnn: { kind, inputSize: 5, hiddenSize: 7 }, head: { outFeatures: 11 } });
}

const T = 4;
const B = 3;
const lossOf = (m: SequenceModel) => (b: ContiguousBatch, state: CarriedState | null): [Tensor, CarriedState] => {
  const [logits, next] = m.forward(b.x, state as SequenceState | null);
  return [crossEntropy(logits.reshape([T * B, 11]), b.y), next];
};

describe('fit with carried state', () => {
  for (const kind of ['lstm', 'gru'] as const) {
    it(`${kind}: each step's loss is that window's in one pass over the whole stretch; the state resets after the last window`, () => {
      const m = model(1, kind);
      const w = new ContiguousWindows(ids, T, B);
      const losses: number[] = [];
      // lr 0: the weights stay, so every step's loss can be checked against one long forward
      fit<ContiguousBatch>({
        model: m, optimizer: new SGD(m.parameters(), { lr: 0 }), steps: w.windows + 3, rng: new Generator(1), reportEvery: 1,
        batch: (s) => w.at(s), stateful: { loss: lossOf(m), reset: (b) => b.reset },
        onEvent: (e) => { if (e.type === 'step') losses.push(e.loss!); },
      });
      const whole = noGrad(() => {
        const n = w.windows * T;
        const x = new Int32Array(n * B);
        const y = new Int32Array(n * B);
        for (let b = 0; b < B; b++) {
          for (let t = 0; t < n; t++) {
            x[t * B + b] = ids[b * w.stretch + t]!;
            y[t * B + b] = ids[b * w.stretch + t + 1]!;
          }
        }
        const [logits] = m.forward(new Tensor(x, [n, B]));
        const per = crossEntropy(logits.reshape([n * B, 11]), new Tensor(y, [n * B]), { reduction: 'none' }).data;
        return Array.from({ length: w.windows }, (_, k) => {
          let s = 0;
          for (let i = k * T * B; i < (k + 1) * T * B; i++) s += per[i]!;
          return s / (T * B);
        });
      });
      assertClose(losses.slice(0, w.windows), whole, 'carried windows vs one pass', 1e-6, 1e-5);
      // after the last window the rows start again from a zero state: the first windows' losses again
      assertClose(losses.slice(w.windows), whole.slice(0, 3), 'after the reset', 1e-6, 1e-5);
    });
  }

  it('gradients stop at the window\'s start: the same as from the carried state detached by hand', () => {
    const w = new ContiguousWindows(ids, T, B);
    const a = model(2);
    let seen: CarriedState | null = null;
    fit<ContiguousBatch>({
      model: a, optimizer: new SGD(a.parameters(), { lr: 0 }), steps: 3, rng: new Generator(1),
      batch: (s) => w.at(s),
      stateful: {
        loss: (b, state) => {
          seen = state;
          return lossOf(a)(b, state);
        },
        reset: (b) => b.reset,
      },
    });
    // the last step's gradients stay on the parameters (lr 0 leaves the weights as they were)
    const grads = a.parameters().flatMap((p) => Array.from(p.grad!.data));
    assert.ok(seen !== null && Array.isArray(seen) && (seen as Tensor[]).every((t) => !t.requiresGrad), 'the carried state has no graph');
    const b = model(2);
    const [loss] = lossOf(b)(w.at(2), (seen as Tensor[]).map((t) => new Tensor(Float32Array.from(t.data), t.shape)) as unknown as CarriedState);
    loss.backward();
    assertClose(grads, b.parameters().flatMap((p) => Array.from(p.grad!.data)), 'gradients of step 3', 1e-6, 1e-5);
  });

  it('a resumed run carries on exactly: the checkpoint keeps the carried state', () => {
    const steps = 14;
    const w = new ContiguousWindows(ids, T, B);
    const run = (seed: number, extra: object): number[] => {
      const m = model(seed);
      const losses: number[] = [];
      fit<ContiguousBatch>({
        model: m, optimizer: new Adam(m.parameters(), { lr: 0.01 }), steps, rng: new Generator(seed), reportEvery: 1,
        batch: (s) => w.at(s), stateful: { loss: lossOf(m), reset: (b) => b.reset },
        onEvent: (e) => { if (e.type === 'step') losses.push(e.loss!); }, ...extra,
      });
      return losses;
    };
    const all = run(3, {});
    let saved: Uint8Array | null = null;
    run(3, { steps: 5, checkpoint: { every: 5, write: (b: Uint8Array) => (saved = b) } });
    const after = run(99, { resumeFrom: saved! });
    assert.deepEqual(after, all.slice(5));
    // the checkpoint holds h and c after step 5 (window 5 of 8: not a reset)
    const m = model(3);
    const st = loadCheckpoint(saved!, m, new Adam(m.parameters()), new Generator(1));
    const carried = st.fit!.carried as Tensor[];
    assert.equal(carried.length, 2);
    assert.deepEqual(carried.map((t) => t.shape), [[1, B, 7], [1, B, 7]]);
  });

  it('takes loss or stateful, not both or neither', () => {
    const m = model(4);
    const base = { model: m, optimizer: new SGD(m.parameters(), { lr: 0 }), steps: 1, rng: new Generator(1), batch: () => 0 };
    throws(() => fit({ ...base }), 'fit: give either loss or stateful (with its own loss), got neither');
    throws(() => fit({ ...base, loss: () => new Tensor(new Float32Array(1), []), stateful: { loss: () => [new Tensor(new Float32Array(1), []), null as never], reset: () => true } }), 'fit: give either loss or stateful (with its own loss), not both');
  });
});

describe('recurrent train text --stateful', () => {
  it('trains on contiguous windows, validates carrying the state, and resumes from its checkpoint exactly', () => inTmp((dir) => {
    const data = join(dir, 'notes.txt');
    writeFileSync(data, 'It was the best of times, it was the worst of times; it was the age of wisdom. '.repeat(40));
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), ...args], { encoding: 'utf8', timeout: 120_000 });
    const common = ['train', 'text', '--data', data, '--hidden', '12', '--embed', '6', '--seq-len', '12', '--batch', '4', '--stateful', '--val-every', '0', '--json'];
    const whole = cli(...common, '--out', join(dir, 'a.st'), '--steps', '40');
    assert.equal(whole.status, 0, whole.stderr);
    assert.match(whole.stderr, /stateful \(\d+ windows per stretch\)/);
    // a run stopped at step 15, resumed to 40: the same result as the uninterrupted run
    const partial = cli(...common, '--out', join(dir, 'p.st'), '--steps', '15', '--checkpoint', join(dir, 'd.st'), '--checkpoint-every', '15');
    assert.equal(partial.status, 0, partial.stderr);
    const resumed = cli(...common, '--out', join(dir, 'r.st'), '--steps', '40', '--checkpoint', join(dir, 'd.st'), '--resume');
    assert.equal(resumed.status, 0, resumed.stderr);
    const a = JSON.parse(whole.stdout) as { val_loss: number };
    const r = JSON.parse(resumed.stdout) as { val_loss: number };
    assert.equal(r.val_loss, a.val_loss);
  }));
});
