import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LSTM, GRU, RNN, randn, randint, manualSeed, listBackends, setBackend, SGD, zeros, SequenceModel, Generator, sampleLogits, type Tensor, type SequenceState, type SampleOptions } from 'recurrent';
import { assertClose, assertThrowsMatching as throws } from '../helpers.js';

for (const be of listBackends()) {
  describe(`layer steppers [${be}]`, () => {
    const cases: [string, () => LSTM | GRU | RNN][] = [
      ['LSTM 2 layers, projection', () => new LSTM({ inputSize: 5, hiddenSize: 8, numLayers: 2, projSize: 3 })],
      ['GRU 3 layers', () => new GRU({ inputSize: 4, hiddenSize: 7, numLayers: 3 })],
      ['RNN relu', () => new RNN({ inputSize: 3, hiddenSize: 12, nonlinearity: 'relu' })],
    ];
    for (const [name, make] of cases) {
      it(`${name}: stepping equals forward over the sequence`, () => {
        setBackend(be);
        manualSeed(3);
        const m = make();
        const T = 6, B = 2;
        const x = randn([T, B, m.inputSize]);
        let out: Tensor, hN: Tensor, cN: Tensor | null = null;
        if (m instanceof LSTM) [out, [hN, cN]] = m.forward(x);
        else [out, hN] = m.forward(x);
        const s = m.stepper();
        let state = null;
        let y: Tensor | null = null;
        for (let t = 0; t < T; t++) [y, state] = s.step(x.slice(0, t, t + 1).squeeze(0), state as never);
        assertClose(y!, out.slice(0, T - 1, T).squeeze(0).data, 'last output');
        if (cN) {
          const [h, c] = state as unknown as [Tensor, Tensor];
          assertClose(h, hN.data, 'h');
          assertClose(c, cN.data, 'c');
        } else assertClose(state as unknown as Tensor, hN.data, 'h');
        s.dispose();
      });
    }
    it('unbatched steps', () => {
      setBackend(be);
      const m = new GRU({ inputSize: 3, hiddenSize: 4, numLayers: 2 });
      const [y, h] = m.stepper().step(randn([3]));
      assert.deepEqual(y.shape, [4]);
      assert.deepEqual((h as Tensor).shape, [2, 4]);
    });
    it('refuses bidirectional layers, stale weights and bad input', () => {
      setBackend(be);
      throws(() => new LSTM({ inputSize: 3, hiddenSize: 4, bidirectional: true }).stepper(), 'LSTM.stepper', 'bidirectional');
      const m = new LSTM({ inputSize: 3, hiddenSize: 4 });
      const s = m.stepper();
      throws(() => s.step(randn([2, 5])), 'x has 5 features, expected inputSize 3');
      throws(() => s.step(randn([2, 3]), [zeros([1, 2, 4]), zeros([1, 3, 4])]), 'c must be a float32 tensor of shape [1, 2, 4]');
      const [y] = m.forward(randn([2, 1, 3]));
      y.sum().backward();
      new SGD(m.parameters(), { lr: 0.1 }).step();
      throws(() => s.step(randn([1, 3])), "weights changed after this stepper was made");
      m.stepper().step(randn([1, 3]));
    });
  });
}

for (const be of listBackends()) {
  describe(`model steppers [${be}]`, () => {
    it('token ids through embedding, layer and head equal the model over the sequence, batched and not', () => {
      setBackend(be);
      manualSeed(4);
      for (const rnn of [{ kind: 'lstm', inputSize: 6, hiddenSize: 16 }, { kind: 'gru', inputSize: 6, hiddenSize: 9, numLayers: 2 }, { kind: 'lstm', inputSize: 6, hiddenSize: 8, projSize: 3 }] as const) {
        const model = new SequenceModel({ embedding: { numEmbeddings: 11, embeddingDim: 6 }, rnn, head: { outFeatures: 5 } });
        const T = 5, B = 3;
        const ids = randint(0, 11, [T, B]);
        const [want] = model.forward(ids); // (T, B, 5)
        const s = model.stepper();
        let state = null;
        for (let t = 0; t < T; t++) {
          let logits: Tensor;
          [logits, state] = s.step(ids.slice(0, t, t + 1).squeeze(0), state);
          assert.deepEqual(logits.shape, [B, 5]);
          assertClose(logits, want.slice(0, t, t + 1).squeeze(0).data, `${rnn.kind} step ${t}`);
        }
        // one sequence, ids as numbers: the first column
        const one = model.stepper();
        let st1 = null;
        for (let t = 0; t < T; t++) {
          let logits: Tensor;
          [logits, st1] = one.step(ids.data[t * B]!, st1);
          assert.deepEqual(logits.shape, [5]);
          assertClose(logits, want.slice(0, t, t + 1).data.slice(0, 5), `${rnn.kind} unbatched step ${t}`);
        }
        s.dispose();
        one.dispose();
      }
    });
    it('a float64 model steps in float64', () => {
      setBackend(be);
      manualSeed(6);
      const model = new SequenceModel({ embedding: { numEmbeddings: 7, embeddingDim: 4 }, rnn: { kind: 'gru', inputSize: 4, hiddenSize: 6 }, head: { outFeatures: 7 } }).to('float64');
      const ids = randint(0, 7, [3, 1]);
      const [want] = model.forward(ids);
      const s = model.stepper();
      let state = null;
      let logits: Tensor | null = null;
      for (let t = 0; t < 3; t++) [logits, state] = s.step(ids.data[t]!, state);
      assert.equal(logits!.dtype, 'float64');
      assertClose(logits!, want.data.slice(14, 21), 'last step', 1e-12, 1e-12);
    });
    it('features in (no embedding), output "last"', () => {
      setBackend(be);
      manualSeed(5);
      const model = new SequenceModel({ rnn: { kind: 'rnn', inputSize: 2, hiddenSize: 7 }, head: { outFeatures: 1 }, output: 'last' });
      const x = randn([4, 2, 2]);
      const [want] = model.forward(x); // (2, 1): the last step
      const s = model.stepper();
      let state = null;
      let y: Tensor | null = null;
      for (let t = 0; t < 4; t++) [y, state] = s.step(x.slice(0, t, t + 1).squeeze(0), state);
      assertClose(y!, want.data, 'last step');
    });
    it('refuses bad ids, bad input, pooled models, stale weights and mixed dtypes', () => {
      setBackend(be);
      const model = new SequenceModel({ embedding: { numEmbeddings: 4, embeddingDim: 3 }, rnn: { kind: 'lstm', inputSize: 3, hiddenSize: 5 }, head: { outFeatures: 4 } });
      const s = model.stepper();
      throws(() => s.step(4), 'SequenceStepper.step: token id 4 is outside the vocabulary [0, 4)');
      throws(() => s.step(1.5), 'token id 1.5 is outside');
      throws(() => s.step(randint(4, 5, [2])), 'SequenceStepper.step: token id 4 is outside the vocabulary [0, 4)');
      throws(() => s.step(randn([3])), 'input must be a token id (number) or an int32 tensor of shape [batch], got a float32 tensor of shape [3]');
      throws(() => s.step(2, [zeros([1, 5]), zeros([1, 4])]), 'c must be a float32 tensor of shape [1, 5]');
      const feats = new SequenceModel({ rnn: { kind: 'gru', inputSize: 3, hiddenSize: 4 }, head: { outFeatures: 2 }, output: 'last' }).stepper();
      throws(() => feats.step(randn([2, 5])), 'SequenceStepper.step: input has 5 features, expected 3');
      throws(() => feats.step(7), 'input must be a float32 tensor of shape [3] or [batch, 3], got number');
      throws(() => new SequenceModel({ rnn: { kind: 'gru', inputSize: 3, hiddenSize: 4 }, head: { outFeatures: 2 }, output: 'mean' }).stepper(), "SequenceModel.stepper: this model's head sees the mean over all steps");
      s.step(1);
      const [out] = model.forward(randint(0, 4, [2, 1]));
      out.sum().backward();
      new SGD(model.head.parameters(), { lr: 0.1 }).step(); // the head alone changes
      throws(() => s.step(1), "the model's weights changed after this stepper was made");
      const m64 = new SequenceModel({ embedding: { numEmbeddings: 4, embeddingDim: 3 }, rnn: { kind: 'lstm', inputSize: 3, hiddenSize: 5 }, head: { outFeatures: 4 } });
      m64.rnn.to('float64');
      throws(() => m64.stepper(), 'SequenceModel.stepper: the embedding is float32 but the recurrent layer is float64');
      const gone = new SequenceModel({ embedding: { numEmbeddings: 4, embeddingDim: 3 }, rnn: { kind: 'rnn', inputSize: 3, hiddenSize: 5 }, head: { outFeatures: 4 } }).stepper();
      gone.dispose();
      throws(() => gone.step(0), 'SequenceStepper.step: this stepper was disposed; make a new one with stepper()');
      // a state whose buffer went to a worker (postMessage with transfer) is refused, not read as zeros
      const st = model.stepper();
      const [, moved] = st.step(1) as [Tensor, [Tensor, Tensor]];
      structuredClone(moved[0].data.buffer, { transfer: [moved[0].data.buffer as ArrayBuffer] });
      throws(() => st.step(2, moved), "SequenceStepper.step: h's data has 0 values, expected 5 (was its buffer transferred?)");
    });
  });
}

for (const be of listBackends()) {
  describe(`model stepper generation [${be}]`, () => {
    /** n tokens by step and sampleLogits, as a user would write it: the specification of generate. */
    function byHand(model: SequenceModel, token: number, n: number, state: SequenceState | null, opts: SampleOptions, rng: Generator): [number[], SequenceState] {
      const s = model.stepper();
      const ids: number[] = [];
      let st = state;
      for (let i = 0; i < n; i++) {
        let logits: Tensor;
        [logits, st] = s.step(token, st);
        token = sampleLogits(logits.data, opts, rng);
        ids.push(token);
      }
      return [ids, st!];
    }
    const stateList = (st: SequenceState): Tensor[] => (Array.isArray(st) ? [...st] : [st as Tensor]);
    // without top-k and top-p, all layers run in one backend call where they can; with, step
    const cases = [
      ['lstm', 64, 1, {}], ['lstm', 64, 1, { temperature: 0.6 }], ['gru', 40, 1, { temperature: 0 }], ['rnn', 24, 1, { temperature: 1.5 }],
      ['lstm', 12, 2, { temperature: 0.8 }], ['gru', 64, 3, { temperature: 0.9 }], ['gru', 16, 1, { topK: 3 }], ['lstm', 16, 1, { topP: 0.9, temperature: 0.9 }],
    ] as const;
    for (const [kind, H, layers, opts] of cases) {
      it(`${kind} H=${H} ${layers} layer(s) ${JSON.stringify(opts)}: the tokens and state of step and sampleLogits`, () => {
        setBackend(be);
        manualSeed(11);
        const V = 29;
        const model = new SequenceModel({ embedding: { numEmbeddings: V, embeddingDim: 8 }, rnn: { kind, inputSize: 8, hiddenSize: H, numLayers: layers }, head: { outFeatures: V } });
        // a peaked head, so that greedy and low temperatures do not just repeat one token
        for (const p of model.head.parameters()) p.data.forEach((v, i, a) => (a[i] = v * 6));
        const n = 60;
        const [prime] = byHand(model, 3, 2, null, opts, new Generator(1)); // a state not zero
        const [, st0] = byHand(model, 3, 2, null, opts, new Generator(1));
        const [want, wantState] = byHand(model, prime[1]!, n, st0, opts, new Generator(9));
        const s = model.stepper();
        const [got, gotState] = s.generate(prime[1]!, n, st0, opts, new Generator(9));
        assert.deepEqual(Array.from(got), want, 'tokens');
        const gs = stateList(gotState), ws = stateList(wantState);
        assert.equal(gs.length, ws.length);
        gs.forEach((t, i) => {
          assert.deepEqual(t.shape, ws[i]!.shape);
          assertClose(t, ws[i]!.data, `state ${i}`);
        });
        assert.ok(new Set(got).size > 3, `the draws vary: ${got.join(' ')}`);
        // in two calls, the last token drawn fed to the second: the same tokens
        const rng = new Generator(9);
        const [a, mid] = s.generate(prime[1]!, 25, st0, opts, rng);
        const [b] = s.generate(a[24]!, n - 25, mid, opts, rng);
        assert.deepEqual([...a, ...b], want, 'in two calls');
      });
    }
    it('a float64 model generates in float64, two layers', () => {
      setBackend(be);
      manualSeed(13);
      const model = new SequenceModel({ embedding: { numEmbeddings: 9, embeddingDim: 4 }, rnn: { kind: 'lstm', inputSize: 4, hiddenSize: 8, numLayers: 2 }, head: { outFeatures: 9 } }).to('float64');
      const [want, wantState] = byHand(model, 2, 25, null, { temperature: 0.9 }, new Generator(3));
      const [got, state] = model.stepper().generate(2, 25, null, { temperature: 0.9 }, new Generator(3));
      assert.deepEqual(Array.from(got), want);
      const [h] = state as [Tensor, Tensor];
      assert.equal(h.dtype, 'float64');
      assertClose(h, (wantState as [Tensor, Tensor])[0].data, 'h', 1e-12, 1e-12);
    });
    it('from no state: zeros', () => {
      setBackend(be);
      manualSeed(12);
      const model = new SequenceModel({ embedding: { numEmbeddings: 9, embeddingDim: 4 }, rnn: { kind: 'gru', inputSize: 4, hiddenSize: 8 }, head: { outFeatures: 9 } });
      const [want] = byHand(model, 2, 20, null, {}, new Generator(3));
      assert.deepEqual(Array.from(model.stepper().generate(2, 20, null, {}, new Generator(3))[0]), want);
      assert.deepEqual(Array.from(model.stepper().generate(2, 20, undefined, undefined, new Generator(3))[0]), want);
    });
    it('refuses models without an embedding, bad tokens, counts, options and states', () => {
      setBackend(be);
      const model = new SequenceModel({ embedding: { numEmbeddings: 5, embeddingDim: 3 }, rnn: { kind: 'lstm', inputSize: 3, hiddenSize: 4 }, head: { outFeatures: 5 } });
      const s = model.stepper();
      throws(() => s.generate(5, 3), 'SequenceStepper.generate: token id 5 is outside the vocabulary [0, 5)');
      throws(() => s.generate(0, 0), 'SequenceStepper.generate: n must be a whole number >= 1, got 0');
      throws(() => s.generate(0, 2.5), 'n must be a whole number >= 1, got 2.5');
      throws(() => s.generate(0, 3, null, { temperature: -1 }), 'SequenceStepper.generate: temperature must be >= 0, got -1');
      throws(() => s.generate(0, 3, null, { topP: 0 }), 'topP must be in (0, 1], got 0');
      throws(() => s.generate(0, 3, null, { topK: 1.5 }), 'topK must be a whole number >= 0 (0: all tokens), got 1.5');
      throws(() => s.generate(0, 3, [zeros([1, 4]), zeros([1, 3])]), 'SequenceStepper.generate: c must be a float32 tensor of shape [1, 4]');
      throws(() => s.generate(0, 3, [zeros([1, 2, 4]), zeros([1, 2, 4])]), 'h must be a float32 tensor of shape [1, 4]');
      const feats = new SequenceModel({ rnn: { kind: 'gru', inputSize: 3, hiddenSize: 4 }, head: { outFeatures: 2 } }).stepper();
      throws(() => feats.generate(0, 3), 'SequenceStepper.generate: generation feeds drawn token ids back in, so the model needs an embedding');
      const wide = new SequenceModel({ embedding: { numEmbeddings: 3, embeddingDim: 3 }, rnn: { kind: 'gru', inputSize: 3, hiddenSize: 4 }, head: { outFeatures: 4 } }).stepper();
      throws(() => wide.generate(0, 3), 'the head gives 4 outputs a step but the embedding has only 3 tokens');
      const [out] = model.forward(randint(0, 5, [2, 1]));
      out.sum().backward();
      new SGD(model.parameters(), { lr: 0.1 }).step();
      throws(() => s.generate(1, 2), "the model's weights changed after this stepper was made");
      s.dispose();
    });
  });
}

for (const be of listBackends()) {
  describe(`model stepper prime [${be}]`, () => {
    const models: [string, () => SequenceModel][] = [
      ['LSTM 64 -> 256 (one sequence split by units over threads)', () => new SequenceModel({ embedding: { numEmbeddings: 30, embeddingDim: 64 }, rnn: { kind: 'lstm', inputSize: 64, hiddenSize: 256 }, head: { outFeatures: 30 } })],
      ['GRU 2 layers', () => new SequenceModel({ embedding: { numEmbeddings: 11, embeddingDim: 5 }, rnn: { kind: 'gru', inputSize: 5, hiddenSize: 9, numLayers: 2 }, head: { outFeatures: 11 } })],
      ['LSTM with a projection', () => new SequenceModel({ embedding: { numEmbeddings: 7, embeddingDim: 4 }, rnn: { kind: 'lstm', inputSize: 4, hiddenSize: 8, projSize: 3 }, head: { outFeatures: 7 } })],
    ];
    for (const [name, make] of models) {
      it(`${name}: the last logits and state of step after step`, () => {
        setBackend(be);
        manualSeed(21);
        const model = make();
        const V = model.embedding!.numEmbeddings;
        const ids = Array.from({ length: 13 }, (_, i) => (i * 5 + 2) % V);
        const s = model.stepper();
        const [, st0] = s.step(1); // from a state that is not zeros
        let logits: Tensor | null = null;
        let st: SequenceState = st0;
        for (const id of ids) [logits, st] = s.step(id, st);
        const [got, gotState] = s.prime(ids, st0);
        assert.deepEqual(got.shape, logits!.shape);
        assertClose(got, logits!.data, 'logits');
        const a = Array.isArray(gotState) ? gotState : [gotState as Tensor];
        const b = Array.isArray(st) ? st : [st as Tensor];
        a.forEach((t, i) => {
          assert.deepEqual(t.shape, b[i]!.shape);
          assertClose(t, b[i]!.data, `state ${i}`);
        });
        // an int32 tensor of ids, and from no state
        const [fromZero] = s.prime(randint(0, V, [4]));
        assert.deepEqual(fromZero.shape, [V]);
        s.dispose();
      });
    }
    it('features in (no embedding): a tensor (steps, features)', () => {
      setBackend(be);
      manualSeed(22);
      const model = new SequenceModel({ rnn: { kind: 'rnn', inputSize: 2, hiddenSize: 7 }, head: { outFeatures: 3 } });
      const x = randn([5, 2]);
      const s = model.stepper();
      let y: Tensor | null = null;
      let st: SequenceState | null = null;
      for (let t = 0; t < 5; t++) [y, st] = s.step(x.slice(0, t, t + 1).squeeze(0), st);
      const [got] = s.prime(x);
      assertClose(got, y!.data, 'last output');
      throws(() => s.prime(randn([5, 3])), 'SequenceStepper.prime: this model takes features: ids must be a float32 tensor of shape [steps, 2], got [5, 3]');
    });
    it('refuses empty prompts, bad ids and stale weights', () => {
      setBackend(be);
      const model = new SequenceModel({ embedding: { numEmbeddings: 5, embeddingDim: 3 }, rnn: { kind: 'lstm', inputSize: 3, hiddenSize: 4 }, head: { outFeatures: 5 } });
      const s = model.stepper();
      throws(() => s.prime([]), 'SequenceStepper.prime: the prompt is empty: at least one step is needed');
      throws(() => s.prime([1, 5]), 'SequenceStepper.prime: token id 5 (at 1) is outside the vocabulary [0, 5)');
      throws(() => s.prime([1.5]), 'token id 1.5 (at 0) is outside');
      throws(() => s.prime(randn([3])), 'token ids must be numbers or an int32 tensor of shape [steps], got a float32 tensor of shape [3]');
      throws(() => s.prime([1], [zeros([1, 4]), zeros([2, 4])]), 'SequenceStepper.prime: c must be a float32 tensor of shape [1, 4]');
      const [out] = model.forward(randint(0, 5, [2, 1]));
      out.sum().backward();
      new SGD(model.parameters(), { lr: 0.1 }).step();
      throws(() => s.prime([1]), "the model's weights changed after this stepper was made");
    });
  });
}
