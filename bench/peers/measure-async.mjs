// measure() for steps that may return promises (TensorFlow.js).
// Slow peers (TensorFlow.js cpu: ~12 s a step of lstm-lm) get one warm-up step and no minimum count.
export async function measureAsync(w, seconds, slow = false) {
  for (let i = 0; i < (slow ? 1 : 2); i++) await w.step();
  const t0 = performance.now();
  let steps = 0;
  while (steps < (slow ? 1 : 3) || performance.now() - t0 < seconds * 1000) {
    await w.step();
    steps++;
  }
  const s = (performance.now() - t0) / 1000;
  return { value: Math.round((steps * w.perStep) / s), unit: w.unit, steps, stepMs: +((s / steps) * 1000).toFixed(2), peakMB: Math.round(process.resourceUsage().maxRSS / 1024) };
}
