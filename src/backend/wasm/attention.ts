/**
 * Additive attention's scores on the kernels (kernels/attention.ts): the query rows split
 * between threads where that is measured faster. Float64 takes the reference's loops.
 */
import type { FloatArray } from '../../tensor/dtype.js';
import type { AttentionKernels } from '../backend.js';
import { Attn, block } from './abi.js';
import { bucket, type WasmContext } from './context.js';

/** The attention extension of the wasm backend. */
export function attentionKernels(ctx: WasmContext): AttentionKernels {
  const { k, heap, choose, launch, guarded, threadsFor, ctrl } = ctx;

  /** Threads for a call over N rows of S x H elements, `ops` operations each. */
  const threads = (kind: string, N: number, S: number, H: number, ops: number): { nth: number; meter: ReturnType<WasmContext['choose']>['meter'] } => {
    const work = N * S * H * ops;
    const { nth, meter } = choose(`${kind}:${bucket(work)}`, Math.min(N, threadsFor(work)));
    if (meter) meter.work = work;
    return { nth, meter };
  };

  const additiveScores = guarded((q: FloatArray, kk: FloatArray, v: FloatArray, N: number, S: number, H: number, scores: FloatArray, act: FloatArray | null): void => {
    heap.reset();
    const pq = heap.put(q as Float32Array), pk = heap.put(kk as Float32Array), pv = heap.put(v as Float32Array);
    const ps = heap.alloc(N * S * 4);
    const pa = act ? heap.alloc(N * S * H * 4) : 0;
    // tanh's rational and a multiply-add: about a dozen operations an element
    const { nth, meter } = threads('additiveScores', N, S, H, 12);
    const args = heap.args(block(Attn, { N, S, H, Q: pq, K: pk, V: pv, SCORES: ps, ACT: pa, NTH: nth, CTRL: ctrl }));
    launch(nth, 'additiveScores', [args], () => k.additiveScores(args, 0), meter);
    scores.set(heap.f32(ps, N * S));
    if (act) act.set(heap.f32(pa, N * S * H));
  });

  const additiveScoresBackward = guarded((act: FloatArray, v: FloatArray, g: FloatArray, N: number, S: number, H: number,
    dq: FloatArray, dk: FloatArray | null, dv: FloatArray | null): void => {
    heap.reset();
    const pa = heap.put(act as Float32Array), pv = heap.put(v as Float32Array), pg = heap.put(g as Float32Array);
    const pdq = heap.alloc(N * H * 4);
    const pdk = dk ? heap.alloc(N * S * H * 4) : 0;
    const pdv = dv ? heap.alloc(H * 4) : 0;
    const rowsOfDv = dv ? heap.alloc(N * H * 4) : 0;
    const { nth, meter } = threads('additiveScoresBackward', N, S, H, 6);
    const args = heap.args(block(Attn, { N, S, H, V: pv, ACT: pa, G: pg, DQ: pdq, DK: pdk, DV: pdv, DVROWS: rowsOfDv, NTH: nth, CTRL: ctrl }));
    launch(nth, 'additiveScoresBackward', [args], () => k.additiveScoresBackward(args, 0), meter);
    dq.set(heap.f32(pdq, N * H));
    if (dk) dk.set(heap.f32(pdk, N * S * H));
    if (dv) dv.set(heap.f32(pdv, H));
  });

  return { supports: (dtype) => dtype === 'float32', additiveScores, additiveScoresBackward };
}
