#!/usr/bin/env node
// One sequence kernel (forward, then BPTT) on the current backend: min and median of 10 timed
// calls after two warm-ups. DIST points at another build's dist/ to compare two builds.
//   node bench/sequence.mjs [lstm|gru|rnn_tanh] [H=256] [B=32] [T=64] [I=64]
const dist = process.env.DIST ?? new URL('../dist', import.meta.url).pathname;
const { getBackend } = await import(`${dist}/internal.js`);
const [kind = 'lstm', Hs = '256', Bs = '32', Ts = '64', Is = '64'] = process.argv.slice(2);
const [H, B, T, I] = [Hs, Bs, Ts, Is].map(Number);
const G = kind === 'lstm' ? 4 : kind === 'gru' ? 3 : 1;
const be = getBackend();
const r = (n) => Float32Array.from({ length: n }, () => Math.random() * 0.2 - 0.1);
const dims = { kind, T, B, I, H, P: 0 };
const w = { wih: r(G * H * I), whh: r(G * H * H), bih: r(G * H), bhh: r(G * H), whr: null };
const x = r(T * B * I), h0 = r(B * H), c0 = kind === 'lstm' ? r(B * H) : null, dOut = r(T * B * H);
const fwd = [], bwd = [];
for (let rep = 0; rep < 12; rep++) {
  let t = performance.now();
  const f = be.recurrentForward(dims, w, x, h0, c0, false, true);
  fwd.push(performance.now() - t);
  t = performance.now();
  be.recurrentBackward(dims, w, x, h0, c0, false, f, dOut, null, null);
  bwd.push(performance.now() - t);
  f.cache?.release?.();
}
const q = (a) => {
  a = a.slice(2).sort((p, s) => p - s);
  return `min ${a[0].toFixed(2)} med ${a[a.length >> 1].toFixed(2)} ms`;
};
console.log(`${kind} H${H} B${B} T${T} I${I} (${be.name}): forward ${q(fwd)} | backward ${q(bwd)}`);
