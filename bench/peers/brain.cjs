// brain.js on the workloads it can run: a character LSTM (batch 1) and LSTMTimeStep (batch 1).
//   node bench/peers/brain.cjs lstm-lm|lstm-ts [SECONDS]   -> one JSON line
const brain = require('brain.js');
const [name, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg ?? 5);
const rand = () => Math.random();
function run() {
  if (name === 'lstm-lm') {
    // one training pass over 64-character strings, hidden 256 (lstm-lm's size)
    const net = new brain.recurrent.LSTM({ hiddenLayers: [256] });
    const alphabet = 'abcdefghijklmnopqrstuvwxyz .,;ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    const str = () => Array.from({ length: 64 }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
    const data = Array.from({ length: 4 }, str);
    net.train(data, { iterations: 1 }); // builds the model
    let chars = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < seconds * 1000) {
      net.train(data, { iterations: 1, log: false });
      chars += data.length * 64;
    }
    return { value: Math.round(chars / ((Date.now() - t0) / 1000)), unit: 'tokens/s' };
  }
  if (name === 'lstm-ts') {
    const net = new brain.recurrent.LSTMTimeStep({ inputSize: 1, hiddenLayers: [32], outputSize: 1 });
    const data = Array.from({ length: 64 }, () => Array.from({ length: 25 }, rand));
    net.train(data, { iterations: 1 });
    let seqs = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < seconds * 1000) {
      net.train(data, { iterations: 1, log: false });
      seqs += data.length;
    }
    return { value: Math.round(seqs / ((Date.now() - t0) / 1000)), unit: 'sequences/s' };
  }
  return null;
}
const r = run();
if (r) console.log(JSON.stringify({ lib: 'brain.js', variant: 'brain.js 1.6.1 (batch 1)', workload: name, ...r, peakMB: Math.round(process.resourceUsage().maxRSS / 1024) }));
