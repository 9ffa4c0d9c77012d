/**
 * The playground (web/) end to end: built with Vite as `npm run web:build` builds it, served by
 * Vite's preview server (which sends COOP/COEP), driven in Debian's Chromium. The character
 * model trains in its worker while the page's thread stays free, samples appear, pause, resume
 * and stop work, uploads are refused with a message or loaded, and nothing is logged as an error.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, normalize, extname } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROOT } from '../helpers.js';
import { SequenceModel, saveModel } from 'recurrent';

const CHROMIUM = '/usr/bin/chromium';
/** With PLAYGROUND_SHOTS=DIR, each task's section is saved there as a PNG after it ran (the README's screenshots in docs/). */
const SHOTS = process.env['PLAYGROUND_SHOTS'] ?? '';

/** Training steps: short for the test, longer when the screenshots are taken (as a user would train). */
const steps = (test: number, shot: number): string => String(SHOTS ? shot : test);

/** A screenshot of the page from one element's top to another's bottom, when SHOTS is set. */
async function shoot(page: Page, fromId: string, toId: string): Promise<void> {
  if (!SHOTS) return;
  const box = await page.evaluate<{ x: number; y: number; width: number; height: number }>(`(() => {
    const a = document.getElementById('${fromId}').getBoundingClientRect(), b = document.getElementById('${toId}').getBoundingClientRect();
    return { x: 0, y: a.top + scrollY - 8, width: document.documentElement.clientWidth, height: b.bottom - a.top + 16 };
  })()`);
  await page.screenshot({ path: join(SHOTS, `playground-${fromId.replace(/-title$/, '')}.png`), clip: box, fullPage: true });
}

interface Page {
  goto(url: string): Promise<unknown>;
  click(selector: string): Promise<void>;
  textContent(selector: string): Promise<string | null>;
  waitForFunction(f: string, arg?: unknown, o?: { timeout: number }): Promise<unknown>;
  evaluate<T>(f: string): Promise<T>;
  addInitScript(script: { content: string }): Promise<void>;
  setInputFiles(selector: string, file: { name: string; mimeType: string; buffer: Buffer }): Promise<void>;
  mouse: { move(x: number, y: number, o?: { steps: number }): Promise<void>; down(): Promise<void>; up(): Promise<void> };
  screenshot(o: { path: string; clip: { x: number; y: number; width: number; height: number }; fullPage: boolean }): Promise<unknown>;
  on(event: 'console', f: (m: { type(): string; text(): string }) => void): void;
  on(event: 'pageerror', f: (e: Error) => void): void;
}

/** The loss in the progress line ("Step 12, loss 3.456, ..."). */
const lossOf = (s: string | null): number => Number(/loss (\d+\.\d+)/.exec(s ?? '')?.[1] ?? NaN);
const stepOf = (s: string | null): number => Number(/Step (\d+)/.exec(s ?? '')?.[1] ?? NaN);

describe('the playground, built, in Chromium', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)` }, () => {
  let outDir = '';
  let close: (() => Promise<void>) | null = null;
  let url = '';
  let browser: { close(): Promise<void>; newPage(o?: { viewport: { width: number; height: number } }): Promise<Page> } | null = null;

  before(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'recurrent-web-'));
    const data = spawnSync(process.execPath, [join(ROOT, 'web', 'scripts', 'data.mjs')], { encoding: 'utf8' });
    assert.equal(data.status, 0, data.stderr);
    const vite = await import('vite');
    const configFile = join(ROOT, 'web', 'vite.config.mjs');
    await vite.build({ configFile, logLevel: 'error', build: { outDir, emptyOutDir: true } });
    const server = await vite.preview({ configFile, logLevel: 'error', build: { outDir }, preview: { host: '127.0.0.1', port: 4300 + Math.floor(Math.random() * 500) } });
    url = server.resolvedUrls!.local[0]!;
    close = () => server.close();
    const { chromium } = await import('playwright-core');
    browser = (await chromium.launch({ executablePath: CHROMIUM })) as unknown as typeof browser;
  });
  after(async () => {
    await browser?.close();
    await close?.();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('trains the character model off the page thread: the loss falls, samples appear, controls work, no errors', async (t) => {
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    // every task that holds the page's thread over 50 ms, from the start
    await page.addInitScript({ content: `window.longTasks = []; new PerformanceObserver((l) => { for (const e of l.getEntries()) window.longTasks.push({ start: e.startTime, duration: e.duration }); }).observe({ type: 'longtask', buffered: true });` });
    // a new browser: the first load is from a cold cache
    const loadFrom = Date.now();
    await page.goto(url);
    await page.waitForFunction(`!document.getElementById('backend').textContent.startsWith('Loading')`, null, { timeout: 30000 });
    const bytes = readdirSync(outDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).reduce((n, e) => n + statSync(join(e.parentPath, e.name)).size, 0);
    t.diagnostic(`first load, cold cache, to the kernels and workers ready: ${Date.now() - loadFrom} ms; the build: ${(bytes / 1e6).toFixed(2)} MB`);
    const backend = await page.textContent('#backend');
    assert.match(backend ?? '', /Backend: wasm .*threads?/, String(backend));
    assert.doesNotMatch(backend ?? '', /not cross-origin isolated/, 'the preview server sends COOP/COEP');

    // as a user would, start once the page has settled (its charts built while it was idle)
    await page.waitForFunction(`document.body.dataset.charts === 'ready'`, null, { timeout: 30000 });
    const trainingFrom = await page.evaluate<number>('performance.now()');
    await page.click('#start');
    await page.waitForFunction(`/Step \\d+/.test(document.getElementById('progress').textContent)`, null, { timeout: 30000 });
    const first = await page.textContent('#progress');
    // a few seconds of training, and a sample drawn on the way
    await page.waitForFunction(`Number((/Step (\\d+)/.exec(document.getElementById('progress').textContent) || [])[1]) >= ${stepOf(first) + Number(steps(60, 600))}`, null, { timeout: 600000 });
    await page.waitForFunction(`document.getElementById('samples').textContent.startsWith('step ')`, null, { timeout: 30000 });
    const later = await page.textContent('#progress');
    assert.ok(lossOf(later) < lossOf(first) - 0.5, `the loss falls: '${first}' then '${later}'`);
    const sample = (await page.textContent('#samples'))!.split('\n').slice(1).join('\n');
    assert.ok(sample.length >= 100 && /[a-z]{2,}/.test(sample), `generated text: ${JSON.stringify(sample)}`);

    await page.click('#pause');
    await page.waitForFunction(`document.body.dataset.state === 'paused'`, null, { timeout: 5000 });
    await shoot(page, 'text-title', 'samples');
    const paused = stepOf(await page.textContent('#progress'));
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(stepOf(await page.textContent('#progress')), paused, 'no steps while paused');
    await page.click('#resume');
    await page.waitForFunction(`Number((/Step (\\d+)/.exec(document.getElementById('progress').textContent) || [])[1]) > ${paused}`, null, { timeout: 10000 });
    await page.click('#stop');
    await page.waitForFunction(`document.body.dataset.state === 'stopped'`, null, { timeout: 5000 });
    const trainingTo = await page.evaluate<number>('performance.now()');

    // inside the trained model: heatmaps of h and the gates, and each character's saliency
    await page.click('#look');
    await page.waitForFunction(`document.getElementById('inside-note').textContent.startsWith('The model expects')`, null, { timeout: 20000 });
    assert.ok(await page.evaluate<boolean>(`!!document.querySelector('#state-chart canvas') && !!document.querySelector('#gate-chart canvas')`), 'the heatmaps are drawn');
    assert.equal(await page.evaluate<number>(`document.querySelectorAll('#saliency span').length`), 'Call me Ishmael. Some years ago'.length);

    // the vanishing gradient: an RNN's ||dL/dh_t|| falls faster back through the text than an LSTM's
    await page.evaluate(`(() => { const i = document.querySelector('#inside-form input[name=text]'); i.value = 'It is not down in any map; true places never are. And the whale is'; })()`);
    await page.click('#compare');
    await page.waitForFunction(`document.getElementById('compare-note').textContent.startsWith('From the last character')`, null, { timeout: 120000 });
    assert.ok(await page.evaluate<boolean>(`!!document.querySelector('#gradnorm-chart canvas')`), 'the gradient-norm chart is drawn');
    await shoot(page, 'inside-title', 'gradnorm-chart');
    const note = (await page.textContent('#compare-note'))!;
    const factor = (kind: string): number => Number(new RegExp(`${kind} (\\S+?)[,.]?(?:\\s|$)`).exec(note)?.[1]);
    assert.ok(factor('RNN') < factor('LSTM') / 100, `the RNN's gradient norm falls faster than the LSTM's: ${note}`);

    // uploads: a corrupt file and a forecasting model are refused, saying why, and change nothing
    const stopped = await page.textContent('#progress');
    await page.setInputFiles('#upload', { name: 'corrupt.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('not a model file at all, just text') });
    await page.waitForFunction(`document.getElementById('error').textContent.includes('corrupt.safetensors')`, null, { timeout: 10000 });
    assert.match((await page.textContent('#error'))!, /corrupt\.safetensors is not a model file this page can read: .+/);
    assert.equal(await page.textContent('#progress'), stopped, 'a refused upload changes nothing');
    const series = saveModel(new SequenceModel({ rnn: { kind: 'gru', inputSize: 1, hiddenSize: 4 }, head: { outFeatures: 1 } }), { task: 'series' });
    await page.setInputFiles('#upload', { name: 'forecast.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(series) });
    await page.waitForFunction(`document.getElementById('error').textContent.includes('forecast.safetensors')`, null, { timeout: 10000 });
    assert.match((await page.textContent('#error'))!, /forecast\.safetensors holds a 'series' model; the Text task takes a character model/);
    assert.equal(await page.textContent('#progress'), stopped);

    // a model trained with the CLI loads, and samples come from it
    const dir = mkdtempSync(join(tmpdir(), 'recurrent-web-model-'));
    try {
      writeFileSync(join(dir, 'text.txt'), 'abcabcabd '.repeat(200));
      const cli = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), 'train', 'text', '--data', join(dir, 'text.txt'), '--steps', '3', '--hidden', '8', '--seq-len', '8', '--out', join(dir, 'cli.safetensors')], { encoding: 'utf8' });
      assert.equal(cli.status, 0, cli.stderr);
      await page.setInputFiles('#upload', { name: 'cli.safetensors', mimeType: 'application/octet-stream', buffer: readFileSync(join(dir, 'cli.safetensors')) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await page.waitForFunction(`document.getElementById('progress').textContent.startsWith('Loaded cli.safetensors')`, null, { timeout: 10000 });
    assert.equal(await page.textContent('#error'), '');
    await page.click('#generate');
    await page.waitForFunction(`document.getElementById('samples').textContent.startsWith('step 0:')`, null, { timeout: 10000 });
    const fromCli = (await page.textContent('#samples'))!.split('\n').slice(1).join('\n');
    assert.match(fromCli, /^[abcd \n]+$/, `samples from the uploaded model use its characters: ${JSON.stringify(fromCli)}`);

    // forecasting: Seattle's temperature, a short training, the forecast over the actuals at two horizons
    await page.evaluate(`(() => { const f = document.getElementById('forecast-form'); f.series.value = 'seattle'; f.series.dispatchEvent(new Event('change')); f.steps.value = '${steps(150, 600)}'; })()`);
    await page.click('#forecast-train');
    await page.waitForFunction(`document.getElementById('backtest').textContent.startsWith('Backtest, 7 steps ahead')`, null, { timeout: 600000 });
    const backtest = (await page.textContent('#backtest'))!;
    const rmseOf = (what: string): number => Number(new RegExp(`${what} (\\d+\\.\\d+)`).exec(backtest)?.[1]);
    assert.ok(rmseOf('RMSE') > 0 && rmseOf('seasonal naive') > 0 && rmseOf('naive') > 0, backtest);
    assert.ok(await page.evaluate<boolean>(`!!document.querySelector('#forecast-chart canvas')`), 'the forecast is drawn');
    await page.evaluate(`document.querySelector('#horizon-form input[name=horizon]').value = '14'`);
    await page.click('#forecast-horizon');
    await page.waitForFunction(`document.getElementById('backtest').textContent.startsWith('Backtest, 14 steps ahead')`, null, { timeout: 20000 });
    await shoot(page, 'forecast-title', 'forecast-chart');
    // a forecaster trained with the CLI forecasts the page's series; a text model is refused
    const seriesDir = mkdtempSync(join(tmpdir(), 'recurrent-web-series-'));
    try {
      const seattle = JSON.parse(readFileSync(join(ROOT, 'web', 'public', 'data', 'seattle.json'), 'utf8')) as { values: number[] };
      writeFileSync(join(seriesDir, 'seattle.csv'), `temp_max\n${seattle.values.join('\n')}\n`);
      const cli = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), 'train', 'series', '--data', join(seriesDir, 'seattle.csv'), '--column', 'temp_max', '--window', '30', '--season', '365',
        '--horizon', '5', '--test', '120', '--no-difference', '--hidden', '16', '--steps', '150', '--out', join(seriesDir, 'cli.safetensors')], { encoding: 'utf8' });
      assert.equal(cli.status, 0, cli.stderr);
      await page.setInputFiles('#forecast-upload', { name: 'cli.safetensors', mimeType: 'application/octet-stream', buffer: readFileSync(join(seriesDir, 'cli.safetensors')) });
    } finally {
      rmSync(seriesDir, { recursive: true, force: true });
    }
    await page.waitForFunction(`document.getElementById('backtest').textContent.startsWith('Backtest, 5 steps ahead')`, null, { timeout: 20000 });
    const textModel = saveModel(new SequenceModel({ embedding: { numEmbeddings: 4, embeddingDim: 2 }, rnn: { kind: 'gru', inputSize: 2, hiddenSize: 3 }, head: { outFeatures: 4 } }), { task: 'text' });
    await page.setInputFiles('#forecast-upload', { name: 'text.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(textModel) });
    await page.waitForFunction(`document.getElementById('error').textContent.includes('text.safetensors')`, null, { timeout: 10000 });
    assert.match((await page.textContent('#error'))!, /text\.safetensors holds a 'text' model; forecasting takes a series model/);
    assert.match((await page.textContent('#backtest'))!, /^Backtest, 5 steps ahead/, 'a refused upload changes nothing');

    // pronunciation: a short training, a word's phonemes and attention, a word with a digit refused
    await page.evaluate(`document.querySelector('#g2p-form input[name=steps]').value = '${steps(120, 1500)}'`);
    await page.click('#g2p-train');
    await page.waitForFunction(`document.getElementById('g2p-note').textContent.startsWith('Trained on')`, null, { timeout: 600000 });
    await page.evaluate(`document.querySelector('#pronounce-form input[name=word]').value = 'whale'`);
    await page.click('#pronounce');
    await page.waitForFunction(`document.getElementById('phonemes').textContent.startsWith('whale: /')`, null, { timeout: 20000 });
    assert.match((await page.textContent('#phonemes'))!, /^whale: \/[A-Z]+( [A-Z]+)*\/$/);
    await page.waitForFunction(`!!document.querySelector('#attention-chart canvas')`, null, { timeout: 10000 });
    await shoot(page, 'g2p-title', 'attention-chart');
    await page.evaluate(`document.querySelector('#pronounce-form input[name=word]').value = 'r2d2'`);
    await page.click('#pronounce');
    await page.waitForFunction(`document.getElementById('error').textContent.length > 0`, null, { timeout: 10000 });
    assert.match((await page.textContent('#error'))!, /characters outside the vocabulary: "2"/);

    // digit strings: a short training (the score comes with it), a held-out line and a drawn one read
    await page.evaluate(`document.querySelector('#digits-form input[name=steps]').value = '${steps(40, 1500)}'`);
    await page.click('#digits-train');
    await page.waitForFunction(`document.getElementById('digits-note').textContent.startsWith('On 200 lines')`, null, { timeout: 600000 });
    assert.match((await page.textContent('#digits-note'))!, /label error rate \d+\.\d\d%, line accuracy \d+\.\d%/);
    await page.click('#test-line');
    await page.waitForFunction(`document.getElementById('digits-read').textContent.startsWith('Read: ')`, null, { timeout: 20000 });
    assert.match((await page.textContent('#digits-read'))!, /^Read: (\d+|\(nothing\)) \(the line holds \d{3,8}\)$/);
    await shoot(page, 'digits-title', 'digits-read');
    // a line of chosen digits, from the keyboard
    await page.evaluate(`document.getElementById('line-digits').value = '2026'`);
    await page.evaluate(`document.getElementById('digits-read').textContent = ''`);
    await page.click('#test-line');
    await page.waitForFunction(`document.getElementById('digits-read').textContent.startsWith('Read: ')`, null, { timeout: 20000 });
    assert.match((await page.textContent('#digits-read'))!, /\(the line holds 2026\)$/);
    await page.click('#clear');
    const pad = await page.evaluate<{ x: number; y: number }>(`(() => { const r = document.getElementById('pad').getBoundingClientRect(); return { x: r.left, y: r.top }; })()`);
    await page.mouse.move(pad.x + 40, pad.y + 20);
    await page.mouse.down();
    await page.mouse.move(pad.x + 40, pad.y + 95, { steps: 5 });
    await page.mouse.up();
    await page.click('#read');
    await page.waitForFunction(`/^Read: (\\d+|\\(nothing\\))$/.test(document.getElementById('digits-read').textContent)`, null, { timeout: 20000 });

    // why gates: the three cells on the adding problem, side by side
    await page.evaluate(`(() => { const f = document.getElementById('adding-form'); f.length.value = '${steps(20, 50)}'; f.steps.value = '${steps(300, 2000)}'; f.hidden.value = '${steps(16, 32)}'; })()`);
    await page.click('#adding');
    await page.waitForFunction(`document.getElementById('adding-note').textContent.startsWith('Done')`, null, { timeout: 600000 });
    const adding = (await page.textContent('#adding-note'))!;
    for (const kind of ['RNN', 'LSTM', 'GRU']) assert.match(adding, new RegExp(`${kind} 0\\.\\d{4}`), adding);
    assert.ok(await page.evaluate<boolean>(`!!document.querySelector('#adding-chart canvas')`), 'the adding chart is drawn');
    await shoot(page, 'gates-title', 'adding-chart');

    // the benchmark button times lstm-lm in the tab
    await page.click('#benchmark');
    await page.waitForFunction(`document.getElementById('benchmark-result').textContent.startsWith('lstm-lm:')`, null, { timeout: 60000 });
    const bench = (await page.textContent('#benchmark-result'))!;
    assert.match(bench, /^lstm-lm: [\d,]+ tokens\/s \(\d+ steps of [\d.]+ ms\)\.$/);
    t.diagnostic(`in Chromium: ${bench} ${backend}`);

    const long = await page.evaluate<{ start: number; duration: number }[]>('window.longTasks');
    const during = long.filter((t) => t.start >= trainingFrom && t.start <= trainingTo);
    assert.ok(during.every((t) => t.duration <= 100), `the page's thread blocked while training: ${JSON.stringify(during)}`);
    // and drawing what the page shows afterwards stays short too
    const after = long.filter((t) => t.start > trainingTo);
    assert.ok(after.every((t) => t.duration <= 200), `the page's thread blocked drawing: ${JSON.stringify(after)}`);
    assert.deepEqual(errors, []);
  });

  it('without cross-origin isolation runs on one thread and says so; fits a phone screen', async () => {
    // the build served by a plain static server: no COOP/COEP headers
    const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.txt': 'text/plain' };
    const server = createServer((req, res) => {
      const path = normalize(join(outDir, decodeURIComponent((req.url ?? '/').split('?')[0]!).replace(/\/$/, '/index.html')));
      if (!path.startsWith(outDir) || !existsSync(path) || !statSync(path).isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(path));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const page = await browser!.newPage({ viewport: { width: 375, height: 800 } });
      const errors: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await page.waitForFunction(`!document.getElementById('backend').textContent.startsWith('Loading')`, null, { timeout: 30000 });
      assert.match((await page.textContent('#backend'))!, /one thread\. This page is not cross-origin isolated, so it runs on one thread\./);
      assert.ok(await page.evaluate<boolean>('document.documentElement.scrollWidth <= innerWidth'), 'no sideways scrolling at 375 pixels');
      await page.click('#start');
      await page.waitForFunction(`/Step \\d+/.test(document.getElementById('progress').textContent)`, null, { timeout: 30000 });
      await page.click('#stop');
      await page.waitForFunction(`document.body.dataset.state === 'stopped'`, null, { timeout: 10000 });
      assert.deepEqual(errors, []);
    } finally {
      server.close();
    }
  });
});
