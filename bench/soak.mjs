// A soak: long runs of small calls, watching the process's resident memory. lstm-ts training
// steps (BENCHMARKS.md's workload), then T=1 forwards of an LSTM(64, 256) with batch 1, with
// gradients on and off by turns, every result dropped at once, as a program's loop would. No
// forced garbage collection. Prints one JSON line: RSS (MB) once warmed up (after WARM, a
// fraction of each phase), its highest after that and its last, and the drift (highest over
// warmed-up) in percent. Run with --expose-gc, it also reports the JavaScript heap kept after a
// full collection at the end of the warm-up and at the end (heapGrowthMB): what a leak keeps.
//
//   node bench/soak.mjs [TRAIN_STEPS (20000)] [FORWARDS (100000)] [WARM (0.1)]
import { LSTM, Linear, Adam, mseLoss, randn, manualSeed, noGrad, setNumThreads, backendInfo } from '../dist/index.js';

const steps = Number(process.argv[2] ?? 20000);
const forwards = Number(process.argv[3] ?? 100000);
const warmShare = Number(process.argv[4] ?? 0.1);
if (!(Number.isInteger(steps) && steps >= 10 && Number.isInteger(forwards) && forwards >= 10 && warmShare > 0 && warmShare < 1)) {
  console.error(`soak.mjs: TRAIN_STEPS and FORWARDS must be integers of at least 10 and WARM in (0, 1), got '${process.argv.slice(2).join("', '")}'`);
  process.exit(2);
}
manualSeed(0);
// the pool's workers started before anything is measured: the pool otherwise starts them once a
// call is big enough and a core is seen free, at a moment that varies from run to run, and a
// worker adds its own memory once (10-15 MB), which is no leak but read as drift after the warm-up
setNumThreads(backendInfo().threads || 1);
const MB = 2 ** 20;
const rss = () => process.memoryUsage().rss / MB;

/** The JavaScript heap kept after a full collection (MB), where the process may collect. */
const kept = () => {
  if (!globalThis.gc) return NaN;
  globalThis.gc();
  return process.memoryUsage().heapUsed / MB;
};

/** Runs `n` calls of `call`, sampling RSS every n / 50 calls; returns the phase's figures. */
function phase(name, n, call) {
  const t0 = performance.now();
  let warm = 0;
  let peak = 0;
  let heapWarm = NaN;
  const every = Math.max(1, Math.floor(n / 50));
  for (let i = 1; i <= n; i++) {
    call(i);
    if (i % every === 0) {
      const r = rss();
      if (i <= n * warmShare) warm = r; // the last sample of the warm-up
      else peak = Math.max(peak, r);
    }
    if (i === Math.floor(n * warmShare)) heapWarm = kept();
  }
  const last = rss();
  const heapGrowth = kept() - heapWarm;
  return {
    phase: name, calls: n, seconds: +((performance.now() - t0) / 1000).toFixed(1), warmMB: +warm.toFixed(1), peakMB: +peak.toFixed(1), lastMB: +last.toFixed(1),
    driftPct: +((100 * (peak - warm)) / warm).toFixed(2), ...(Number.isNaN(heapGrowth) ? {} : { heapGrowthMB: +heapGrowth.toFixed(3) }),
  };
}

// lstm-ts: input (T=24, B=64, I=1) -> LSTM H=32 -> Linear(32, 1) on the last step -> MSE; Adam
const T = 24, B = 64;
const lstm = new LSTM({ inputSize: 1, hiddenSize: 32 });
const head = new Linear({ inFeatures: 32, outFeatures: 1 });
const opt = new Adam([...lstm.parameters(), ...head.parameters()], { lr: 1e-3 });
const x = randn([T, B, 1]);
const y = randn([B, 1]);
const train = phase('lstm-ts training steps', steps, () => {
  opt.zeroGrad();
  const [seq] = lstm.forward(x);
  const loss = mseLoss(head.forward(seq.slice(0, T - 1, T).reshape([B, 32])), y);
  loss.backward();
  opt.step();
});

// T=1 forwards, batch 1: with gradients on (a graph dropped unused) and off, by turns
const big = new LSTM({ inputSize: 64, hiddenSize: 256 });
const x1 = randn([1, 1, 64]);
const infer = phase('T=1 forwards of LSTM(64, 256)', forwards, (i) => {
  if (i % 2) big.forward(x1);
  else noGrad(() => big.forward(x1));
});

console.log(JSON.stringify({ train, infer }));
