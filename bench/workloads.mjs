// Workloads shared by the Node benchmarks (bench/ours.mjs) and the playground's benchmark button
// (web/src/trainer.ts), so that both time the very same steps. Each takes the library's module.

/**
 * BENCHMARKS.md's language-model workloads: embedded input (T, B, 64) -> recurrent layer(s) of
 * hidden size H -> Linear(H, 65) -> cross-entropy, Adam; training tokens a second.
 */
export function lm(R, kind, H, layers = 1, T = 64, B = 32) {
  const I = 64, V = 65;
  const Cls = { lstm: R.LSTM, gru: R.GRU, rnn: R.RNN, mingru: R.MinGRU, layernorm_lstm: R.LayerNormLSTM }[kind];
  const rnn = new Cls({ inputSize: I, hiddenSize: H, numLayers: layers });
  const head = new R.Linear({ inFeatures: H, outFeatures: V });
  const params = [...rnn.parameters(), ...head.parameters()];
  const opt = new R.Adam(params, { lr: 1e-3 });
  const x = R.randn([T, B, I]);
  const y = R.randint(0, V, [T * B]);
  return {
    unit: 'tokens/s', perStep: T * B, step() {
      opt.zeroGrad();
      const [seq] = rnn.forward(x);
      const loss = R.crossEntropy(head.forward(seq).reshape([T * B, V]), y);
      loss.backward();
      opt.step();
    },
  };
}

/** Times a workload: two warm-up steps, then as many steps as fit in `seconds` (at least 3). */
export function time(w, seconds) {
  for (let i = 0; i < 2; i++) w.step();
  const t0 = performance.now();
  let steps = 0;
  while (steps < 3 || performance.now() - t0 < seconds * 1000) {
    w.step();
    steps++;
  }
  const s = (performance.now() - t0) / 1000;
  return { value: Math.round((steps * w.perStep) / s), unit: w.unit, steps, stepMs: +((s / steps) * 1000).toFixed(2) };
}
