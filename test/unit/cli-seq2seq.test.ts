/** `recurrent train seq2seq`, `translate` and `eval` on a seq2seq model, end to end; readPairs and SymbolVocabulary. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { readPairs, SymbolVocabulary, Generator, loadSeq2SeqFile, loadModelFile } from 'recurrent';
import ort from 'onnxruntime-node';
import { ROOT, assertThrowsMatching } from '../helpers.js';

const cli = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** Words over a-f and their letters reversed and upper-cased, spaced: a task a small model learns in seconds. */
function reversals(n: number): string {
  const g = new Generator(4);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const w = Array.from({ length: 2 + g.int(5) }, () => 'abcdef'[g.int(6)]).join('');
    lines.push(`${w}\t${[...w].reverse().join(' ').toUpperCase()}`);
  }
  return `${lines.join('\n')}\n`;
}

describe('sequence-to-sequence data', () => {
  it('readPairs reads TSV lines and refuses a line without a tab or with an empty side, naming it', () => {
    assert.deepEqual(readPairs('\uFEFFab\tB A\r\n\ncd\tD C\textra\n'), [{ source: 'ab', target: 'B A' }, { source: 'cd', target: 'D C' }]);
    assertThrowsMatching(() => readPairs('ab\tB A\nno tab here\n'), /line 2 has no tab between source and target/);
    assertThrowsMatching(() => readPairs('ab\t\n'), /line 1 has an empty target/);
    assertThrowsMatching(() => readPairs('\tB\n'), /line 1 has an empty source/);
    assertThrowsMatching(() => readPairs('\n\n'), /no pairs/);
  });
  it('SymbolVocabulary splits characters, words or spaced symbols, with the special tokens first', () => {
    const v = SymbolVocabulary.fromTexts(['HH AH L OW', 'L OW'], 'space');
    assert.deepEqual(v.tokens.slice(0, 6), ['<pad>', '<s>', '</s>', '<unk>', 'L', 'OW']);
    assert.equal(v.decode([v.bos, ...v.encode('HH OW'), v.eos]), 'HH OW');
    assertThrowsMatching(() => v.encode('HH ZZ'), /symbols outside the vocabulary: "ZZ"/);
    assert.deepEqual(Array.from(v.encode('HH ZZ', { unknown: 'map' })).slice(1), [v.unknownId]);
    const c = SymbolVocabulary.fromTexts(['héllo'], 'char');
    assert.equal(c.decode(c.encode('hello'.replace('e', 'é'))), 'héllo');
    assert.deepEqual(SymbolVocabulary.split("don't stop!", 'word'), ["don't", 'stop', '!']);
    assert.deepEqual(SymbolVocabulary.fromJSON(JSON.parse(JSON.stringify(v.toJSON()))).tokens, v.tokens);
  });
});

describe('recurrent train seq2seq / translate / eval', () => {
  it('trains, saves both vocabularies, translates (greedy and beam), evaluates, exports two ONNX graphs, and refuses what it cannot read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recurrent-s2s-'));
    try {
      const data = join(dir, 'pairs.tsv');
      writeFileSync(data, reversals(600));
      const out = join(dir, 'm.safetensors');
      const r = cli('train', 'seq2seq', '--data', data, '--out', out, '--target-tokens', 'space', '--model', 'gru', '--hidden', '64', '--embed', '16', '--steps', '300', '--val-every', '100', '--json');
      assert.equal(r.status, 0, r.stderr);
      const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { token_error_rate: number; sequence_error_rate: number; steps: number };
      assert.equal(res.steps, 300);
      assert.ok(res.token_error_rate < 0.1, `token error rate ${res.token_error_rate}`);
      const { extras } = loadSeq2SeqFile(out);
      assert.equal(extras['task'], 'seq2seq');
      assertThrowsMatching(() => loadModelFile(out), /holds a Seq2Seq, not a SequenceModel \(load it with loadSeq2Seq\)/);
      const t = cli('translate', '--model', out, '--text', 'abc', '--text', 'fed', '--json');
      assert.equal(t.status, 0, t.stderr);
      const lines = t.stdout.trim().split('\n').map((l) => JSON.parse(l) as { source: string; target: string });
      assert.deepEqual(lines.map((l) => l.target), ['C B A', 'D E F']);
      const b = cli('translate', '--model', out, '--text', 'abc', '--beam', '4');
      assert.equal(b.stdout, 'C B A\n');
      const e = cli('eval', '--model', out, '--data', data, '--json');
      assert.equal(e.status, 0, e.stderr);
      const ev = JSON.parse(e.stdout) as { task: string; token_error_rate: number; pairs: number };
      assert.equal(ev.task, 'seq2seq');
      assert.equal(ev.pairs, 600);
      // two ONNX graphs that translate as the model does
      const x = cli('export', 'onnx', '--model', out, '--out', join(dir, 'rev.onnx'), '--json');
      assert.equal(x.status, 0, x.stderr);
      const enc = await ort.InferenceSession.create(join(dir, 'rev.encoder.onnx'));
      const dec = await ort.InferenceSession.create(join(dir, 'rev.decoder.onnx'));
      const { model } = loadSeq2SeqFile(out);
      const ex = loadSeq2SeqFile(out).extras as { source: unknown; target: unknown };
      const sv = SymbolVocabulary.fromJSON(ex.source), tv = SymbolVocabulary.fromJSON(ex.target);
      const ids = sv.encode('abc');
      const eo = await enc.run({ source: new ort.Tensor('int32', ids, [3, 1]), source_lengths: new ort.Tensor('int32', Int32Array.of(3), [1]) });
      let state: Record<string, ort.Tensor> = { h: eo['h']!, c: eo['c']! };
      let prev = tv.bos;
      const got: number[] = [];
      for (let t = 0; t < 8 && prev !== tv.eos; t++) {
        const r = await dec.run({ prev: new ort.Tensor('int32', Int32Array.of(prev), [1]), ...state, keys: eo['keys']!, projected: eo['projected']!, mask_bias: eo['mask_bias']! });
        const l = r['logits']!.data as Float32Array;
        prev = l.indexOf(Math.max(...l));
        if (prev !== tv.eos) got.push(prev);
        state = { h: r['h_out']!, c: r['c_out']! };
      }
      assert.equal(tv.decode(got), 'C B A');
      assert.equal(model.config.targetVocab, tv.size);
      // symbols outside the vocabulary, named
      const u = cli('translate', '--model', out, '--text', 'abz');
      assert.equal(u.status, 1);
      assert.match(u.stderr, /translate: text 1: characters outside the vocabulary: "z"/);
      // bad files and options, before any training
      writeFileSync(join(dir, 'bad.tsv'), 'ab\tB A\nno tab\n');
      const bad = cli('train', 'seq2seq', '--data', join(dir, 'bad.tsv'), '--out', join(dir, 'x.safetensors'));
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /line 2 has no tab between source and target/);
      const tok = cli('train', 'seq2seq', '--data', data, '--out', join(dir, 'x.safetensors'), '--target-tokens', 'phones');
      assert.equal(tok.status, 2);
      assert.match(tok.stderr, /--target-tokens must be char, word or space, got 'phones'/);
      const odd = cli('train', 'seq2seq', '--data', data, '--out', join(dir, 'x.safetensors'), '--hidden', '63');
      assert.equal(odd.status, 2);
      assert.match(odd.stderr, /--hidden must be even with a bidirectional encoder/);
      const same = cli('train', 'seq2seq', '--data', data, '--out', data);
      assert.equal(same.status, 1);
      assert.equal(readFileSync(data, 'utf8'), reversals(600));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resumes from a checkpoint exactly, teacher forcing below 1 included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recurrent-s2s-'));
    try {
      const data = join(dir, 'pairs.tsv');
      writeFileSync(data, reversals(200));
      const common = ['train', 'seq2seq', '--data', data, '--target-tokens', 'space', '--model', 'gru', '--hidden', '16', '--embed', '8', '--val-every', '20', '--teacher-forcing', '0.5', '--json'];
      const whole = cli(...common, '--out', join(dir, 'a.safetensors'), '--steps', '40');
      assert.equal(whole.status, 0, whole.stderr);
      const ck = join(dir, 'ck.safetensors');
      const first = cli(...common, '--out', join(dir, 'b.safetensors'), '--steps', '20', '--checkpoint', ck, '--checkpoint-every', '20');
      assert.equal(first.status, 0, first.stderr);
      const resumed = cli(...common, '--out', join(dir, 'c.safetensors'), '--steps', '40', '--checkpoint', ck, '--checkpoint-every', '20', '--resume');
      assert.equal(resumed.status, 0, resumed.stderr);
      const last = (s: string) => JSON.parse(s.trim().split('\n').pop()!) as { train_loss: number; val_loss: number };
      assert.equal(last(resumed.stdout).val_loss, last(whole.stdout).val_loss);
      assert.deepEqual(readFileSync(join(dir, 'c.safetensors')), readFileSync(join(dir, 'a.safetensors')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
