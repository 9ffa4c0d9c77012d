// Times a workload: warm-up steps, then as many steps as fit in `seconds` (at least 3).
// Throughput is work per second of the whole timed run; peak memory is the process's maxRSS.
export function measure(w, seconds) {
  for (let i = 0; i < 2; i++) w.step();
  const t0 = performance.now();
  let steps = 0;
  while (steps < 3 || performance.now() - t0 < seconds * 1000) {
    w.step();
    steps++;
  }
  const s = (performance.now() - t0) / 1000;
  return { value: Math.round((steps * w.perStep) / s), unit: w.unit, steps, stepMs: +((s / steps) * 1000).toFixed(2), peakMB: Math.round(process.resourceUsage().maxRSS / 1024) };
}

/**
 * measure() for steps that may return promises (an ONNX Runtime InferenceSession's run, TensorFlow.js). Slow peers
 * (TensorFlow.js cpu: ~12 s a step of lstm-lm) get one warm-up step and no minimum count.
 */
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
