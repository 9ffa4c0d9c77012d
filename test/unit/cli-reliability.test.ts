/**
 * The `recurrent` command pushed as an adversarial user would: outputs that are inputs, devices,
 * links or in missing folders; absurd numbers; training that diverges; resumes with other
 * options; files holding several series. Each case once lost a file, hung, or said nothing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, inTmp } from '../helpers.js';

const cli = (args: string[]): { status: number | null; stdout: string; stderr: string; ms: number } => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
};


const TEXT = 'It was the best of times, it was the worst of times; it was the age of wisdom. '.repeat(40);
/** A small, fast character model: its options after --data and --out. */
const SMALL = ['--hidden', '12', '--embed', '6', '--seq-len', '12', '--batch', '4', '--val-every', '0'];

describe('recurrent: outputs never replace what the user has', () => {
  it('--out or --checkpoint equal to --data (or a link to it), or to each other: exit 1, every file byte-identical', () => inTmp((dir) => {
    const data = join(dir, 'notes.txt');
    writeFileSync(data, TEXT);
    symlinkSync('notes.txt', join(dir, 'alias.txt'));
    const cases: [string[], RegExp][] = [
      [['--out', data], /--out .*notes.txt is the same file as --data: refusing to write over it/],
      [['--out', join(dir, 'alias.txt')], /--out .*alias.txt is the same file as --data/],
      [['--out', join(dir, 'm.st'), '--checkpoint', data], /--checkpoint .*notes.txt is the same file as --data/],
      [['--out', join(dir, 'm.st'), '--checkpoint', join(dir, 'm.st')], /--out and --checkpoint are the same file/],
    ];
    for (const [extra, message] of cases) {
      const r = cli(['train', 'text', '--data', data, ...extra, ...SMALL, '--steps', '5']);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /step \d/, 'no training step ran');
      assert.equal(readFileSync(data, 'utf8'), TEXT, 'the data is byte-identical');
    }
    assert.deepEqual(readdirSync(dir).sort(), ['alias.txt', 'notes.txt']);
    // the same check on the other writers
    let r = cli(['train', 'series', '--data', data, '--column', 'v', '--out', data]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /is the same file as --data/);
    r = cli(['train', 'classify', '--data', data, '--out', data]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /is the same file as --data/);
    assert.equal(readFileSync(data, 'utf8'), TEXT);
  }));
  it('a device, a folder or a missing folder as an output fails before any training step, in about a second at most', () => inTmp((dir) => {
    const data = join(dir, 'notes.txt');
    writeFileSync(data, TEXT);
    // --steps 100000 of the default model would run for many minutes: the check comes first
    for (const [out, message] of [
      ['/dev/full', /--out: \/dev\/full is not a regular file \(a device, pipe or socket\); refusing to replace it/],
      [dir, /--out: .* is a folder, not a file/],
      [join(dir, 'missing', 'm.st'), /--out: the folder .*missing of .*m.st does not exist/],
    ] as const) {
      const r = cli(['train', 'text', '--data', data, '--out', out, '--steps', '100000']);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /step \d/);
      assert.ok(r.ms < 5000, `took ${r.ms} ms`);
    }
    if (existsSync('/dev/full')) assert.ok(statSync('/dev/full').isCharacterDevice(), '/dev/full is still a device');
    const r = cli(['train', 'text', '--data', data, '--out', join(dir, 'm.st'), '--checkpoint', join(dir, 'nope', 'c.st'), '--steps', '100000']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--checkpoint: the folder .*nope of .*c.st does not exist/);
    for (const args of [
      ['train', 'series', '--data', data, '--column', 'v', '--out', join(dir, 'no', 'm.st')],
      ['train', 'classify', '--data', data, '--out', join(dir, 'no', 'm.st')],
      ['export', 'onnx', '--model', data, '--out', join(dir, 'no', 'm.onnx')],
      ['forecast', '--model', data, '--data', data, '--plot', join(dir, 'no', 'f.svg')],
    ]) {
      const e = cli(args);
      assert.equal(e.status, 1, `${args.join(' ')}: ${e.stderr}`);
      assert.match(e.stderr, /: the folder .*no of .* does not exist/, args.join(' '));
    }
  }));
  it('a link as --out is followed: the link stays, its target gets the model', () => inTmp((dir) => {
    const data = join(dir, 'notes.txt');
    writeFileSync(data, TEXT);
    writeFileSync(join(dir, 'target.st'), 'old');
    symlinkSync('target.st', join(dir, 'link.st'));
    const r = cli(['train', 'text', '--data', data, '--out', join(dir, 'link.st'), ...SMALL, '--steps', '3']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(lstatSync(join(dir, 'link.st')).isSymbolicLink());
    assert.ok(statSync(join(dir, 'target.st')).size > 1000);
  }));
});

describe('recurrent: absurd numbers are refused at once', () => {
  it('every command, with the option, its range and what came', () => {
    for (const [args, message] of [
      [['forecast', '--model', 'm', '--data', 'd', '--horizon', '1e308'], /--horizon must be an integer from 1 to 10000, got '1e308'/],
      [['train', 'text', '--data', 'd', '--out', 'o', '--layers', '1e308'], /--layers must be an integer from 1 to 64, got '1e308'/],
      [['train', 'text', '--data', 'd', '--out', 'o', '--hidden', '1e308'], /--hidden must be an integer from 1 to 16384/],
      [['train', 'text', '--data', 'd', '--out', 'o', '--embed', '1e308'], /--embed must be an integer from 1 to 16384/],
      [['train', 'text', '--data', 'd', '--out', 'o', '--batch', '1e308'], /--batch must be an integer from 1 to 65536/],
      [['train', 'text', '--data', 'd', '--out', 'o', '--steps', '1e308'], /--steps must be an integer from 0 to 1e9/],
      [['train', 'text', '--data', 'd', '--out', 'o', '--seed=-1'], /--seed must be an integer from 0 to 2\^53 - 1, got '-1'/],
      [['train', 'text', '--data', 'd', '--out', 'o', '--seed', '1e308'], /--seed must be an integer from 0 to 2\^53 - 1/],
      [['train', 'text', '--data', 'd', '--out', 'o', '--lr', '1e30'], /--lr must be a number above 0 and at most 1000/],
      [['train', 'text', '--data', 'd', '--out', 'o', '--steps', ' 0x10'], /--steps must be an integer from 0 to 1e9, got ' 0x10'/],
      [['train', 'text', '--data', 'd', '--out', 'o', '--steps', ''], /--steps must be an integer from 0 to 1e9, got ''/],
      [['generate', '--model', 'm', '--length', '1e9'], /--length must be an integer from 0 to 1e8, got '1e9'/],
      [['train', 'series', '--data', 'd', '--column', 'v', '--out', 'o', '--window', '1e308'], /--window must be an integer from 1 to 100000/],
      [['train', 'classify', '--data', 'd', '--out', 'o', '--max-len', '1e308'], /--max-len must be an integer from 1 to 100000/],
      [['train', 'text', '--data', 'd', '--out', 'o', '--zoneout', '1'], /--zoneout must be a probability in \[0, 1\), got '1'/],
      [['train', 'classify', '--data', 'd', '--out', 'o', '--recurrent-dropout=-0.5'], /--recurrent-dropout must be a probability in \[0, 1\), got '-0.5'/],
      [['train', 'series', '--data', 'd', '--column', 'v', '--out', 'o', '--zoneout', 'half'], /--zoneout must be a probability in \[0, 1\), got 'half'/],
    ] as [string[], RegExp][]) {
      const r = cli(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.ok(r.ms < 5000);
    }
  });
});

describe('recurrent: training that diverges', () => {
  it('--lr 1e3 stops with the step and the remedy in the CLI\'s options, exit 1, and leaves an existing --out untouched', () => inTmp((dir) => {
    const data = join(dir, 'notes.txt');
    writeFileSync(data, TEXT);
    const out = join(dir, 'm.st');
    writeFileSync(out, 'the model from yesterday');
    const r = cli(['train', 'text', '--data', data, '--out', out, ...SMALL, '--steps', '300', '--lr', '1e3']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /training diverged: the mean training loss of steps 1-50 is \S+ at step 50, more than 3 times a trivial predictor's \S+; lower --lr \(now 1000\) or --clip \(now 5\); no model was written/);
    assert.equal(readFileSync(out, 'utf8'), 'the model from yesterday');
    const csv = join(dir, 's.csv');
    writeFileSync(csv, `t,value\n${Array.from({ length: 120 }, (_, i) => `${i},${(10 + 0.05 * i + Math.sin((2 * Math.PI * i) / 12)).toFixed(4)}`).join('\n')}\n`);
    const s = cli(['train', 'series', '--data', csv, '--column', 'value', '--out', out, '--window', '12', '--test', '24', '--hidden', '8', '--steps', '250', '--lr', '1e3']);
    assert.equal(s.status, 1, s.stderr);
    assert.match(s.stderr, /training diverged: .*lower --lr \(now 1000\) or --clip \(now 1\); no model was written/);
    assert.equal(readFileSync(out, 'utf8'), 'the model from yesterday');
  }));
});

describe('recurrent: resuming', () => {
  it('keeps the checkpoint\'s settings, applies and names the ones that may change, refuses the rest', () => inTmp((dir) => {
    const data = join(dir, 'notes.txt');
    writeFileSync(data, TEXT);
    const ck = join(dir, 'ck.st');
    const base = ['train', 'text', '--data', data, '--out', join(dir, 'm.st'), '--checkpoint', ck, '--checkpoint-every', '10'];
    let r = cli([...base, ...SMALL, '--steps', '20', '--json']);
    assert.equal(r.status, 0, r.stderr);
    // options that shape the model must match
    r = cli([...base, '--resume', '--hidden', '20', '--steps', '30']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--resume: .*ck.st was trained with other settings: --hidden 20 \(the checkpoint's 12\); drop this option to resume/);
    // fewer steps than done
    r = cli([...base, '--resume', '--steps', '10']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ck.st is at step 20, past --steps 10; give --steps 20 or more/);
    // a finished run resumed: no step, the loss it recorded
    r = cli([...base, '--resume', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const done = JSON.parse(r.stdout.trim()) as { steps: number; train_loss: number | null };
    assert.equal(done.steps, 20);
    assert.ok(typeof done.train_loss === 'number' && done.train_loss > 0, r.stdout);
    // the learning rate may change: said, and the rest taken from the checkpoint
    r = cli([...base, '--resume', '--lr', '0.5', '--steps', '30']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /resuming .*ck.st at step 20; changed: --lr 0.5 \(the checkpoint's 0.002\)/);
    assert.match(r.stderr, /LSTM 1x12, .*steps 21 to 30 of 4x12/);
  }));
});

describe('recurrent: commands say what they did, on stdout', () => {
  it('generate --json, eval without --json, classify of a CSV with a byte-order mark, the prompt suggested from the data', () => inTmp((dir) => {
    const data = join(dir, 'notes.txt');
    writeFileSync(data, TEXT.toLowerCase()); // no capital T: "The " would not be in the vocabulary
    const model = join(dir, 'm.st');
    let r = cli(['train', 'text', '--data', data, '--out', model, ...SMALL, '--steps', '3']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^saved .*m.st: validation loss \d/);
    assert.match(r.stderr, /generate with: npx recurrent generate --model .*m.st --prompt "it"/);
    r = cli(['generate', '--model', model, '--prompt', 'it', '--length', '30', '--seed', '2', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const g = JSON.parse(r.stdout) as { text: string; prompt: string; length: number; seed: number };
    assert.deepEqual([g.prompt, g.length, g.seed, g.text.length], ['it', 30, 2, 32]);
    const plain = cli(['generate', '--model', model, '--prompt', 'it', '--length', '30', '--seed', '2']);
    assert.equal(plain.stdout, `${g.text}\n`);
    r = cli(['eval', '--model', model, '--data', data]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /notes.txt: \d+\.\d+ nats\/char \(perplexity/);
    const csv = join(dir, 'mail.csv');
    const rows = Array.from({ length: 40 }, (_, i) => (i % 2 ? `win money now ${i},spam` : `meeting at noon ${i},ham`));
    writeFileSync(csv, `\uFEFFtext,label\n${rows.join('\n')}\n`);
    r = cli(['train', 'classify', '--data', csv, '--out', join(dir, 'c.st'), '--hidden', '8', '--embed', '4', '--steps', '5', '--val-every', '5']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^test accuracy /);
  }));
  it('counts characters, not UTF-16 units: a text of emoji and accents', () => inTmp((dir) => {
    const data = join(dir, 'emoji.txt');
    const unit = 'café 😀 naïve 🎉 déjà vu. ';
    writeFileSync(data, unit.repeat(60));
    const r = cli(['train', 'text', '--data', data, '--out', join(dir, 'm.st'), ...SMALL, '--steps', '2']);
    assert.equal(r.status, 0, r.stderr);
    const chars = [...unit].length * 60; // code points; unit.length counts the emoji twice
    assert.notEqual(chars, unit.length * 60);
    assert.match(r.stderr, new RegExp(`emoji.txt: ${chars} characters, ${new Set(unit).size} distinct`)); // a string iterates by code points
  }));
  it('series: --where picks one of several series; a file of several is refused; a skipped backtest says why; forecast keeps the training horizon', () => inTmp((dir) => {
    const csv = join(dir, 'stocks.csv');
    const lines: string[] = [];
    for (const sym of ['MSFT', 'AAPL']) for (let i = 0; i < 80; i++) lines.push(`${sym},day ${i},${(sym === 'MSFT' ? 30 : 20) + Math.sin(i / 3) + 0.1 * i}`);
    writeFileSync(csv, `symbol,date,price\n${lines.join('\n')}\n`);
    const model = join(dir, 'm.st');
    const common = ['train', 'series', '--data', csv, '--column', 'price', '--out', model, '--window', '8', '--hidden', '8', '--steps', '20', '--season', '5'];
    let r = cli(common);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /column 'date' holds 'day 0' in rows 2 and 82: the file holds several series; keep one by its 'symbol' \(for example symbol=MSFT\)/);
    r = cli([...common, '--where', 'symbol=AAPL', '--test', '20', '--horizon', '7', '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /80 values of 'price' where symbol=AAPL/);
    assert.equal((JSON.parse(r.stdout) as { horizon: number }).horizon, 7);
    r = cli(['forecast', '--model', model, '--data', csv, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const f = JSON.parse(r.stdout) as { horizon: number; forecast: number[] };
    assert.equal(f.horizon, 7);
    assert.equal(f.forecast.length, 7);
    // a horizon longer than the held-out part: the run says so instead of leaving the backtest out
    r = cli([...common, '--where', 'symbol=MSFT', '--test', '10', '--horizon', '30', '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /no backtest: a forecast from row 70 .* needs 30 values after it \(--horizon\), and the series has 80; lower --horizon or --season, or raise --test/);
    assert.equal((JSON.parse(r.stdout) as { backtest: null }).backtest, null);
    // checkpoints, too
    r = cli([...common, '--where', 'symbol=MSFT', '--test', '20', '--checkpoint', join(dir, 'ck.st'), '--checkpoint-every', '10']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(join(dir, 'ck.st')));
  }));
});

describe('recurrent: every kind of cell from the command line', () => {
  it('train text --model for each new kind, generate from it; train classify --bidirectional; an unknown kind refused with the list', () => inTmp((dir) => {
    const data = join(dir, 'notes.txt');
    writeFileSync(data, TEXT);
    for (const kind of ['layernorm_lstm', 'peephole_lstm', 'mingru', 'minlstm']) {
      const model = join(dir, `${kind}.st`);
      let r = cli(['train', 'text', '--data', data, '--out', model, '--model', kind, ...SMALL, '--steps', '3']);
      assert.equal(r.status, 0, `${kind}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${kind.toUpperCase()} 1x12`));
      r = cli(['generate', '--model', model, '--prompt', 'It', '--length', '20', '--seed', '1']);
      assert.equal(r.status, 0, `${kind}: ${r.stderr}`);
      assert.equal([...r.stdout.trimEnd()].length >= 20, true);
    }
    const r = cli(['train', 'text', '--data', data, '--out', join(dir, 'x.st'), '--model', 'transformer']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--model must be one of lstm, gru, rnn, layernorm_lstm, peephole_lstm, mingru, minlstm, got 'transformer'/);
    const csv = join(dir, 'mail.csv');
    writeFileSync(csv, `text,label\n${Array.from({ length: 40 }, (_, i) => (i % 2 ? `win money now ${i},spam` : `meeting at noon ${i},ham`)).join('\n')}\n`);
    const c = cli(['train', 'classify', '--data', csv, '--out', join(dir, 'c.st'), '--model', 'layernorm_lstm', '--bidirectional', '--hidden', '6', '--embed', '4', '--steps', '4', '--val-every', '4', '--json']);
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stderr, /LAYERNORM_LSTM 1x6/);
  }));
});

describe('recurrent: regularisers from the command line', () => {
  it('train text --zoneout --recurrent-dropout saves them in the model; generate evaluates with zoneout\'s expectation; classify takes them too', () => inTmp((dir) => {
    const data = join(dir, 'notes.txt');
    writeFileSync(data, TEXT);
    const model = join(dir, 'z.st');
    let r = cli(['train', 'text', '--data', data, '--out', model, ...SMALL, '--steps', '3', '--zoneout', '0.1', '--recurrent-dropout', '0.25']);
    assert.equal(r.status, 0, r.stderr);
    const header = readFileSync(model);
    const meta = JSON.parse(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString('utf8')) as { __metadata__: Record<string, string> };
    assert.match(JSON.stringify(meta.__metadata__), /\\"recurrentDropout\\":0.25,\\"zoneout\\":0.1/);
    r = cli(['generate', '--model', model, '--prompt', 'It', '--length', '20', '--seed', '1']);
    assert.equal(r.status, 0, r.stderr);
    const csv = join(dir, 'mail.csv');
    writeFileSync(csv, `text,label\n${Array.from({ length: 40 }, (_, i) => (i % 2 ? `win money now ${i},spam` : `meeting at noon ${i},ham`)).join('\n')}\n`);
    const c = cli(['train', 'classify', '--data', csv, '--out', join(dir, 'c.st'), '--hidden', '6', '--embed', '4', '--steps', '4', '--val-every', '4', '--zoneout', '0.2', '--recurrent-dropout', '0.2']);
    assert.equal(c.status, 0, c.stderr);
  }));
});
