/** Vocabularies, sampling, the training loop, checkpoints and exact resume. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  CharVocabulary, sampleLogits, fit, SequenceModel, Adam, crossEntropy, randomWindows, splitIds, manualSeed, Generator,
  type FitEvent,
} from 'recurrent';
import { ROOT, assertThrowsMatching as throws } from '../helpers.js';

describe('character vocabulary', () => {
  it('sorts, encodes, decodes, saves; unseen characters map to the unknown token or throw naming them', () => {
    const v = CharVocabulary.fromText('hello world');
    assert.deepEqual(v.tokens, [' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']);
    assert.equal(v.decode(v.encode('world hello')), 'world hello');
    throws(() => v.encode('help!'), 'characters outside the vocabulary: "p", "!" (first at position 3)');
    const u = CharVocabulary.fromText('abc', { unknown: '?' });
    assert.equal(u.decode(u.encode('abz')), 'ab?');
    assert.deepEqual(CharVocabulary.fromJSON(JSON.parse(JSON.stringify(u.toJSON()))).tokens, u.tokens);
    throws(() => CharVocabulary.fromText(''), 'the text is empty');
  });
});

describe('sampling', () => {
  const logits = [0.1, 2.5, 0.3, 2.4];
  it('greedy, top-k 1 and a tiny top-p all pick the most likely token', () => {
    const g = new Generator(1);
    assert.equal(sampleLogits(logits, { temperature: 0 }, g), 1);
    for (let i = 0; i < 50; i++) assert.equal(sampleLogits(logits, { topK: 1 }, g), 1);
    for (let i = 0; i < 50; i++) assert.equal(sampleLogits(logits, { topP: 0.01 }, g), 1);
  });
  it('samples in proportion to softmax(logits / temperature); top-k 2 keeps two', () => {
    const g = new Generator(2);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[sampleLogits(logits, {}, g)]!++;
    const e = logits.map(Math.exp);
    const z = e.reduce((a, b) => a + b, 0);
    counts.forEach((c, i) => assert.ok(Math.abs(c / 20000 - e[i]! / z) < 0.015, `token ${i}: ${c / 20000} vs ${e[i]! / z}`));
    const cold = [0, 0, 0, 0];
    for (let i = 0; i < 20000; i++) cold[sampleLogits(logits, { temperature: 0.5 }, g)]!++;
    const e2 = logits.map((l) => Math.exp(l / 0.5));
    const z2 = e2.reduce((a, b) => a + b, 0);
    cold.forEach((c, i) => assert.ok(Math.abs(c / 20000 - e2[i]! / z2) < 0.015, `temperature 0.5, token ${i}: ${c / 20000} vs ${e2[i]! / z2}`));
    const k2 = new Set(Array.from({ length: 500 }, () => sampleLogits(logits, { topK: 2 }, g)));
    assert.deepEqual([...k2].sort(), [1, 3]);
  });
});

function tinyRun(seed: number) {
  manualSeed(seed);
  const text = 'the quick brown fox jumps over the lazy dog. '.repeat(30);
  const vocab = CharVocabulary.fromText(text);
  const { train } = splitIds(vocab.encode(text), 0.1);
  const model = new SequenceModel({ embedding: { numEmbeddings: vocab.size, embeddingDim: 8 }, rnn: { kind: 'lstm', inputSize: 8, hiddenSize: 16, dropout: 0 }, head: { outFeatures: vocab.size } });
  const optimizer = new Adam(model.parameters(), { lr: 0.01 });
  const T = 12, B = 4, V = vocab.size;
  return { model, optimizer, batch: (_s: number, r: Generator) => randomWindows(train, T, B, r), loss: ({ x, y }: ReturnType<typeof randomWindows>) => crossEntropy(model.forward(x)[0].reshape([T * B, V]), y) };
}

describe('fit', () => {
  it('learns, reports, and stops with the step when the loss is not finite', () => {
    const r = tinyRun(1);
    const events: FitEvent[] = [];
    const res = fit({ ...r, steps: 60, rng: new Generator(5), reportEvery: 10, onEvent: (e) => events.push(e), clipNorm: 5 });
    const losses = events.filter((e) => e.type === 'step').map((e) => e.meanLoss!);
    assert.equal(losses.length, 6);
    assert.ok(losses[5]! < losses[0]! * 0.8, `loss ${losses[0]} -> ${losses[5]}`);
    assert.equal(res.steps, 60);
    const bad = tinyRun(2);
    throws(() => fit({ ...bad, steps: 5, rng: new Generator(1), loss: (b) => bad.loss(b).mul(Number.NaN) }), 'fit: training diverged: the training loss is NaN at step 1');
  });
  it('resumes from a checkpoint exactly: the same per-step losses as an uninterrupted run', () => {
    const steps = 30;
    const uninterrupted = tinyRun(3);
    const all: number[] = [];
    fit({ ...uninterrupted, steps, rng: new Generator(9), reportEvery: 1, onEvent: (e) => { if (e.type === 'step') all.push(e.loss!); } });
    let saved: Uint8Array | null = null;
    const first = tinyRun(3);
    fit({ ...first, steps: 12, rng: new Generator(9), checkpoint: { every: 12, write: (b) => (saved = b) } });
    const resumed = tinyRun(77); // other initial weights and seed: the checkpoint must restore everything
    const after: number[] = [];
    fit({ ...resumed, steps, rng: new Generator(1234), resumeFrom: saved!, reportEvery: 1, onEvent: (e) => { if (e.type === 'step') after.push(e.loss!); } });
    assert.deepEqual(after, all.slice(12));
  });
});

const cli = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), ...args], { encoding: 'utf8', timeout: 120_000 });

describe('recurrent train text / generate', () => {
  it('a run killed with SIGKILL and resumed from its checkpoint reports the same losses as an uninterrupted run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recurrent-resume-'));
    try {
      const data = join(dir, 'text.txt');
      writeFileSync(data, 'It was the best of times, it was the worst of times; it was the age of wisdom. '.repeat(80));
      const common = ['train', 'text', '--data', data, '--hidden', '24', '--embed', '8', '--seq-len', '16', '--batch', '8', '--steps', '1500', '--val-every', '0', '--seed', '4'];
      const whole = cli([...common, '--out', join(dir, 'a.safetensors')]);
      assert.equal(whole.status, 0, whole.stderr);
      const lines = (s: string): Map<number, string> => new Map([...s.matchAll(/^step (\d+)\/1500 {2}loss (\S+)/gm)].map((m) => [Number(m[1]), m[2]!]));
      const want = lines(whole.stderr);
      assert.equal(want.size, 30);
      // the same run, killed once a checkpoint exists, then resumed
      const ck = join(dir, 'ck.safetensors');
      const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), ...common, '--out', join(dir, 'b.safetensors'), '--checkpoint', ck, '--checkpoint-every', '100']);
      await new Promise<void>((resolve, reject) => {
        const t0 = Date.now();
        const poll = setInterval(() => {
          if (existsSync(ck)) {
            clearInterval(poll);
            child.kill('SIGKILL');
            child.on('exit', () => resolve());
          } else if (Date.now() - t0 > 60_000) {
            clearInterval(poll);
            reject(new Error('no checkpoint within 60 s'));
          }
        }, 20);
      });
      const resumed = cli([...common, '--out', join(dir, 'b.safetensors'), '--checkpoint', ck, '--checkpoint-every', '100', '--resume']);
      assert.equal(resumed.status, 0, resumed.stderr);
      const got = lines(resumed.stderr);
      assert.ok(got.size >= 1 && got.size < 30, `resumed run reported ${got.size} windows`);
      for (const [step, loss] of got) assert.equal(loss, want.get(step), `step ${step}`);
      // and it generates
      const g = cli(['generate', '--model', join(dir, 'b.safetensors'), '--prompt', 'It was', '--length', '40', '--seed', '3']);
      assert.equal(g.status, 0, g.stderr);
      assert.ok(g.stdout.startsWith('It was') && g.stdout.length >= 46, g.stdout);
      // the same seed, the same text; the first characters of a longer text are the same draws
      const again = cli(['generate', '--model', join(dir, 'b.safetensors'), '--prompt', 'It was', '--length', '40', '--seed', '3']);
      assert.equal(again.stdout, g.stdout);
      const longer = cli(['generate', '--model', join(dir, 'b.safetensors'), '--prompt', 'It was', '--length', '60', '--seed', '3']);
      assert.ok(longer.stdout.startsWith(g.stdout.trimEnd()), `${longer.stdout} / ${g.stdout}`);
      for (const [n, want] of [[0, 6], [1, 7]] as const) {
        const short = cli(['generate', '--model', join(dir, 'b.safetensors'), '--prompt', 'It was', '--length', String(n), '--seed', '3']);
        assert.equal(short.status, 0, short.stderr);
        assert.equal(short.stdout.length, want + 1, JSON.stringify(short.stdout)); // and a newline
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('bad input: a clear message and a non-zero exit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recurrent-bad-'));
    try {
      let r = cli(['train', 'text', '--data', join(dir, 'missing.txt'), '--out', join(dir, 'm')]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /the data file .*missing.txt does not exist/);
      writeFileSync(join(dir, 'empty.txt'), '');
      r = cli(['train', 'text', '--data', join(dir, 'empty.txt'), '--out', join(dir, 'm')]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /the data file .*empty.txt is empty/);
      r = cli(['train', 'text', '--data', join(dir, 'empty.txt')]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /--out is required/);
      r = cli(['train', 'text', '--data', join(dir, 'empty.txt'), '--out', 'm', '--lr', 'fast']);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /--lr must be a number above 0 and at most 1000, got 'fast'/);
      writeFileSync(join(dir, 'tiny.txt'), 'abcabcabcabc'.repeat(20));
      r = cli(['train', 'text', '--data', join(dir, 'tiny.txt'), '--out', join(dir, 'm.safetensors'), '--steps', '2', '--hidden', '8', '--embed', '4', '--seq-len', '8', '--batch', '2']);
      assert.equal(r.status, 0, r.stderr);
      r = cli(['eval', '--model', join(dir, 'm.safetensors'), '--data', join(dir, 'tiny.txt'), '--json']);
      assert.equal(r.status, 0, r.stderr);
      const ev = JSON.parse(r.stdout.trim()) as { task: string; loss: number; perplexity: number; seq_len: number };
      assert.equal(ev.task, 'text');
      assert.equal(ev.seq_len, 8);
      assert.ok(ev.loss > 0 && ev.loss < 3 && Math.abs(ev.perplexity - Math.exp(ev.loss)) < 1e-9, JSON.stringify(ev));
      writeFileSync(join(dir, 'other.txt'), 'abcabc, xyz abcabc');
      r = cli(['eval', '--model', join(dir, 'm.safetensors'), '--data', join(dir, 'other.txt')]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /other.txt has: characters outside the vocabulary: ",", " ", "x"/);
      r = cli(['generate', '--model', join(dir, 'm.safetensors'), '--prompt', 'abz!']);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /the prompt has: characters outside the vocabulary: "z", "!"/);
      r = cli(['generate', '--model', join(dir, 'nope.safetensors')]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /the model file .*nope.safetensors does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('series', () => {
  it('reads a CSV column, refusing a missing column, non-numbers and empty files with the row', async () => {
    const { readCsvColumn, Scaler, difference } = await import('recurrent');
    assert.deepEqual(Array.from(await readCsvColumn('Date,CO2\n2000-01,1.5\n2000-02,"2.25"\n', 'CO2')), [1.5, 2.25]);
    await assert.rejects(readCsvColumn('Date,CO2\n2000-01,1.5\n', 'co2'), /no column 'co2' \(columns: Date, CO2\)/);
    await assert.rejects(readCsvColumn('Date,CO2\n2000-01,1.5\n2000-02,n\/a\n', 'CO2'), /row 3, column 'CO2' holds 'n\/a', not a number/);
    await assert.rejects(readCsvColumn('', 'CO2'), /the CSV is empty/);
    const s = Scaler.fit([1, 2, 3, 4]);
    assert.equal(s.inverse(s.transform(3.5)), 3.5);
    assert.deepEqual(Array.from(difference([1, 4, 2])), [3, -2]);
    throws(() => Scaler.fit([2, 2, 2]), 'the values are constant');
  });
  it('the CO2 example forecasts and draws its plot', () => {
    const svg = join(ROOT, 'build', 'co2-test.svg');
    const r = spawnSync(process.execPath, [join(ROOT, 'examples', 'co2.mjs'), '--steps', '30', '--plot', svg, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim()) as { origins: number; lstm: { rmse: number }; seasonalNaive: { rmse: number } };
    assert.equal(res.origins, 109);
    assert.ok(Number.isFinite(res.lstm.rmse) && res.seasonalNaive.rmse > 2, JSON.stringify(res));
    assert.ok(readFileSync(svg, 'utf8').includes('seasonal naive'));
  });
});

describe('recurrent train series / forecast', () => {
  it('trains, backtests against seasonal naive, forecasts with a plot; bad CSVs get a reason and exit 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recurrent-series-'));
    try {
      const csv = join(dir, 's.csv');
      const rows = Array.from({ length: 160 }, (_, i) => `${i},${(10 + 0.05 * i + Math.sin((2 * Math.PI * i) / 12)).toFixed(4)}`);
      writeFileSync(csv, `t,value\n${rows.join('\n')}\n`);
      const model = join(dir, 'm.safetensors');
      let r = cli(['train', 'series', '--data', csv, '--column', 'value', '--out', model, '--steps', '40', '--window', '12', '--test', '24', '--hidden', '16', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const res = JSON.parse(r.stdout.trim()) as { origins: number; rmse: number; seasonal_naive_rmse: number };
      assert.equal(res.origins, 13);
      assert.ok(Number.isFinite(res.rmse) && res.seasonal_naive_rmse > 0.5);
      const svg = join(dir, 'f.svg');
      r = cli(['forecast', '--model', model, '--data', csv, '--horizon', '5', '--plot', svg, '--json']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout.trim()) as { forecast: number[] }).forecast.length, 5);
      assert.ok(readFileSync(svg, 'utf8').startsWith('<svg'));
      r = cli(['eval', '--model', model, '--data', csv, '--horizon', '6', '--start', '136', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const ev = JSON.parse(r.stdout.trim()) as { task: string; origins: number; horizon: number; rmse: number; seasonal_naive_rmse: number };
      assert.deepEqual([ev.task, ev.origins, ev.horizon], ['series', 19, 6]);
      assert.ok(Number.isFinite(ev.rmse) && ev.seasonal_naive_rmse > 0.5);
      r = cli(['train', 'series', '--data', csv, '--column', 'price', '--out', model]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /no column 'price' \(columns: t, value\)/);
      writeFileSync(join(dir, 'bad.csv'), 't,value\n0,1.5\n1,oops\n');
      r = cli(['train', 'series', '--data', join(dir, 'bad.csv'), '--column', 'value', '--out', model]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /row 3, column 'value' holds 'oops', not a number/);
      r = cli(['forecast', '--model', join(dir, 'missing.safetensors'), '--data', csv]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
