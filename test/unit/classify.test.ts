/** Classification: readers, labels, splits, word vocabularies, metrics, early stopping, and the classify CLI. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  readLabelled, readJsonLines, LabelSet, WordVocabulary, CharVocabulary, vocabularyFromJSON, shuffled, trainValTestSplit, Generator,
  accuracy, confusionMatrix, fit, SequenceModel, Adam, mseLoss, randn, manualSeed, type FitEvent,
} from 'recurrent';
import { ROOT, assertThrowsMatching as throws } from '../helpers.js';

const cli = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), ...args], { encoding: 'utf8', timeout: 180_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('labelled data', () => {
  it('reads CSV and JSON lines, refusing missing columns, labels and bad lines with the row', async () => {
    const csv = 'id,text,label\n1,"hello, world",pos\n2,"bye\nnow",neg\n';
    assert.deepEqual(await readLabelled(csv, { format: 'csv', textColumn: 'text', labelColumn: 'label' }), { texts: ['hello, world', 'bye\nnow'], labels: ['pos', 'neg'] });
    await assert.rejects(readLabelled(csv, { format: 'csv', textColumn: 'body', labelColumn: 'label' }, 'f.csv'), /f.csv: no column 'body' \(columns: id, text, label\)/);
    await assert.rejects(readLabelled('text,label\na,\n', { format: 'csv', textColumn: 'text', labelColumn: 'label' }), /row 2 has no label in 'label'/);
    const jl = '{"text": "a", "label": 1}\n\n{"text": "b", "label": 0}\n';
    assert.deepEqual(await readLabelled(jl, { format: 'jsonl', textColumn: 'text', labelColumn: 'label' }), { texts: ['a', 'b'], labels: ['1', '0'] });
    await assert.rejects(readLabelled('{"text": 3, "label": 1}\n', { format: 'jsonl', textColumn: 'text', labelColumn: 'label' }), /record 1 has no text in 'text' \(got 3\)/);
    throws(() => readJsonLines('{"a": 1}\n{"a": \n'), 'line 2 is not valid JSON');
    throws(() => readJsonLines('[1, 2]\n'), 'line 1 is not a JSON object');
    throws(() => readJsonLines(' \n'), 'the file is empty');
  });
  it('label sets sort, encode, save, and refuse a single class', () => {
    const l = LabelSet.fromLabels(['spam', 'ham', 'spam']);
    assert.deepEqual(l.classes, ['ham', 'spam']);
    assert.deepEqual(Array.from(l.encode(['spam', 'ham'])), [1, 0]);
    assert.deepEqual(LabelSet.fromLabels(['10', '9', '2']).classes, ['2', '9', '10']);
    assert.deepEqual(LabelSet.fromJSON(JSON.parse(JSON.stringify(l.toJSON()))).classes, ['ham', 'spam']);
    throws(() => l.encode(['eggs']), "unknown label 'eggs' (classes: ham, spam)");
    throws(() => LabelSet.fromLabels(['ham', 'ham'], "data.csv: column 'label'"), "data.csv: column 'label': the labels have one class ('ham'); a classifier needs at least two");
  });
  it('seeded shuffles and splits are reproducible and partition the items', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    assert.deepEqual(shuffled(items, new Generator(3)), shuffled(items, new Generator(3)));
    assert.notDeepEqual(shuffled(items, new Generator(3)), items);
    const s = trainValTestSplit(items, { valFraction: 0.1, testFraction: 0.2 }, new Generator(1));
    assert.deepEqual([s.train.length, s.val.length, s.test.length], [35, 5, 10]);
    assert.deepEqual([...s.train, ...s.val, ...s.test].sort((a, b) => a - b), items);
    throws(() => trainValTestSplit(items, { valFraction: 0.5, testFraction: 0.5 }, new Generator(1)), 'valFraction + testFraction must be below 1');
  });
  it('word vocabularies count, cap, map unseen words to <unk>, and save', () => {
    const v = WordVocabulary.fromTexts(['The cat sat.', 'the cat ran!', "Don't run"], { minCount: 1 });
    assert.deepEqual(v.tokens.slice(0, 4), ['<pad>', '<unk>', 'cat', 'the']);
    assert.deepEqual(WordVocabulary.split("Don't stop, 42x!"), ["don't", 'stop', ',', '42x', '!']);
    assert.equal(v.decode(v.encode('the dog sat')), 'the <unk> sat');
    assert.equal(v.unknownId, 1);
    assert.equal(CharVocabulary.fromText('ab?', { unknown: '?' }).unknownId, 0);
    assert.equal(CharVocabulary.fromText('ab').unknownId, null);
    const capped = WordVocabulary.fromTexts(['a a a b b c'], { maxSize: 4 });
    assert.deepEqual(capped.tokens, ['<pad>', '<unk>', 'a', 'b']);
    assert.deepEqual(WordVocabulary.fromTexts(['a a b'], { minCount: 2 }).tokens, ['<pad>', '<unk>', 'a']);
    const back = vocabularyFromJSON(JSON.parse(JSON.stringify(v.toJSON())));
    assert.ok(back instanceof WordVocabulary);
    assert.deepEqual(back.tokens, v.tokens);
    assert.ok(vocabularyFromJSON(CharVocabulary.fromText('ab').toJSON()) instanceof CharVocabulary);
    throws(() => vocabularyFromJSON({ kind: 'bpe' }), 'not a saved vocabulary (kind "bpe")');
  });
  it('accuracy and the confusion matrix', () => {
    assert.equal(accuracy([0, 1, 1, 0], [0, 1, 0, 0]), 0.75);
    assert.deepEqual(confusionMatrix([0, 1, 1, 2], [0, 1, 0, 2], 3), [[1, 1, 0], [0, 1, 0], [0, 0, 1]]);
    throws(() => confusionMatrix([0, 3], [0, 1], 3), 'item 1 has classes 1 (actual) and 3 (predicted)');
  });
});

describe('early stopping', () => {
  const setup = (): { model: SequenceModel; optimizer: Adam; x: ReturnType<typeof randn>; y: ReturnType<typeof randn> } => {
    manualSeed(3);
    const model = new SequenceModel({ rnn: { kind: 'gru', inputSize: 2, hiddenSize: 6 }, head: { outFeatures: 1 }, output: 'last' });
    return { model, optimizer: new Adam(model.parameters(), { lr: 0.05 }), x: randn([5, 8, 2]), y: randn([8, 1]) };
  };
  it('stops after `patience` validations without improvement and restores the best weights', () => {
    const { model, optimizer, x, y } = setup();
    // a validation loss that improves until step 6, then worsens: stop at step 12 with patience 3, weights of step 6
    const vals = [5, 4, 3, 3.5, 3.6, 3.7, 1];
    let v = 0;
    const snapshots = new Map<number, number[]>();
    const events: FitEvent[] = [];
    const res = fit({
      model, optimizer, steps: 100, rng: new Generator(1), batch: () => null, loss: () => mseLoss(model.forward(x)[0], y),
      validate: () => vals[v++]!, validateEvery: 2, earlyStopping: { patience: 3 },
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'validate') snapshots.set(e.step, Array.from(model.head.weight.data));
      },
    });
    assert.equal(res.steps, 12);
    assert.equal(res.stoppedEarly, true);
    assert.deepEqual([res.bestStep, res.bestValLoss, res.valLoss], [6, 3, 3.7]);
    assert.deepEqual(Array.from(model.head.weight.data), snapshots.get(6));
    assert.notDeepEqual(snapshots.get(6), snapshots.get(12));
    assert.deepEqual(events.filter((e) => e.type === 'stop').map((e) => e.step), [12]);
  });
  it('minDelta counts small gains as none; without early stopping every step runs; checkpoints carry the state', () => {
    let s = setup();
    let v = 0;
    const vals = [5, 4.95, 4.9, 4.85];
    let res = fit({
      model: s.model, optimizer: s.optimizer, steps: 100, rng: new Generator(1), batch: () => null, loss: () => mseLoss(s.model.forward(s.x)[0], s.y),
      validate: () => vals[v++]!, validateEvery: 1, earlyStopping: { patience: 2, minDelta: 0.1 },
    });
    assert.deepEqual([res.steps, res.bestStep], [3, 1]);
    s = setup();
    v = 0;
    res = fit({ model: s.model, optimizer: s.optimizer, steps: 4, rng: new Generator(1), batch: () => null, loss: () => mseLoss(s.model.forward(s.x)[0], s.y), validate: () => [3, 4, 5, 6][v++]!, validateEvery: 1 });
    assert.deepEqual([res.steps, res.stoppedEarly, res.bestStep], [4, false, 1]);
    // an early stop's checkpoint resumes as stopped, with the best weights
    s = setup();
    v = 0;
    let saved: Uint8Array | undefined;
    const run = (resumeFrom?: Uint8Array): ReturnType<typeof fit> => fit({
      model: s.model, optimizer: s.optimizer, steps: 50, rng: new Generator(1), batch: () => null, loss: () => mseLoss(s.model.forward(s.x)[0], s.y),
      validate: () => [2, 1, 3, 4][v++] ?? 9, validateEvery: 1, earlyStopping: { patience: 2 }, resumeFrom,
      checkpoint: { every: 100, write: (b) => (saved = b) },
    });
    const first = run();
    assert.deepEqual([first.steps, first.bestStep], [4, 2]);
    const best = Array.from(s.model.head.weight.data);
    s = setup();
    const again = run(saved);
    assert.deepEqual([again.steps, again.stoppedEarly, again.bestStep], [4, true, 2]);
    assert.deepEqual(Array.from(s.model.head.weight.data), best);
    throws(() => fit({ model: s.model, optimizer: s.optimizer, steps: 1, rng: new Generator(1), batch: () => null, loss: () => mseLoss(s.model.forward(s.x)[0], s.y), earlyStopping: { patience: 1 } }),
      'earlyStopping needs validate and validateEvery');
  });
});

describe('recurrent train classify / classify / eval', () => {
  // texts of random words; the label says whether 'ball' is among them
  const rng = new Generator(11);
  const words = ['red', 'ball', 'tree', 'sky', 'run', 'blue', 'cat', 'sun'];
  const rows = Array.from({ length: 240 }, () => {
    const n = 3 + rng.int(6);
    const ws = Array.from({ length: n }, () => words[rng.int(words.length)]!);
    return { text: ws.join(' '), label: ws.includes('ball') ? 'sport' : 'other' };
  });
  it('trains a word classifier from JSON lines, reports test accuracy, classifies and evaluates', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recurrent-classify-'));
    try {
      const data = join(dir, 'd.jsonl');
      writeFileSync(data, rows.map((r) => JSON.stringify(r)).join('\n'));
      const model = join(dir, 'm.safetensors');
      let r = cli(['train', 'classify', '--data', data, '--out', model, '--tokens', 'word', '--min-count', '1', '--pool', 'mean', '--hidden', '16', '--embed', '8',
        '--steps', '150', '--batch', '16', '--lr', '0.02', '--val-every', '50', '--test-fraction', '0.2', '--seed', '2', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const res = JSON.parse(r.stdout.trim()) as { accuracy: number; confusion: number[][]; classes: string[]; test: number; steps: number };
      assert.deepEqual(res.classes, ['other', 'sport']);
      assert.equal(res.test, 48);
      assert.equal(res.confusion.flat().reduce((a, b) => a + b), 48);
      assert.ok(res.accuracy >= 0.9, `accuracy ${res.accuracy}`);
      assert.match(r.stderr, /step 150\/150 {2}loss/);
      r = cli(['classify', '--model', model, '--text', 'the red ball', '--text', 'blue sky sun', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { label: string; probabilities: Record<string, number> });
      assert.deepEqual(out.map((o) => o.label), ['sport', 'other']);
      assert.ok(Math.abs(out[0]!.probabilities['sport']! + out[0]!.probabilities['other']! - 1) < 1e-5);
      r = cli(['eval', '--model', model, '--data', data, '--json']);
      assert.equal(r.status, 0, r.stderr);
      const ev = JSON.parse(r.stdout.trim()) as { task: string; accuracy: number; rows: number };
      assert.deepEqual([ev.task, ev.rows], ['classify', 240]);
      assert.ok(ev.accuracy >= 0.9);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('character tokens from CSV with early stopping; bad input gets a reason and exit 1 or 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recurrent-classify-'));
    try {
      const csv = join(dir, 'd.csv');
      writeFileSync(csv, `body,kind\n${rows.map((r) => `"${r.text}",${r.label}`).join('\n')}\n`);
      const model = join(dir, 'm.safetensors');
      let r = cli(['train', 'classify', '--data', csv, '--text-column', 'body', '--label-column', 'kind', '--out', model, '--hidden', '8', '--embed', '4',
        '--steps', '400', '--batch', '8', '--val-every', '5', '--patience', '1', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const res = JSON.parse(r.stdout.trim()) as { steps: number; stopped_early: boolean; best_step: number };
      assert.ok(res.stopped_early && res.steps < 400 && res.best_step === res.steps - 5, JSON.stringify(res));
      assert.match(r.stderr, /early stop at step \d+: no improvement for 1 validations/);
      r = cli(['classify', '--model', model, '--text', '']);
      assert.equal(r.status, 0, r.stderr);
      // one class
      writeFileSync(join(dir, 'one.csv'), 'text,label\na,x\nb,x\nc,x\n');
      r = cli(['train', 'classify', '--data', join(dir, 'one.csv'), '--out', model]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /one.csv: column 'label': the labels have one class \('x'\); a classifier needs at least two/);
      r = cli(['train', 'classify', '--data', csv, '--out', model]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /no column 'text' \(columns: body, kind\)/);
      r = cli(['train', 'classify', '--data', join(dir, 'missing.csv'), '--out', model]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /the data file .*missing.csv does not exist/);
      writeFileSync(join(dir, 'empty.jsonl'), '\n');
      r = cli(['train', 'classify', '--data', join(dir, 'empty.jsonl'), '--out', model]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /the data file .*empty.jsonl is empty/);
      writeFileSync(join(dir, 'bad.jsonl'), '{"text": "a", "label": "x"}\n{"text": "b" "label": "y"}\n');
      r = cli(['train', 'classify', '--data', join(dir, 'bad.jsonl'), '--out', model]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /bad.jsonl: line 2 is not valid JSON/);
      r = cli(['train', 'classify', '--data', csv, '--out', model, '--tokens', 'bpe']);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /--tokens must be char or word, got 'bpe'/);
      writeFileSync(join(dir, 'new.csv'), 'body,kind\nred ball,sport\nsky,weather\n');
      r = cli(['eval', '--model', model, '--data', join(dir, 'new.csv')]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /unknown label 'weather' \(classes: other, sport\)/);
      r = cli(['classify', '--model', model]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /--text is required/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
