/** Seq2Seq: padding never changes a result, training learns a task, greedy and beam decoding, errors. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Seq2Seq, Tensor, tensor, manualSeed, crossEntropy, Adam, Generator, concat, type Seq2SeqConfig } from 'recurrent';
import { assertClose, assertThrowsMatching, eachBackend } from '../helpers.js';

const ids = (rows: number[][], T: number, pad: number): Tensor => {
  // rows of ids -> (T, N) time-major, padded
  const N = rows.length;
  const d = new Int32Array(T * N).fill(pad);
  rows.forEach((r, n) => r.forEach((v, t) => { d[t * N + n] = v; }));
  return tensor(d, [T, N]);
};
const base = (over: Partial<Seq2SeqConfig> = {}): Seq2SeqConfig => ({
  sourceVocab: 7, sourceEmbedding: 5, targetVocab: 9, targetEmbedding: 4,
  encoder: { kind: 'gru', hiddenSize: 3, bidirectional: true }, decoder: { kind: 'gru', hiddenSize: 6 },
  bos: 0, eos: 1, pad: 2, ...over,
});

describe('Seq2Seq', () => {
  for (const [label, cfg] of [
    ['bi-GRU encoder, Bahdanau', base()],
    ['2-layer LSTM encoder into a 2-layer LSTM decoder through a bridge, multi-head attention', base({ encoder: { kind: 'lstm', hiddenSize: 4, numLayers: 2 }, decoder: { kind: 'lstm', hiddenSize: 6, numLayers: 2 }, attention: 'multihead', numHeads: 2 })],
    ['no attention', base({ attention: 'none', encoder: { kind: 'rnn', hiddenSize: 6 } })],
  ] as const) {
    it(`${label}: a padded batch gives each sequence the result it has alone, gradients included`, () => {
      manualSeed(1);
      const m = new Seq2Seq(cfg).to('float64');
      const srcs = [[3, 4, 5, 6], [5, 3], [6, 6, 4]];
      const tgts = [[0, 3, 4, 5], [0, 7], [0, 8, 3, 3]];
      const src = ids(srcs, 4, 0), tin = ids(tgts, 4, 2);
      const logits = m.forward(src, tin, { sourceLengths: srcs.map((s) => s.length) });
      assert.deepEqual(logits.shape, [4, 3, 9]);
      logits.mul(tensor(Float64Array.from({ length: logits.size }, (_, i) => Math.sin(i)), logits.shape)).sum().backward();
      const batchGrads = m.namedParameters().map(([n, p]) => [n, Float64Array.from(p.grad!.data)] as const);
      m.zeroGrad();
      let total: Tensor | null = null;
      srcs.forEach((s, n) => {
        const one = m.forward(ids([s], s.length, 0), ids([tgts[n]!], 4, 2));
        const alone = logits.slice(1, n, n + 1);
        assertClose(one.data, alone.data, `${label}: sequence ${n}`, 1e-12, 1e-10);
        const w = tensor(Float64Array.from({ length: 4 * 9 }, (_, i) => Math.sin(Math.floor(i / 9) * 27 + n * 9 + (i % 9))), [4, 1, 9]);
        const term = one.mul(w).sum();
        total = total ? total.add(term) : term;
      });
      total!.backward();
      for (const [name, g] of batchGrads) assertClose(m.namedParameters().find(([n]) => n === name)![1].grad!.data, g, `${label}: grad ${name}`, 1e-12, 1e-9);
    });
  }

  // the teacher-forced forward runs the decoder's steps as one node (attentionDecoder): the same
  // values and gradients as the public step, one op at a time
  for (const [label, cfg, dtype] of [
    ['GRU decoder, float64', base(), 'float64'],
    ['LSTM decoder, the context beside the output, float32', base({ encoder: { kind: 'lstm', hiddenSize: 3, bidirectional: true }, decoder: { kind: 'lstm', hiddenSize: 6 }, outputContext: true }), 'float32'],
    ['RNN decoder, float32', base({ decoder: { kind: 'rnn', hiddenSize: 6 }, outputContext: false }), 'float32'],
    ['GRU decoder, wide (the kernels\' row split), float32', base({ encoder: { kind: 'gru', hiddenSize: 20, bidirectional: true }, decoder: { kind: 'gru', hiddenSize: 40 } }), 'float32'],
  ] as const) {
    it(`${label}: the teacher-forced forward gives what step() gives step by step, gradients included, on every backend`, () => eachBackend((backend) => {
      manualSeed(3);
      const m = new Seq2Seq(cfg).to(dtype);
      const srcs = [[3, 4, 5, 6], [5, 3], [6, 6, 4], [4], [5, 5, 5, 5], [3, 6]];
      const tgts = [[0, 3, 4, 5, 6], [0, 7], [0, 8, 3, 3], [0, 4, 4], [0, 5, 6, 7, 8], [0, 3]];
      const src = ids(srcs, 4, 0), tin = ids(tgts, 5, 2);
      const lengths = srcs.map((x) => x.length);
      const w = (shape: readonly number[]): Tensor => tensor(Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)), [...shape]).to(dtype);
      const whole = m.forward(src, tin, { sourceLengths: lengths });
      whole.mul(w(whole.shape)).sum().backward();
      const grads = m.namedParameters().map(([n, p]) => [n, Float64Array.from(p.grad!.data)] as const);
      m.zeroGrad();
      const enc = m.encode(src, lengths);
      let state = enc.state;
      const steps: Tensor[] = [];
      for (let t = 0; t < 5; t++) {
        const [logits, next] = m.step(tin.slice(0, t, t + 1).reshape([6]), state, enc);
        steps.push(logits.reshape([1, 6, 9]));
        state = next;
      }
      const stepped = concat(steps, 0);
      const tol = dtype === 'float64' ? [1e-12, 1e-10] : [2e-6, 2e-5];
      assertClose(whole.data, stepped.data, `${label} [${backend}]: logits`, tol[0], tol[1]);
      stepped.mul(w(stepped.shape)).sum().backward();
      for (const [n, g] of grads) assertClose(g, m.namedParameters().find(([k]) => k === n)![1].grad!.data, `${label} [${backend}]: ${n}'s gradient`, tol[0]! * 10, tol[1]! * 10);
    }));
  }

  it('loss: the cross-entropy of every target token, the padding left out', () => {
    manualSeed(2);
    const m = new Seq2Seq(base());
    const srcs = [[3, 4, 5], [5, 3]];
    const batch = { source: ids(srcs, 3, 0), sourceLengths: [3, 2], targetIn: ids([[0, 3, 4], [0, 7]], 3, 2), targetOut: ids([[3, 4, 1], [7, 1]], 3, 2) };
    const logits = m.forward(batch.source, batch.targetIn, { sourceLengths: batch.sourceLengths });
    // by hand: -log softmax at each of the 5 real targets, averaged
    let total = 0;
    const targets = batch.targetOut.data;
    for (let r = 0; r < 6; r++) {
      if (targets[r] === 2) continue;
      const row = Array.from(logits.data.slice(r * 9, r * 9 + 9));
      const max = Math.max(...row);
      total += max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0)) - row[targets[r]!]!;
    }
    assertClose([m.loss(batch).item()], [total / 5], 'loss', 1e-6, 1e-5);
    assertClose([m.loss(batch).item()], [crossEntropy(logits.reshape([6, 9]), batch.targetOut.reshape([6]), { ignoreIndex: 2 }).item()], 'the same as crossEntropy', 0, 0);
  });

  it('learns to reverse short sequences, and greedy and beam decoding agree on what it learnt', () => {
    manualSeed(3);
    const cfg = base({ sourceVocab: 6, targetVocab: 8, encoder: { kind: 'gru', hiddenSize: 16, bidirectional: true }, decoder: { kind: 'gru', hiddenSize: 32 } });
    const m = new Seq2Seq(cfg);
    const opt = new Adam(m.parameters(), { lr: 1e-2 });
    const rng = new Generator(5);
    // source symbols 1..5 become target tokens 3..7, reversed
    const batch = (N: number) => {
      const srcs: number[][] = [];
      const tins: number[][] = [];
      const touts: number[][] = [];
      for (let n = 0; n < N; n++) {
        const len = 2 + rng.int(4);
        const s = Array.from({ length: len }, () => 1 + rng.int(5));
        const t = [...s].reverse().map((v) => v + 2);
        srcs.push(s);
        tins.push([0, ...t]);
        touts.push([...t, 1]);
      }
      return { srcs, src: ids(srcs, 5, 0), tin: ids(tins, 6, 2), tout: ids(touts, 6, 2), lengths: srcs.map((s) => s.length) };
    };
    for (let step = 0; step < 300; step++) {
      const b = batch(32);
      opt.zeroGrad();
      const logits = m.forward(b.src, b.tin, { sourceLengths: b.lengths });
      crossEntropy(logits.reshape([-1, 8]), b.tout.reshape([-1]), { ignoreIndex: 2 }).backward();
      opt.step();
    }
    const b = batch(20);
    const greedy = m.translate(b.src, { sourceLengths: b.lengths });
    const beam = m.translate(b.src, { sourceLengths: b.lengths, beamWidth: 4 });
    let right = 0;
    b.srcs.forEach((s, n) => {
      const want = [...s].reverse().map((v) => v + 2);
      if (JSON.stringify(greedy[n]!.tokens) === JSON.stringify(want)) right++;
      assert.equal(greedy[n]!.attention.length, greedy[n]!.tokens.length + 1);
      assert.equal(greedy[n]!.attention[0]!.length, s.length);
      assert.ok(Math.abs(greedy[n]!.attention[0]!.reduce((a, x) => a + x, 0) - 1) < 1e-5);
      // beam search never scores below greedy (length penalty 1 on both)
      const norm = (d: { tokens: number[]; logProb: number }) => d.logProb / (d.tokens.length + 1);
      assert.ok(norm(beam[n]!) >= norm(greedy[n]!) - 1e-6, `sequence ${n}: beam ${norm(beam[n]!)} < greedy ${norm(greedy[n]!)}`);
    });
    assert.ok(right >= 16, `${right} of 20 reversed`);
  });

  it('refuses bad configs and inputs, naming them', () => {
    assertThrowsMatching(() => new Seq2Seq(base({ decoder: { kind: 'gru', hiddenSize: 5 } })), /widths must agree: the encoder gives 6 .* the decoder's hiddenSize is 5/);
    assertThrowsMatching(() => new Seq2Seq(base({ eos: 0 })), /bos, eos and pad must be three different tokens/);
    assertThrowsMatching(() => new Seq2Seq(base({ pad: 9 })), /pad must be a target token id in \[0, 9\), got 9/);
    assertThrowsMatching(() => new Seq2Seq(base({ attention: 'luong' as 'none' })), /attention must be one of/);
    assertThrowsMatching(() => new Seq2Seq(base({ encoder: { kind: 'gru', hiddenSize: 3, bidirectionl: true } as never })), /unknown option 'bidirectionl'/);
    const m = new Seq2Seq(base());
    assertThrowsMatching(() => m.forward(ids([[3, 9]], 2, 0), ids([[0, 3]], 2, 2)), /source holds token id 9 .* outside the source vocabulary \[0, 7\)/);
    assertThrowsMatching(() => m.forward(ids([[3, 4]], 2, 0), ids([[0, 3]], 2, 2), { sourceLengths: [3] }), /sourceLengths\[0\] must be a whole number in \[1, 2\], got 3/);
    assertThrowsMatching(() => m.forward(ids([[3, 4]], 2, 0), ids([[0, 3]], 2, 2), { teacherForcing: 2 }), /teacherForcing must be a number in \[0, 1\]/);
    assertThrowsMatching(() => m.translate(ids([[3, 4]], 2, 0), { beamWidth: 1000 }), /beamWidth must be in \[1, 100\]/);
  });
});
