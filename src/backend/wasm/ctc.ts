/**
 * CTC on the kernels (kernels/ctc.ts): the samples split between threads, each in probability
 * space with a scale per step; a sample the kernel marks (its trellis left float64's range) is
 * computed again by the reference's log-space kernel, which also runs float64 batches.
 */
import type { FloatArray } from '../../tensor/dtype.js';
import type { CtcBatch, CtcKernels } from '../backend.js';
import { ctcSample } from '../reference/ctc.js';
import { Ctc, block } from './abi.js';
import { bucket, type WasmContext } from './context.js';

/** CTC's kernels over the backend's context. */
export function ctcKernels(ctx: WasmContext): CtcKernels & { recomputed(): number } {
  let recomputed = 0;
  const { k, heap, choose, launch, guarded } = ctx;
  const run = guarded((b: CtcBatch, grad: FloatArray | null): Float64Array => {
    const { T, N, C } = b;
    let maxS = 0;
    for (let n = 0; n < N; n++) maxS = Math.max(maxS, b.targetLengths[n]!);
    heap.reset();
    const plp = heap.put(b.logProbs as Float32Array);
    const pnll = heap.alloc(N * 8);
    const pgrad = grad ? heap.alloc(T * N * C * 4) : 0;
    const wsb = (k.ctcWorkspaceBytes(T, maxS, C) + 15) & ~15;
    // every sample's trellis, forward and backward: about 4 (2S + 1) operations a step
    const work = T * N * (2 * maxS + 1 + C) * 4;
    const { nth, meter } = choose(`ctc:${bucket(work)}`, Math.min(N, ctx.threadsFor(work)));
    if (meter) meter.work = work;
    const ws = heap.alloc(wsb * nth);
    const args = heap.args(block(Ctc, {
      T, N, C, LP: plp, TARGETS: heap.putI32(b.targets.length ? b.targets : [0]), OFFSETS: heap.putI32(b.offsets), TLEN: heap.putI32(b.targetLengths),
      ILEN: heap.putI32(b.inputLengths), BLANK: b.blank, NLL: pnll, GRAD: pgrad, WS: ws, WSB: wsb, NTH: nth,
    }));
    launch(nth, 'ctcLoss', [args], () => k.ctcLoss(args, 0), meter);
    const nll = new Float64Array(heap.f32(pnll, 2 * N).buffer.slice(pnll, pnll + N * 8));
    if (grad) grad.set(heap.f32(pgrad, T * N * C));
    for (let n = 0; n < N; n++) {
      if (!Number.isNaN(nll[n]!)) continue;
      nll[n] = ctcSample(b, n, grad);
      recomputed++;
    }
    return nll;
  });
  return { supports: (dtype) => dtype === 'float32', ctc: run, recomputed: () => recomputed };
}
