/** The README's examples run, and the package works when installed in another folder. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync, writeFileSync, cpSync, rmSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { loadSafetensors } from 'recurrent';
import { ROOT } from '../helpers.js';

function run(file: string, cwd: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [file], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

describe('README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  it('opens with the two commands', () => {
    const head = readme.split('\n').slice(0, 6).join('\n');
    assert.match(head, /npm ci && npm start/);
    assert.match(head, /npm ci && npm test/);
  });
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);
  it('has examples', () => assert.ok(blocks.length >= 3));
  it("its speed table is the newest full benchmark run's (scripts/speed-table.mjs)", () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'speed-table.mjs'), '--check'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
  blocks.forEach((code, i) => {
    const title = code.split('\n').find((l) => l.includes('new ') || l.includes('tensor('))?.trim().slice(0, 60) ?? `block ${i}`;
    it(`example ${i + 1} runs: ${title}`, () => {
      const dir = join(ROOT, 'build', 'readme');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `example-${i + 1}.mjs`);
      writeFileSync(file, code);
      const r = run(file, dir);
      assert.equal(r.status, 0, r.out);
    });
  });
  it('the printed results are what the comments say', () => {
    const dir = join(ROOT, 'build', 'readme');
    const output = (needle: string): string => {
      const i = blocks.findIndex((b) => b.includes(needle));
      assert.ok(i >= 0, `no README example contains ${needle}`);
      return run(join(dir, `example-${i + 1}.mjs`), dir).out;
    };
    assert.match(output('bidirectional: true });\nconst x'), /\[ 4, 3, 14 \] \[ 4, 3, 7 \] \[ 4, 3, 7 \]/);
    assert.match(output('copy.loadStateDict'), /entry 'weight_hh_l0' has shape \[4, 12\], expected \[12, 4\]/);
    assert.match(output('gradcheck('), /false\ntrue/);
    assert.match(output('lstm.stepper()'), /^(\d+ ){19}\d+$/m);
    assert.match(output('model.stepper()'), /^\[ 40 \] 10$/m);
    assert.match(output('model.stepper()'), /^then \d+ and 50 more$/m);
    assert.match(output('backendInfo()'), /name: 'wasm'/);
    assert.match(output('withPrefix(tensors'), /^pt 0$/m);
    assert.match(output('saveModel(model'), /\[ 3, 1, 30 \] 30/);
    assert.match(output('exportOnnx(model)'), /^true$/m);
    assert.match(output('fromTfjs('), /\[ 1, 1 \]/);
    assert.match(output('{ lengths }'), /^\[ 6, 3, 10 \] \[ 4, 3, 5 \] 0 \[ 6, 3, 5 \] true$/m);
    assert.match(output('new ContiguousWindows('), /^62 0\.0\d$/m);
    assert.match(output('ctcGreedyDecode(logits'), /^true \[ 50, 2, 11 \] 2\n\[ 3, 2, 20 \] 3$/m);
  });
});

describe('examples', () => {
  it('npm start (examples/charlm.mjs) trains, validates and samples at a small size', () => {
    const out = join(ROOT, 'build', 'charlm-test.safetensors');
    const r = spawnSync(process.execPath, [join(ROOT, 'examples', 'charlm.mjs'), '--steps', '3', '--hidden', '16', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /done: 3 steps .* validation loss \d+\.\d+ nats\/char/);
    assert.ok(r.stdout.startsWith('Call me ') && r.stdout.length > 200, r.stdout);
    assert.match(r.stderr, /npx recurrent generate --model .*charlm-test.safetensors/);
    // the saved model samples through the CLI
    const g = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), 'generate', '--model', out, '--prompt', 'Call', '--length', '20', '--seed', '1'], { encoding: 'utf8' });
    assert.equal(g.status, 0, g.stderr);
    assert.ok(g.stdout.startsWith('Call'));
  });
  it('the pronunciation example (g2p) trains a Seq2Seq on CMUdict, reports WER and PER, and draws the attention', () => {
    const svg = join(ROOT, 'build', 'g2p-test.svg');
    const r = spawnSync(process.execPath, [join(ROOT, 'examples', 'g2p.mjs'), '--words', '400', '--epochs', '1', '--beam', '2', '--plot', svg, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { wer: number; per: number; test_words: number; seconds: number; wer_beam: number };
    assert.equal(res.test_words, 20);
    for (const k of ['wer', 'per', 'wer_beam'] as const) assert.ok(res[k] >= 0 && res[k] <= 1.5, `${k} ${res[k]}`);
    assert.ok(readFileSync(svg, 'utf8').startsWith('<svg'));
  });
  it('the digit-strings example trains a CTC reader and reports label error rate and line accuracy', () => {
    const svg = join(ROOT, 'build', 'digits-test.svg');
    const weights = join(ROOT, 'build', 'digits-test.safetensors');
    rmSync(weights, { force: true });
    const r = spawnSync(process.execPath, [join(ROOT, 'examples', 'digits-ctc.mjs'), '--steps', '4', '--hidden', '8', '--test-lines', '20', '--elastic', '20', '--ema', '0.9', '--plot', svg, '--out', weights, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { label_error_rate: number; line_accuracy: number; test_lines: number; steps: number; label_error_rate_last_step: number };
    assert.equal(res.test_lines, 20);
    assert.equal(res.steps, 4);
    assert.ok(res.label_error_rate >= 0 && res.line_accuracy >= 0 && res.line_accuracy <= 1);
    assert.ok(res.label_error_rate_last_step >= 0, 'with --ema the last step\'s weights are reported too');
    assert.ok(readFileSync(svg, 'utf8').startsWith('<svg'));
    // the reader's weights, by its parameters' names
    const saved = loadSafetensors(readFileSync(weights));
    assert.deepEqual(Object.keys(saved.tensors).sort(), ['head.bias', 'head.weight', ...['l0', 'l0_reverse', 'l1', 'l1_reverse'].flatMap((l) => [`rnn.bias_hh_${l}`, `rnn.bias_ih_${l}`, `rnn.weight_hh_${l}`, `rnn.weight_ih_${l}`])].sort());
    rmSync(weights);
  });
  it('the adding problem example runs for RNN, LSTM and GRU and draws its plot', () => {
    const svg = join(ROOT, 'build', 'adding-test.svg');
    const r = spawnSync(process.execPath, [join(ROOT, 'examples', 'adding.mjs'), '--length', '12', '--steps', '60', '--hidden', '8', '--plot', svg, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim()) as Record<string, { testMse: number }>;
    for (const k of ['rnn', 'lstm', 'gru']) assert.ok(Number.isFinite(res[k]!.testMse) && res[k]!.testMse < 1, `${k}: ${JSON.stringify(res[k])}`);
    const text = readFileSync(svg, 'utf8');
    assert.ok(text.startsWith('<svg') && text.includes('LSTM') && text.includes('GRU'), 'an SVG with a line per model');
  });

  it('the spam example trains on padded batches and reports accuracy and a confusion matrix', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'examples', 'spam.mjs'), '--steps', '4', '--limit', '200', '--max-len', '60', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim()) as { accuracy: number; confusion: number[][]; test: number };
    assert.equal(res.test, 40);
    assert.equal(res.confusion.flat().reduce((a, b) => a + b, 0), 40);
    assert.ok(res.accuracy >= 0 && res.accuracy <= 1);
    const c = spawnSync(process.execPath, [join(ROOT, 'examples', 'spam.mjs'), '--tokens', 'char', '--steps', '2', '--limit', '100', '--max-len', '40', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(c.status, 0, c.stderr);
    assert.equal((JSON.parse(c.stdout.trim()) as { tokens: string }).tokens, 'char');
    // its records, written as JSON lines, train through the CLI
    const jsonl = join(ROOT, 'build', 'mail-test.jsonl');
    const w = spawnSync(process.execPath, [join(ROOT, 'examples', 'spam.mjs'), '--write-jsonl', jsonl], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(w.status, 0, w.stderr);
    assert.match(w.stderr, /wrote 6046 messages/);
    const t = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), 'train', 'classify', '--data', jsonl, '--out', join(ROOT, 'build', 'mail-test.safetensors'),
      '--tokens', 'word', '--max-len', '20', '--steps', '3', '--hidden', '8', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(t.status, 0, t.stderr);
    const tr = JSON.parse(t.stdout.trim()) as { classes: string[]; test: number };
    assert.deepEqual([tr.classes, tr.test], [['ham', 'spam'], 605]);
  });

  it('the names example: a vanilla RNN beats always answering the larger class', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'examples', 'names.mjs'), '--steps', '300', '--names', 'Mary,John', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim()) as { accuracy: number; majority: number; confusion: number[][]; test: number; guesses: { name: string; guess: string }[] };
    assert.equal(res.confusion.flat().reduce((a, b) => a + b, 0), res.test);
    assert.ok(res.accuracy > res.majority + 0.1, `accuracy ${res.accuracy} against ${res.majority}`);
    assert.deepEqual(res.guesses.map((g) => g.name), ['Mary', 'John']);
  });

  it('the next-number example: an LSTM continues 1, 2, 3, 4, 5 with 6', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'examples', 'next-number.mjs'), '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const { results } = JSON.parse(r.stdout.trim()) as { results: { input: number[]; expected: number; predicted: number }[] };
    assert.deepEqual(results[0]!.input, [1, 2, 3, 4, 5]);
    for (const c of results) assert.ok(Math.abs(c.predicted - c.expected) < 0.3, `${c.input.join(', ')} -> ${c.predicted}, expected ${c.expected}`);
  });

  it('rejects a bad option with a clear message', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'examples', 'charlm.mjs'), '--steps', 'many'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--steps must be a positive number, got 'many'/);
  });
});


/**
 * Whether version v (x.y.z) satisfies an npm engines range of the forms packages declare here:
 * alternatives joined by ||, each comparators separated by spaces (>=, >, <=, <, =, ^, x.* and
 * bare versions). Null for a form it does not know, so that a new one is looked at, not passed.
 */
function satisfies(v: [number, number, number], range: string): boolean | null {
  const parse = (s: string): [number, number, number] | null => {
    const m = /^v?(\d+)(?:\.(\d+|\*|x))?(?:\.(\d+|\*|x))?$/.exec(s);
    if (!m) return null;
    const n = (x: string | undefined): number => (x === undefined || x === '*' || x === 'x' ? 0 : Number(x));
    return [n(m[1]), n(m[2]), n(m[3])];
  };
  const cmp = (a: number[], b: number[]): number => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!;
  let known = true;
  const ok = range.split('||').some((alt) => {
    const parts = alt.trim().replace(/(>=|<=|>|<|=|\^)\s+/g, '$1').split(/\s+/).filter(Boolean);
    return parts.every((c) => {
      const m = /^(>=|<=|>|<|=|\^)?(.*)$/.exec(c)!;
      const w = parse(m[2]!);
      if (!w) { known = false; return false; }
      const d = cmp(v, w);
      switch (m[1]) {
        case '>=': return d >= 0;
        case '>': return d > 0;
        case '<=': return d <= 0;
        case '<': return d < 0;
        case '^': return v[0] === w[0] && d >= 0;
        default: return /\*|x|^\d+$|^\d+\.\d+$/.test(m[2]!) ? v[0] === w[0] && (!/^\d+\.\d+$/.test(m[2]!) || v[1] === w[1]) : d === 0;
      }
    });
  });
  return ok ? true : known ? false : null;
}

describe('package', () => {
  it('a program that never plots never loads the charting library (Vega)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recurrent-no-vega-'));
    try {
      // a resolve hook that refuses vega and vega-lite: a program loading them fails
      writeFileSync(join(dir, 'hooks.mjs'), "export async function resolve(s, c, next) { if (/^vega(-lite)?$/.test(s)) throw new Error('loaded ' + s); return next(s, c); }\n");
      writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
      const train = "import { LSTM, randn, Adam } from 'recurrent'; const m = new LSTM({ inputSize: 2, hiddenSize: 3 }); const o = new Adam(m.parameters()); m.forward(randn([4, 1, 2]))[0].sum().backward(); o.step(); console.log('trained');";
      const plot = "import { lineChartSvg } from 'recurrent'; await lineChartSvg([{ series: 'a', x: 0, y: 1 }], { title: 't', xTitle: 'x', yTitle: 'y' }); console.log('plotted');";
      const runWith = (code: string) => spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8' });
      const trained = runWith(train);
      assert.equal(trained.status, 0, trained.stderr);
      assert.match(trained.stdout, /trained/);
      // the hook works: plotting does load it
      const plotted = runWith(plot);
      assert.notEqual(plotted.status, 0);
      assert.match(plotted.stderr, /loaded vega/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('installs on this Node without an engine warning: every runtime dependency admits it', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; engines?: { node?: string } }> };
    const v = process.versions.node.split('.').map(Number) as [number, number, number];
    const refused = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && !p.dev && p.engines?.node)
      .map(([path, p]) => ({ path, range: p.engines!.node!, ok: satisfies(v, p.engines!.node!) }))
      .filter((e) => e.ok !== true);
    assert.deepEqual(refused, [], `runtime dependencies whose engines do not admit Node ${process.versions.node} (ok: null where the range's form is unknown)`);
    // the checker itself, on the forms it claims
    assert.equal(satisfies([20, 20, 2], '>=22'), false);
    assert.equal(satisfies([20, 20, 2], '>= 10.*'), true);
    assert.equal(satisfies([20, 20, 2], '^20.19.0 || ^22.12.0 || >=23'), true);
    assert.equal(satisfies([20, 18, 0], '^20.19.0 || ^22.12.0 || >=23'), false);
    assert.equal(satisfies([20, 20, 2], '6.* || 8.* || >= 10.*'), true);
    assert.equal(satisfies([20, 20, 2], '~20'), null);
  });

  it("import { LSTM } from 'recurrent' works from another folder that installs it", () => {
    const dir = mkdtempSync(join(tmpdir(), 'recurrent-consumer-'));
    try {
      const pkgDir = join(dir, 'node_modules', 'recurrent');
      mkdirSync(pkgDir, { recursive: true });
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
      cpSync(join(ROOT, 'package.json'), join(pkgDir, 'package.json'));
      for (const f of pkg.files) cpSync(join(ROOT, f), join(pkgDir, f), { recursive: true });
      writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
      writeFileSync(join(dir, 'main.js'), [
        "import { LSTM, randn } from 'recurrent';",
        'const [out] = new LSTM({ inputSize: 2, hiddenSize: 3 }).forward(randn([4, 1, 2]));',
        'console.log(JSON.stringify(out.shape));',
      ].join('\n'));
      const r = run(join(dir, 'main.js'), dir);
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, /\[4,1,3\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
