// measure() for steps that may return promises (TensorFlow.js).
export async function measureAsync(w, seconds) {
  for (let i = 0; i < 2; i++) await w.step();
  const t0 = performance.now();
  let steps = 0;
  while (steps < 3 || performance.now() - t0 < seconds * 1000) {
    await w.step();
    steps++;
  }
  const s = (performance.now() - t0) / 1000;
  return { value: Math.round((steps * w.perStep) / s), unit: w.unit, steps, stepMs: +((s / steps) * 1000).toFixed(2), peakMB: Math.round(process.resourceUsage().maxRSS / 1024) };
}
