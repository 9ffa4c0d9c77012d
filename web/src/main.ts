// The playground's page: forms, charts and text. Training and sampling run in the trainer worker
// (trainer.ts); charts are the library's own specifications (lineChartSpec), drawn by Vega.
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { lineChartSpec, heatmapSpec, LINE_DATA, type HeatCell } from 'recurrent';
import type { FromPage, ToPage, TextConfig, SampleRequest, TaskName } from './protocol';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const textForm = $<HTMLFormElement>('text-form');
const sampleForm = $<HTMLFormElement>('sample-form');
const buttons = {
  start: $<HTMLButtonElement>('start'), pause: $<HTMLButtonElement>('pause'), resume: $<HTMLButtonElement>('resume'),
  stop: $<HTMLButtonElement>('stop'), save: $<HTMLButtonElement>('save'), generate: $<HTMLButtonElement>('generate'),
  look: $<HTMLButtonElement>('look'), compare: $<HTMLButtonElement>('compare'), benchmark: $<HTMLButtonElement>('benchmark'), adding: $<HTMLButtonElement>('adding'),
  digitsTrain: $<HTMLButtonElement>('digits-train'), read: $<HTMLButtonElement>('read'), testLine: $<HTMLButtonElement>('test-line'),
  g2pTrain: $<HTMLButtonElement>('g2p-train'), pronounce: $<HTMLButtonElement>('pronounce'),
  forecastTrain: $<HTMLButtonElement>('forecast-train'), forecastSave: $<HTMLButtonElement>('forecast-save'), forecastHorizon: $<HTMLButtonElement>('forecast-horizon'),
};
const progress = $('progress');
const errorBox = $('error');
const samples = $('samples');

const worker = new Worker(new URL('./trainer.ts', import.meta.url), { type: 'module' });
const send = (m: FromPage): void => worker.postMessage(m);

/** A live line chart: the library's specification, points added as they come. */
class LiveChart {
  private view: vega.View | null = null;
  private pending: { series: string; x: number; y: number }[] = [];
  private drawing = false;

  constructor(private readonly el: HTMLElement, private readonly title: string, private readonly xTitle: string, private readonly yTitle: string, private readonly logY = false) {}

  /** Creates the view (compiling the specification takes tens of milliseconds: done once, when the page is idle). */
  async create(): Promise<void> {
    if (this.view) return;
    const width = Math.max(240, Math.min(860, this.el.clientWidth - 120));
    // resized as the data come: the legend's entries appear only then
    const spec = { ...lineChartSpec([], { title: this.title, xTitle: this.xTitle, yTitle: this.yTitle, width, height: 240, logY: this.logY }), autosize: { type: 'pad', resize: true } };
    this.view = new vega.View(vega.parse(compile(spec as never).spec), { renderer: 'canvas', container: this.el, hover: false });
    await this.view.runAsync();
  }

  /** Empties the chart for a new run. */
  async reset(): Promise<void> {
    await this.create();
    this.pending = [];
    await this.view!.change(LINE_DATA, vega.changeset().remove(() => true)).runAsync();
  }

  add(series: string, x: number, y: number): void {
    this.pending.push({ series, x, y });
    if (!this.drawing) requestAnimationFrame(() => void this.flush());
    this.drawing = true;
  }

  private async flush(): Promise<void> {
    const points = this.pending;
    this.pending = [];
    if (this.view && points.length) await this.view.change(LINE_DATA, vega.changeset().insert(points)).runAsync();
    this.drawing = false;
  }
}
/** Draws a Vega-Lite specification into an element, replacing what was there. */
const views = new Map<HTMLElement, vega.View>();
async function draw(el: HTMLElement, spec: Record<string, unknown>): Promise<void> {
  views.get(el)?.finalize();
  el.replaceChildren();
  // canvas: a heatmap's thousands of cells draw several times faster than as SVG elements
  const view = new vega.View(vega.parse(compile(spec as never).spec), { renderer: 'canvas', container: el, hover: false });
  views.set(el, view);
  await view.runAsync();
}

const lossChart = new LiveChart($('loss-chart'), 'Loss', 'step', 'loss (nats per character)');
const forecastLoss = new LiveChart($('forecast-loss'), 'Forecaster: training loss', 'step', 'MSE (scaled units, log scale)', true);
const g2pLoss = new LiveChart($('g2p-loss'), 'Pronunciation model: training loss', 'step', 'cross-entropy (log scale)', true);
const digitsLoss = new LiveChart($('digits-loss'), 'Digit reader: CTC loss', 'step', 'loss (log scale)', true);
/** Where each task's training progress goes: its loss chart and its note. */
const progressOf: Record<TaskName, { chart: LiveChart; note: string }> = {
  forecast: { chart: forecastLoss, note: 'forecast-note' }, g2p: { chart: g2pLoss, note: 'g2p-note' }, digits: { chart: digitsLoss, note: 'digits-note' },
};
const addingChart = new LiveChart($('adding-chart'), 'The adding problem: training MSE', 'step', 'MSE (log scale)', true);

function setState(s: 'idle' | 'running' | 'paused' | 'stopped'): void {
  const active = s === 'running' || s === 'paused';
  buttons.start.disabled = active;
  buttons.pause.disabled = s !== 'running';
  buttons.resume.disabled = s !== 'paused';
  buttons.stop.disabled = !active;
  for (const el of textForm.querySelectorAll('fieldset')) el.disabled = active;
  document.body.dataset['state'] = s;
}

function showError(message: string): void {
  errorBox.textContent = message;
}

function readSample(): SampleRequest {
  const f = new FormData(sampleForm);
  return { prompt: String(f.get('prompt')), temperature: Number(f.get('temperature')), topK: Number(f.get('topK')), length: Number(f.get('length')) };
}

function readConfig(): TextConfig {
  const f = new FormData(textForm);
  const num = (k: string): number => Number(f.get(k));
  return { kind: f.get('kind') as TextConfig['kind'], layers: num('layers'), hidden: num('hidden'), seqLen: num('seqLen'), batch: num('batch'), lr: num('lr'), clip: num('clip'), seed: 1 };
}

let lastStep = 0;
worker.onmessage = (e: MessageEvent<ToPage>) => {
  const m = e.data;
  switch (m.type) {
    case 'backend': {
      const threads = m.threads > 1 ? `${m.threads} threads` : 'one thread';
      $('backend').textContent = `Backend: ${m.name}${m.wasm ? ` (${m.wasm} SIMD)` : ''}, ${threads}.${m.isolated ? '' : ' This page is not cross-origin isolated, so it runs on one thread.'}`;
      break;
    }
    case 'started':
      progress.textContent = `Started: ${m.characters.toLocaleString()} characters, ${m.vocab} distinct, ${m.parameters.toLocaleString()} parameters.`;
      buttons.generate.disabled = false;
      buttons.save.disabled = false;
      buttons.look.disabled = false;
      break;
    case 'state':
      setState(m.state);
      if (m.state === 'stopped') progress.textContent = `Stopped at step ${lastStep}.`;
      break;
    case 'progress':
      lastStep = m.step;
      progress.textContent = `Step ${m.step}, loss ${m.loss.toFixed(3)}, ${Math.round(m.tokensPerSecond).toLocaleString()} characters/s, ${m.seconds.toFixed(0)} s of training.`;
      lossChart.add('training', m.step, m.loss);
      break;
    case 'validation':
      lossChart.add('validation', m.step, m.loss);
      break;
    case 'sample':
      samples.textContent = `step ${m.step}:\n${m.text}`;
      break;
    case 'loaded':
      showError('');
      progress.textContent = `Loaded ${m.name}: ${m.kind.toUpperCase()}, ${m.vocab} characters, ${m.parameters.toLocaleString()} parameters. Generate from it below.`;
      buttons.generate.disabled = false;
      buttons.save.disabled = false;
      buttons.look.disabled = false;
      break;
    case 'inside':
      void showInside(m);
      break;
    case 'benchmark':
      buttons.benchmark.disabled = false;
      $('benchmark-result').textContent = `${m.workload}: ${m.value.toLocaleString()} ${m.unit} (${m.steps} steps of ${m.stepMs} ms).`;
      break;
    case 'addingProgress':
      for (const [kind, loss] of Object.entries(m.losses)) addingChart.add(kind, m.step, loss);
      $('adding-note').textContent = `Step ${m.step}: ${Object.entries(m.losses).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}.`;
      break;
    case 'addingDone':
      buttons.adding.disabled = false;
      $('adding-note').textContent = `Done in ${m.seconds.toFixed(0)} s. MSE on 1,000 new sequences: ${Object.entries(m.testMse).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')} (answering the mean: 0.1667).`;
      break;
    case 'progressOf': {
      const { chart, note } = progressOf[m.task];
      chart.add('training', m.step, m.loss);
      $(note).textContent = `Step ${m.step} of ${m.steps}, loss ${m.loss.toFixed(4)}.`;
      break;
    }
    case 'forecast':
      buttons.forecastTrain.disabled = false;
      buttons.forecastHorizon.disabled = false;
      buttons.forecastSave.disabled = false;
      $('backtest').textContent = `Backtest, ${m.horizon} steps ahead from ${m.origins} origins in the held-out part: RMSE ${m.rmse.toFixed(3)}, seasonal naive ${m.seasonalRmse.toFixed(3)}, naive ${m.naiveRmse.toFixed(3)}. The chart: the forecast from ${m.dates[0]} to ${m.dates[1]}.`;
      void draw($('forecast-chart'), lineChartSpec(m.points, { title: `${m.title}: ${m.horizon} steps ahead`, xTitle: 'index', yTitle: m.title, height: 260 }));
      break;
    case 'g2pReady':
      buttons.g2pTrain.disabled = false;
      buttons.pronounce.disabled = false;
      $('g2p-note').textContent = `${m.source === 'trained here' ? `Trained on ${m.words.toLocaleString()} words` : `Loaded ${m.source}`}: ${m.parameters.toLocaleString()} parameters. Type a word below.`;
      break;
    case 'pronounced':
      $('phonemes').textContent = `${m.word}: /${m.phonemes.join(' ')}/`;
      void draw($('attention-chart'), heatmapSpec(m.cells, { title: 'Attention: each phoneme (down) over the letters (across)', xTitle: 'letter', yTitle: 'phoneme', columns: 1, cell: 22 }));
      break;
    case 'digitsReady':
      buttons.digitsTrain.disabled = false;
      buttons.read.disabled = false;
      buttons.testLine.disabled = false;
      $('digits-note').textContent = `On ${m.lines} lines of held-out digits: label error rate ${(100 * m.labelErrorRate).toFixed(2)}%, line accuracy ${(100 * m.lineAccuracy).toFixed(1)}%.`;
      break;
    case 'testLine':
      pad.show(m.cols, m.width);
      lineTruth = m.truth;
      send({ type: 'readDigits', cols: m.cols, width: m.width });
      break;
    case 'digitsRead':
      $('digits-read').textContent = `Read: ${m.digits || '(nothing)'}${lineTruth !== null ? ` (the line holds ${lineTruth})` : ''}`;
      break;
    case 'compareProgress':
      $('compare-note').textContent = `Training the ${m.kind.toUpperCase()}: step ${m.step} of ${m.steps}.`;
      break;
    case 'gradnorms':
      void showGradNorms(m);
      break;
    case 'model': {
      const url = URL.createObjectURL(new Blob([m.bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = m.name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
      break;
    }
    case 'error':
      buttons.digitsTrain.disabled = false;
      buttons.g2pTrain.disabled = false;
      buttons.forecastTrain.disabled = false;
      buttons.compare.disabled = false;
      buttons.adding.disabled = false;
      buttons.benchmark.disabled = false;
      showError(m.message);
      break;
  }
};
worker.onerror = (e) => showError(`the trainer failed: ${e.message}`);

textForm.addEventListener('submit', (e) => {
  e.preventDefault();
  if (!textForm.reportValidity()) return;
  showError('');
  const corpus = String(new FormData(textForm).get('corpus'));
  void lossChart.reset().then(() => send({ type: 'start', corpus, url: new URL(`data/${corpus}.txt`, document.baseURI).href, config: readConfig(), sample: readSample() }));
});
buttons.pause.addEventListener('click', () => send({ type: 'pause' }));
buttons.resume.addEventListener('click', () => send({ type: 'resume' }));
buttons.stop.addEventListener('click', () => send({ type: 'stop' }));
buttons.save.addEventListener('click', () => send({ type: 'save' }));
/** A file input whose chosen file goes to the worker as `message(name, bytes)`; the input is emptied so the same file can be chosen again. */
function onUpload(id: string, message: (name: string, bytes: Uint8Array) => FromPage): void {
  const input = $<HTMLInputElement>(id);
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (!file) return;
    void file.arrayBuffer().then((b) => {
      input.value = '';
      showError('');
      send(message(file.name, new Uint8Array(b)));
    });
  });
}
onUpload('upload', (name, bytes) => ({ type: 'load', name, bytes }));
sampleForm.addEventListener('input', () => {
  const f = sampleForm.elements;
  (f.namedItem('temperatureOut') as HTMLOutputElement).value = (f.namedItem('temperature') as HTMLInputElement).value;
  if (sampleForm.checkValidity()) send({ type: 'settings', sample: readSample() });
});
sampleForm.addEventListener('submit', (e) => {
  e.preventDefault();
  if (!sampleForm.reportValidity()) return;
  send({ type: 'sample', request: readSample() });
});

/** The heatmaps (signed values on a red-blue scale, the sigmoid gates on blues) and the saliency of each character. */
async function showInside(m: Extract<ToPage, { type: 'inside' }>): Promise<void> {
  const panels = [...new Set(m.cells.map((c) => c.panel))];
  const signed = panels.filter((p) => m.cells.some((c) => c.panel === p && c.value < 0) || p === 'h');
  const common = { xTitle: 'character', yTitle: 'unit', columns: 2, cell: 9 };
  const pick = (ps: string[]): HeatCell[] => m.cells.filter((c) => ps.includes(c.panel));
  // columns are "NN c" (unique, in order): the axis shows the character alone, upright
  const charAxis = (spec: Record<string, unknown>): Record<string, unknown> => {
    for (const panel of spec['concat'] as { encoding: { x: Record<string, unknown> } }[]) panel.encoding.x['axis'] = { labelExpr: 'substring(datum.value, 3)', labelAngle: 0 };
    return spec;
  };
  await draw($('state-chart'), charAxis(heatmapSpec(pick(signed), { ...common, title: `${m.kind.toUpperCase()}, first layer: ${signed.join(', ')} (first units)`, domain: [-1, 1], scheme: 'redblue', legend: 'value' })));
  const gates = panels.filter((p) => !signed.includes(p));
  if (gates.length) await draw($('gate-chart'), charAxis(heatmapSpec(pick(gates), { ...common, title: `Gates ${gates.join(', ')}: 0 closed, 1 open`, legend: 'activation' })));
  else $('gate-chart').replaceChildren();
  const top = Math.max(...m.saliency, 1e-30);
  const line = $('saliency');
  line.replaceChildren(...m.chars.map((c, t) => {
    const span = document.createElement('span');
    span.textContent = c;
    const share = m.saliency[t]! / top;
    span.style.background = `rgba(26, 115, 232, ${share.toFixed(3)})`;
    span.style.color = share > 0.6 ? '#fff' : 'inherit';
    span.title = `${JSON.stringify(c)}: gradient norm ${m.saliency[t]!.toExponential(2)}`;
    return span;
  }));
  $('inside-note').textContent = `The model expects ${JSON.stringify(m.predicted)} next. The shading shows how much each character moves that prediction (the norm of the gradient of its loss with respect to the character's embedding).`;
}

/** The three kinds' gradient norms on a log scale, and how far each falls, in words. */
async function showGradNorms(m: Extract<ToPage, { type: 'gradnorms' }>): Promise<void> {
  buttons.compare.disabled = false;
  await draw($('gradnorm-chart'), lineChartSpec(m.points, { title: `||dL/dh_t|| on "${m.text}"`, xTitle: 'character position t', yTitle: 'gradient norm', logY: true, height: 260 }));
  const falls = ['RNN', 'LSTM', 'GRU'].map((kind) => {
    const ys = m.points.filter((p) => p.series === kind);
    const ratio = ys[0]!.y / ys[ys.length - 1]!.y;
    return `${kind} ${ratio.toExponential(1)}`;
  });
  $('compare-note').textContent = `From the last character back to the first, the gradient norm is multiplied by: ${falls.join(', ')}.`;
}

$<HTMLFormElement>('inside-form').addEventListener('submit', (e) => {
  e.preventDefault();
  showError('');
  send({ type: 'inside', text: String(new FormData(e.target as HTMLFormElement).get('text')) });
});
$<HTMLFormElement>('compare-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = e.target as HTMLFormElement;
  if (!form.reportValidity()) return;
  showError('');
  buttons.compare.disabled = true;
  const text = String(new FormData($<HTMLFormElement>('inside-form')).get('text'));
  const corpus = String(new FormData(textForm).get('corpus'));
  send({ type: 'compare', text, url: new URL(`data/${corpus}.txt`, document.baseURI).href, steps: Number(new FormData(form).get('steps')) });
});

/**
 * The drawing pad: white strokes on black, as MNIST's digits are, four screen pixels to one of
 * the model's; read as columns of 28 pixels, the blank columns at either end trimmed.
 */
class Pad {
  private readonly ctx: CanvasRenderingContext2D;
  private drawing = false;

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    this.clear();
    canvas.addEventListener('pointerdown', (e) => {
      this.drawing = true;
      lineTruth = null;
      canvas.setPointerCapture(e.pointerId);
      this.ctx.beginPath();
      this.ctx.moveTo(...this.at(e));
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!this.drawing) return;
      this.ctx.lineTo(...this.at(e));
      this.ctx.stroke();
    });
    canvas.addEventListener('pointerup', () => (this.drawing = false));
  }

  private at(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * this.canvas.width) / r.width, ((e.clientY - r.top) * this.canvas.height) / r.height];
  }

  clear(): void {
    const c = this.ctx;
    c.fillStyle = '#000';
    c.fillRect(0, 0, this.canvas.width, this.canvas.height);
    c.strokeStyle = '#fff';
    c.lineWidth = 11;
    c.lineCap = 'round';
    c.lineJoin = 'round';
  }

  /** Columns (width, 28): each 4 x 4 block of the canvas averaged, blank columns at the ends trimmed to 2. */
  columns(): { cols: Float32Array; width: number } {
    const W = this.canvas.width / 4;
    const img = this.ctx.getImageData(0, 0, this.canvas.width, this.canvas.height).data;
    const all = new Float32Array(W * 28);
    for (let x = 0; x < W; x++) {
      for (let y = 0; y < 28; y++) {
        let sum = 0;
        for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) sum += img[((y * 4 + dy) * this.canvas.width + x * 4 + dx) * 4]!;
        all[x * 28 + y] = sum / (16 * 255);
      }
    }
    const inked = (x: number): boolean => all.subarray(x * 28, x * 28 + 28).some((v) => v > 0.1);
    let first = 0, last = W - 1;
    while (first < W && !inked(first)) first++;
    while (last > first && !inked(last)) last--;
    const a = Math.max(0, first - 2), b = Math.min(W - 1, last + 2);
    return { cols: all.slice(a * 28, (b + 1) * 28), width: b - a + 1 };
  }

  /** Draws columns (width, 28) onto the pad, scaled up. */
  show(cols: Float32Array, width: number): void {
    this.clear();
    const img = this.ctx.createImageData(this.canvas.width, this.canvas.height);
    for (let x = 0; x < Math.min(width, this.canvas.width / 4); x++) {
      for (let y = 0; y < 28; y++) {
        const v = Math.round(cols[x * 28 + y]! * 255);
        for (let dy = 0; dy < 4; dy++) {
          for (let dx = 0; dx < 4; dx++) {
            const o = ((y * 4 + dy) * this.canvas.width + x * 4 + dx) * 4;
            img.data[o] = img.data[o + 1] = img.data[o + 2] = v;
            img.data[o + 3] = 255;
          }
        }
      }
    }
    this.ctx.putImageData(img, 0, 0);
  }
}
let lineTruth: string | null = null;
const pad = new Pad($<HTMLCanvasElement>('pad'));
/**
 * A task's training form (pronunciation, digits): checked, its button disabled and its loss chart
 * cleared, then the worker trains for the form's steps on the data file.
 */
function onTrainForm(formId: string, button: HTMLButtonElement, chart: LiveChart, type: 'digitsTrain' | 'g2pTrain', data: string): void {
  $<HTMLFormElement>(formId).addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    if (!form.reportValidity()) return;
    showError('');
    button.disabled = true;
    const steps = Number(new FormData(form).get('steps'));
    void chart.reset().then(() => send({ type, url: new URL(data, document.baseURI).href, steps }));
  });
}
onTrainForm('digits-form', buttons.digitsTrain, digitsLoss, 'digitsTrain', 'data/digits.bin');
buttons.read.addEventListener('click', () => {
  showError('');
  const { cols, width } = pad.columns();
  if (width < 4) {
    showError('write some digits in the box first');
    return;
  }
  send({ type: 'readDigits', cols, width });
});
$('clear').addEventListener('click', () => {
  pad.clear();
  lineTruth = null;
  $('digits-read').textContent = '';
});
buttons.testLine.addEventListener('click', () => {
  showError('');
  const digits = $<HTMLInputElement>('line-digits');
  if (!digits.reportValidity()) return;
  send({ type: 'testLine', digits: digits.value });
});
onTrainForm('g2p-form', buttons.g2pTrain, g2pLoss, 'g2pTrain', 'data/cmudict.tsv');
onUpload('g2p-upload', (name, bytes) => ({ type: 'g2pLoad', name, bytes }));
$<HTMLFormElement>('pronounce-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = e.target as HTMLFormElement;
  if (!form.reportValidity()) return;
  showError('');
  send({ type: 'pronounce', word: String(new FormData(form).get('word')) });
});
const forecastForm = $<HTMLFormElement>('forecast-form');
(forecastForm.elements.namedItem('series') as HTMLSelectElement).addEventListener('change', () => {
  const option = (forecastForm.elements.namedItem('series') as HTMLSelectElement).selectedOptions[0]!;
  (forecastForm.elements.namedItem('steps') as HTMLInputElement).value = option.dataset['steps']!;
  ($<HTMLFormElement>('horizon-form').elements.namedItem('horizon') as HTMLInputElement).value = option.dataset['horizon']!;
});
forecastForm.addEventListener('submit', (e) => {
  e.preventDefault();
  if (!forecastForm.reportValidity()) return;
  showError('');
  buttons.forecastTrain.disabled = true;
  buttons.forecastHorizon.disabled = true;
  const f = new FormData(forecastForm);
  const url = new URL(`data/${String(f.get('series'))}.json`, document.baseURI).href;
  void forecastLoss.reset().then(() => send({ type: 'forecastTrain', url, steps: Number(f.get('steps')), hidden: Number(f.get('hidden')) }));
});
buttons.forecastSave.addEventListener('click', () => send({ type: 'saveForecaster' }));
onUpload('forecast-upload', (name, bytes) => {
  const series = String(new FormData(forecastForm).get('series'));
  return { type: 'loadForecaster', name, bytes, url: new URL(`data/${series}.json`, document.baseURI).href };
});
$<HTMLFormElement>('horizon-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = e.target as HTMLFormElement;
  if (!form.reportValidity()) return;
  showError('');
  send({ type: 'forecastHorizon', horizon: Number(new FormData(form).get('horizon')) });
});
$<HTMLFormElement>('adding-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = e.target as HTMLFormElement;
  if (!form.reportValidity()) return;
  showError('');
  buttons.adding.disabled = true;
  const f = new FormData(form);
  void addingChart.reset().then(() => send({ type: 'adding', length: Number(f.get('length')), steps: Number(f.get('steps')), hidden: Number(f.get('hidden')) }));
});
buttons.benchmark.addEventListener('click', () => {
  showError('');
  buttons.benchmark.disabled = true;
  $('benchmark-result').textContent = 'Running for 5 seconds...';
  send({ type: 'benchmark', seconds: 5 });
});

setState('idle');
send({ type: 'init' });
// the live charts' views, one at a time while the page is idle
const idle = (f: () => Promise<void>): void => void ('requestIdleCallback' in window ? new Promise((r) => requestIdleCallback(r)) : new Promise((r) => setTimeout(r, 50))).then(f);
const charts = [lossChart, forecastLoss, g2pLoss, digitsLoss, addingChart];
let created = 0;
for (const chart of charts) {
  idle(() => chart.create().then(() => {
    if (++created === charts.length) document.body.dataset['charts'] = 'ready';
  }));
}
