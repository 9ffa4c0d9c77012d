/** SequenceModel and model files: round trips, atomic files, refusals with reasons, fuzzing. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  SequenceModel, saveModel, loadModel, saveModelFile, loadModelFile, saveSafetensors, crossEntropy, tensor, randn, randint,
  manualSeed, Generator, VERSION, type Tensor,
} from 'recurrent';
import { ROOT, fixture, fromArr, assertClose, assertThrowsMatching as throws, type Arr } from '../helpers.js';

const lm = (): SequenceModel => new SequenceModel({
  embedding: { numEmbeddings: 11, embeddingDim: 6 },
  rnn: { kind: 'lstm', inputSize: 6, hiddenSize: 8 },
  head: { outFeatures: 11 },
});

describe('SequenceModel', () => {
  it("has PyTorch's parameter names and reproduces the first loss of PyTorch's training run", () => {
    const c = fixture<{ tokens: { shape: number[]; data: number[] }; initial_params: Record<string, Arr>; losses: number[] }>('train_lstm_adam');
    const m = lm();
    assert.deepEqual(m.namedParameters().map(([n]) => n), Object.keys(c.initial_params));
    m.loadStateDict(Object.fromEntries(Object.entries(c.initial_params).map(([k, v]) => [k, fromArr(v)])));
    const [T1, B] = c.tokens.shape as [number, number];
    const T = T1 - 1;
    const [logits] = m.forward(tensor(Int32Array.from(c.tokens.data.slice(0, T * B)), [T, B]));
    const loss = crossEntropy(logits.reshape([T * B, 11]), tensor(Int32Array.from(c.tokens.data.slice(B)), [T * B]));
    assertClose([loss.item()], [c.losses[0]!], 'first loss');
  });
  it("gives each output mode's shape", () => {
    const x = randn([7, 3, 2]);
    for (const [output, shape] of [['sequence', [7, 3, 4]], ['last', [3, 4]], ['mean', [3, 4]]] as const) {
      const m = new SequenceModel({ rnn: { kind: 'gru', inputSize: 2, hiddenSize: 5, bidirectional: true }, head: { outFeatures: 4 }, output });
      assert.deepEqual([...m.forward(x)[0].shape], shape, output);
    }
    const bf = new SequenceModel({ rnn: { kind: 'rnn', inputSize: 2, hiddenSize: 3, batchFirst: true }, head: { outFeatures: 1 }, output: 'last' });
    assert.deepEqual([...bf.forward(randn([5, 9, 2]))[0].shape], [5, 1]);
  });
  it('rejects bad configs and inputs', () => {
    throws(() => new SequenceModel({ embedding: { numEmbeddings: 5, embeddingDim: 4 }, rnn: { kind: 'lstm', inputSize: 3, hiddenSize: 2 }, head: { outFeatures: 1 } }), 'rnn.inputSize is 3 but the embedding gives 4');
    throws(() => new SequenceModel({ rnn: { kind: 'tcn' as 'lstm', inputSize: 3, hiddenSize: 2 }, head: { outFeatures: 1 } }), "rnn.kind must be one of 'lstm', 'gru', 'rnn'");
    throws(() => new SequenceModel({ rnn: { kind: 'lstm', inputSize: 3, hiddenSize: 2 } } as never), 'head must be an object');
    throws(() => lm().forward(randn([3, 2])), 'this model embeds token ids', 'float32');
  });
});

describe('model files', () => {
  it('round-trip: same outputs, extras and metadata', () => {
    manualSeed(8);
    const m = lm();
    const extras = { vocab: ['a', 'b', 'é'], task: 'text', scaler: { mean: 1.5 } };
    const { model, extras: back, metadata } = loadModel(saveModel(m, extras));
    assert.deepEqual(back, extras);
    assert.equal(metadata['format'], 'recurrent-model');
    assert.equal(metadata['format_version'], '1');
    assert.equal(metadata['library_version'], VERSION);
    const x = randint(0, 11, [5, 2]);
    assert.deepEqual(Array.from(model.forward(x)[0].data), Array.from(m.forward(x)[0].data));
  });
  it('VERSION is package.json\'s', () => {
    assert.equal(VERSION, (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });
  it('files are written atomically and read back; problems name the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recurrent-model-'));
    try {
      const path = join(dir, 'm.safetensors');
      const a = lm();
      saveModelFile(path, a, { n: 1 });
      saveModelFile(path, lm(), { n: 2 }); // overwrite
      assert.deepEqual(readdirSync(dir), ['m.safetensors'], 'no temporary file left');
      assert.deepEqual(loadModelFile(path).extras, { n: 2 });
      throws(() => loadModelFile(join(dir, 'missing.safetensors')), 'loadModelFile: cannot read', 'missing.safetensors');
      throws(() => saveModelFile(join(dir, 'no', 'such', 'dir.safetensors'), a), 'writeFileAtomic: the folder', 'no/such of', 'does not exist');
      writeFileSync(join(dir, 'bad.safetensors'), 'not a model');
      throws(() => loadModelFile(join(dir, 'bad.safetensors')), 'bad.safetensors: loadSafetensors:');
      assert.deepEqual(readdirSync(dir).sort(), ['bad.safetensors', 'm.safetensors']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('refuses files that are not model files, are too new, or do not fit their config', () => {
    const m = lm();
    const meta = (over: Record<string, string>): Record<string, string> => ({
      format: 'recurrent-model', format_version: '1', library_version: VERSION, config: JSON.stringify(m.config), extras: '{}', ...over,
    });
    throws(() => loadModel(saveSafetensors(m.stateDict())), 'loadModel: not a recurrent model file (metadata format is missing)');
    throws(() => loadModel(saveSafetensors(m.stateDict(), meta({ format_version: '7', library_version: '9.0.0' }))), 'format version 7, written by recurrent 9.0.0', 'reads up to 1');
    throws(() => loadModel(saveSafetensors(m.stateDict(), meta({ config: '{"rnn":' }))), 'the model config is missing or not valid JSON');
    throws(() => loadModel(saveSafetensors(m.stateDict(), meta({ extras: '[1]' }))), 'the extras are not an object');
    const small = { ...m.config, rnn: { ...m.config.rnn, hiddenSize: 0 } };
    throws(() => loadModel(saveSafetensors(m.stateDict(), meta({ config: JSON.stringify(small) }))), 'does not build a model', 'hiddenSize must be a positive integer');
    const other = { ...m.config, rnn: { ...m.config.rnn, hiddenSize: 5 } };
    throws(() => loadModel(saveSafetensors(m.stateDict(), meta({ config: JSON.stringify(other) }))), 'the weights do not fit the saved config', "entry 'rnn.weight_hh_l0' has shape [32, 8], expected [20, 5]");
  });
  it('survives fuzzing of model files', () => {
    const g = new Generator(77);
    const good = saveModel(lm(), { vocab: ['x', 'y'] });
    const hl = Number(new DataView(good.buffer).getBigUint64(0, true));
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const b = good.slice();
      if (i % 3 === 0) {
        const cut = b.slice(0, g.int(b.length));
        try {
          loadModel(cut);
        } catch (e) {
          if (!(e instanceof Error) || !/^load(Model|Safetensors): /.test(e.message)) throw new Error(`truncation ${i}: ${(e as Error).message}`);
          refused++;
        }
        continue;
      }
      for (let f = 0; f < 1 + g.int(3); f++) b[8 + g.int(hl)]! ^= 1 << g.int(8);
      try {
        const { model } = loadModel(b);
        model.forward(randint(0, 11, [2, 1]) as Tensor);
      } catch (e) {
        if (!(e instanceof Error) || e.constructor !== Error || !/^load(Model|Safetensors): /.test(e.message)) {
          throw new Error(`mutation ${i} crashed: ${(e as Error)?.constructor?.name} ${(e as Error)?.message}`);
        }
        refused++;
      }
    }
    assert.ok(refused > 2000, `refused ${refused}`);
  });
});

describe('padded batches with lengths', () => {
  for (const output of ['last', 'mean'] as const) {
    for (const [kind, bidirectional] of [['lstm', false], ['gru', false], ['rnn', false], ['lstm', true], ['gru', true], ['minlstm', true]] as const) {
      it(`${kind}${bidirectional ? ' bidirectional' : ''} ${output}: a padded batch gives the outputs and gradients of each sequence alone`, async () => {
        const { padBatch } = await import('recurrent');
        manualSeed(21);
        const m = new SequenceModel({ embedding: { numEmbeddings: 9, embeddingDim: 4 }, rnn: { kind, inputSize: 4, hiddenSize: 6, numLayers: 2, bidirectional }, head: { outFeatures: 3 }, output });
        const g = new Generator(8);
        const seqs = [5, 1, 8, 3].map((n) => Int32Array.from({ length: n }, () => 1 + g.int(8)));
        const w = randn([4, 3]);
        const { x, lengths } = padBatch(seqs, 0);
        const [batched] = m.forward(x, null, { lengths });
        batched.mul(w).sum().backward();
        const gradsBatched = m.parameters().map((p) => Float64Array.from(p.grad!.data));
        m.zeroGrad();
        const alone = seqs.map((s, b) => {
          const [y] = m.forward(tensor(s, [s.length, 1]), null, { lengths: [s.length] });
          y.mul(w.slice(0, b, b + 1)).sum().backward();
          return Array.from(y.data);
        });
        assertClose(batched.data, alone.flat(), 'outputs', 1e-6, 1e-5);
        m.parameters().forEach((p, i) => assertClose(p.grad!.data, gradsBatched[i]!, `gradient ${i}`, 1e-6, 1e-5));
      });
    }
  }
  it('refuses bad lengths; with output \'sequence\' the padded steps are the head of a zero output', async () => {
    const { padBatch } = await import('recurrent');
    const { x } = padBatch([[1, 2], [3]]);
    const m = lm();
    throws(() => new SequenceModel({ ...m.config, output: 'last' }).forward(x, null, { lengths: [2, 3] }), 'lengths must be 2 integers from 1 to 2');
    throws(() => m.forward(x, null, { lengths: [2, 0] }), 'lengths must be 2 integers from 1 to 2');
    const [y] = m.forward(x, null, { lengths: [2, 1] }); // (T=2, B=2, V)
    const V = y.shape[2]!;
    assertClose(y.data.subarray(3 * V, 4 * V), m.head.bias!.data, 'the padded step (t=1, b=1): the head of zeros');
  });
});
