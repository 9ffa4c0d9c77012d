/**
 * The library under adversarial use: files that are links, devices or folders, temporary files a
 * killed writer left, absurd sizes and counts, bad seeds and logits, files in other dialects,
 * and training that diverges.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  writeFileAtomic, checkWritable, saveModel, loadModel, saveSafetensors, loadSafetensors, SequenceModel, LSTM, GRU, Linear, Embedding, zeros,
  Generator, manualSeed, sampleLogits, readCsvColumn, readLabelled, fit, TrainingDivergedError, Adam, mseLoss, randn, setNumThreads,
} from 'recurrent';
import { ROOT, inTmp, assertThrowsMatching as throws } from '../helpers.js';


describe('atomic writes', () => {
  it('follow a symbolic link: the target is replaced, the link stays', () => inTmp((dir) => {
    const target = join(dir, 'real.bin');
    const link = join(dir, 'link.bin');
    writeFileSync(target, 'old');
    symlinkSync('real.bin', link);
    writeFileAtomic(link, new TextEncoder().encode('new'));
    assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still a link');
    assert.equal(readlinkSync(link), 'real.bin');
    assert.equal(readFileSync(target, 'utf8'), 'new');
    assert.deepEqual(readdirSync(dir).sort(), ['link.bin', 'real.bin']);
  }));
  it('refuse folders, devices and missing folders, naming the problem, and leave them as they were', () => inTmp((dir) => {
    mkdirSync(join(dir, 'sub'));
    throws(() => writeFileAtomic(join(dir, 'sub'), new Uint8Array(1)), 'is a folder, not a file');
    throws(() => writeFileAtomic('/dev/null', new Uint8Array(1)), '/dev/null is not a regular file');
    assert.ok(statSync('/dev/null').isCharacterDevice(), '/dev/null is still a device');
    throws(() => checkWritable(join(dir, 'missing', 'm.bin')), 'the folder', 'missing of', 'does not exist');
    writeFileSync(join(dir, 'ro.bin'), 'keep');
    spawnSync('chmod', ['444', join(dir, 'ro.bin')]);
    if (process.getuid?.() !== 0) throws(() => writeFileAtomic(join(dir, 'ro.bin'), new Uint8Array(1)), 'is read-only');
  }));
  it('remove temporary files a dead writer left for the same file, and only those', () => inTmp((dir) => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!; // a process that has exited
    const target = join(dir, 'm.safetensors');
    const stale = `m.safetensors.tmp-${dead}-abc123`;
    const live = `m.safetensors.tmp-${process.pid}-def456`;
    const other = `n.safetensors.tmp-${dead}-abc123`;
    for (const f of [stale, live, other]) writeFileSync(join(dir, f), 'partial');
    writeFileAtomic(target, new Uint8Array([1, 2, 3]));
    assert.deepEqual(readdirSync(dir).sort(), [live, 'm.safetensors', other].sort());
  }));
});

describe('files in their corner cases', () => {
  it('a zero-element tensor (shape [3, 0]) reads, alone or beside others', () => {
    const file = (header: object, data = new Uint8Array(0)): Uint8Array => {
      const json = new TextEncoder().encode(JSON.stringify(header));
      const b = new Uint8Array(8 + json.length + data.length);
      new DataView(b.buffer).setBigUint64(0, BigInt(json.length), true);
      b.set(json, 8);
      b.set(data, 8 + json.length);
      return b;
    };
    assert.deepEqual(loadSafetensors(file({ a: { dtype: 'F32', shape: [3, 0], data_offsets: [0, 0] } })).tensors['a']!.shape, [3, 0]);
    const two = loadSafetensors(file({ b: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, a: { dtype: 'F32', shape: [0, 5], data_offsets: [8, 8] } }, new Uint8Array(8)));
    assert.deepEqual(two.tensors['a']!.shape, [0, 5]);
    assert.deepEqual(loadSafetensors(saveSafetensors({ e: zeros([3, 0]) })).tensors['e']!.shape, [3, 0]);
  });
  it('a model file whose weights are not finite is refused at load', () => {
    manualSeed(1);
    const m = new SequenceModel({ rnn: { kind: 'gru', inputSize: 2, hiddenSize: 3 }, head: { outFeatures: 1 }, output: 'last' });
    (m.head.weight.data as Float32Array)[1] = Number.NaN;
    throws(() => loadModel(saveModel(m)), "loadModel: weight 'head.weight' holds NaN at element 1", 'diverge');
    (m.head.weight.data as Float32Array)[1] = Infinity;
    throws(() => loadModel(saveModel(m)), 'holds Infinity');
  });
  it('CSV: a byte-order mark is not part of a name, hex and blanks are not numbers, several series are refused or picked', async () => {
    const bom = '\uFEFF';
    assert.deepEqual((await readLabelled(`${bom}text,label\nhello,a\nbye,b\n`, { format: 'csv', textColumn: 'text', labelColumn: 'label' })).labels, ['a', 'b']);
    assert.deepEqual((await readLabelled(`${bom}{"text":"hi","label":"x"}\n`, { format: 'jsonl', textColumn: 'text', labelColumn: 'label' })).labels, ['x']);
    assert.deepEqual(Array.from(await readCsvColumn(`${bom}t,v\n1,2.5\n2,-1e2\n`, 'v')), [2.5, -100]);
    await assert.rejects(readCsvColumn('t,v\n1, 0x10\n', 'v'), /row 2, column 'v' holds '0x10', not a number/);
    await assert.rejects(readCsvColumn('t,v\n1,Infinity\n', 'v'), /holds 'Infinity', not a number/);
    const stocks = 'symbol,date,price\nMSFT,Jan 1 2000,39.81\nMSFT,Feb 1 2000,36.35\nAAPL,Jan 1 2000,25.94\nAAPL,Feb 1 2000,28.66\n';
    await assert.rejects(readCsvColumn(stocks, 'price'), /column 'date' holds 'Jan 1 2000' in rows 2 and 4: the file holds several series; keep one by its 'symbol' \(for example symbol=MSFT\)/);
    assert.deepEqual(Array.from(await readCsvColumn(stocks, 'price', 'r', { where: { symbol: 'AAPL' } })), [25.94, 28.66]);
    await assert.rejects(readCsvColumn(stocks, 'price', 'r', { where: { ticker: 'AAPL' } }), /where names no column 'ticker'/);
    await assert.rejects(readCsvColumn(stocks, 'price', 'r', { where: { symbol: 'IBM' } }), /no row has symbol=IBM/);
  });
});

describe('numbers out of range', () => {
  it('seeds are integers in [0, 2^53), each its own stream (below 2^32 as before)', () => {
    for (const bad of [-1, 0.5, 2 ** 53, Infinity, Number.NaN]) throws(() => manualSeed(bad), 'seed must be an integer from 0 to 2^53 - 1');
    assert.equal(new Generator(1).nextUint32(), 2442144158);
    assert.equal(new Generator(123456789).nextUint32(), 4284103975);
    // 2^32 + 1 once folded onto 0
    assert.notEqual(new Generator(2 ** 32 + 1).nextUint32(), new Generator(0).nextUint32());
    assert.notEqual(new Generator(2 ** 52).nextUint32(), new Generator(2 ** 52 + 1).nextUint32());
  });
  it('sampleLogits refuses empty and non-finite logits', () => {
    const rng = new Generator(1);
    throws(() => sampleLogits([], {}, rng), 'sampleLogits: the logits are empty');
    throws(() => sampleLogits([NaN, NaN], {}, rng), 'sampleLogits: the logits hold NaN at index 0');
    throws(() => sampleLogits([0, Infinity], { temperature: 0 }, rng), 'the logits hold Infinity at index 1');
    assert.equal(sampleLogits([0, -Infinity, 1], { temperature: 0 }, rng), 2);
  });
  it('a model too big for memory is refused before anything is allocated, in well under a second', () => {
    const t0 = performance.now();
    throws(() => new LSTM({ inputSize: 64, hiddenSize: 256, numLayers: 1e308 }), 'LSTM: the parameters of 1e+308 layers of hiddenSize 256 need more than 2^53 bytes');
    throws(() => new GRU({ inputSize: 64, hiddenSize: 200_000 }), 'GRU: the parameters of 1 layer of hiddenSize 200000 need', 'GiB; the memory here is');
    throws(() => new Linear({ inFeatures: 1e6, outFeatures: 1e6 }), 'Linear: 1000000 x 1000000 weights need');
    throws(() => new Embedding({ numEmbeddings: 1e12, embeddingDim: 4 }), 'Embedding: 1000000000000 x 4 weights need');
    throws(() => zeros([1e6, 1e5]), 'has 100000000000 elements, more than the 2^32 a tensor can hold');
    assert.ok(performance.now() - t0 < 1000);
  });
  it('thread counts: 1 to the cores (at least 8); a bad RECURRENT_NUM_THREADS falls back with a warning and a note', () => {
    for (const bad of [0, -3, 2.5, 1000]) throws(() => setNumThreads(bad), 'setNumThreads: n must be an integer from 1 to');
    for (const v of ['0', '-3', 'abc', '2.5', '1000']) {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', "const { backendInfo } = await import('recurrent'); console.log(JSON.stringify(backendInfo().notes))"],
        { cwd: ROOT, encoding: 'utf8', env: { ...process.env, RECURRENT_NUM_THREADS: v }, timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`RECURRENT_NUM_THREADS must be an integer from 1 to \\d+ \\(this machine has \\d+ cores\\), got '${v}'`));
      assert.match(r.stdout, /RECURRENT_NUM_THREADS must be/);
    }
  });
});

describe('fit stops training that diverges', () => {
  const setup = (): { model: SequenceModel; optimizer: Adam; x: ReturnType<typeof randn>; y: ReturnType<typeof randn> } => {
    manualSeed(3);
    const model = new SequenceModel({ rnn: { kind: 'lstm', inputSize: 1, hiddenSize: 8 }, head: { outFeatures: 1 }, output: 'last' });
    return { model, optimizer: new Adam(model.parameters(), { lr: 1e-2 }), x: randn([6, 4, 1]), y: randn([4, 1]) };
  };
  it('on a validation loss far worse than a trivial predictor, naming the step and the remedy given', () => {
    const s = setup();
    let v = 0;
    let err: unknown = null;
    try {
      fit({
        model: s.model, optimizer: s.optimizer, steps: 10, rng: new Generator(1), batch: () => null, loss: () => mseLoss(s.model.forward(s.x)[0], s.y),
        validate: () => [1, 1.5, 40][v++]!, validateEvery: 2, divergence: { baseline: 2 }, remedy: 'lower --lr',
      });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof TrainingDivergedError, String(err));
    assert.equal(err.step, 6);
    assert.match(err.message, /^fit: training diverged: the validation loss is 40\.000 at step 6, more than 3 times a trivial predictor's 2\.000; lower --lr$/);
  });
  it('on a report window whose mean training loss is far worse, and on a loss that is not finite', () => {
    const s = setup();
    throws(() => fit({
      model: s.model, optimizer: s.optimizer, steps: 20, rng: new Generator(1), batch: () => null, reportEvery: 5,
      loss: () => mseLoss(s.model.forward(s.x)[0], s.y).add(100), divergence: { baseline: 1 },
    }), 'training diverged: the mean training loss of steps 1-5 is', 'at step 5', "lower the learning rate (the optimizer's lr) or clip the gradients (clipNorm)");
    throws(() => fit({
      model: s.model, optimizer: s.optimizer, steps: 20, rng: new Generator(1), batch: () => null, loss: () => mseLoss(s.model.forward(s.x)[0], s.y).mul(Infinity),
    }), 'training diverged: the training loss is Infinity at step 1');
    throws(() => fit({ model: s.model, optimizer: s.optimizer, steps: 1, rng: new Generator(1), batch: () => null, loss: () => mseLoss(s.model.forward(s.x)[0], s.y), divergence: { baseline: 0 } }),
      'divergence.baseline must be a positive finite number');
  });
});
