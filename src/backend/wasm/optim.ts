/** The wasm backend's optimizer kernel: Adam and AdamW's update in one pass over the four arrays. */
import type { FloatArray } from '../../tensor/dtype.js';
import type { AdamScalars, OptimizerKernels } from '../backend.js';
import { referenceBackend as ref } from '../reference/index.js';
import { f32, type WasmContext } from './context.js';

/** Parameters shorter than this take the reference Adam step (copying in and out costs more). */
const ADAM_MIN = 1024;

/** The optimizer extension of the wasm backend. */
export function optimizerKernels(ctx: WasmContext): OptimizerKernels {
  const { k, heap, guarded } = ctx;

  function adamStep(p: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray, vmax: FloatArray | null, s: AdamScalars): void {
    if (vmax || p.length < ADAM_MIN || !f32(p, g, m, v)) return ref.adamStep(p, g, m, v, vmax, s);
    const n = p.length;
    heap.reset();
    const pp = heap.put(p as Float32Array), pg = heap.put(g as Float32Array), pm = heap.put(m as Float32Array), pv = heap.put(v as Float32Array);
    k.adamF32(pp, pg, pm, pv, n, s.beta1, 1 - s.beta1, s.beta2, 1 - s.beta2, s.stepSize, 1 / s.bc2Sqrt, s.eps, s.sign, s.l2, s.shrink);
    p.set(heap.f32(pp, n));
    m.set(heap.f32(pm, n));
    v.set(heap.f32(pv, n));
  }

  return { adamStep: guarded(adamStep) };
}
