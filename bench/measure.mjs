// Times a workload (bench/workloads.mjs's time()) and adds the process's peak memory (maxRSS).
import { time } from './workloads.mjs';

export function measure(w, seconds) {
  return { ...time(w, seconds), peakMB: Math.round(process.resourceUsage().maxRSS / 1024) };
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
