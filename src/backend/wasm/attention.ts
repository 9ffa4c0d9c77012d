/**
 * Additive attention's scores on the kernels (kernels/attention.ts): the query rows split
 * between threads where that is measured faster. Float64 takes the reference's loops.
 */
import type { FloatArray } from '../../tensor/dtype.js';
import type { AttentionKernels } from '../backend.js';
import { Attn, Batched, block } from './abi.js';
import { bucket, type WasmContext } from './context.js';
import { decoderKernels } from './decoder.js';

/** The attention extension of the wasm backend. */
export function attentionKernels(ctx: WasmContext, name: string): AttentionKernels {
  const { k, heap, choose, launch, guarded, threadsFor, ctrl, wsBytes } = ctx;

  /** The keys and values in the kernels' memory (once where they are one array). */
  const keysAndValues = (kk: Float32Array, values: Float32Array): [number, number] => {
    heap.reset();
    const pk = heap.put(kk);
    return [pk, values === kk ? pk : heap.put(values)];
  };

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

  const additiveAttention = guarded((q: FloatArray, kk: FloatArray, values: FloatArray, v: FloatArray, bias: number, mask: Int32Array | null,
    N: number, S: number, H: number, weights: FloatArray, context: FloatArray): void => {
    const [pk, pvals] = keysAndValues(kk as Float32Array, values as Float32Array);
    const pq = heap.put(q as Float32Array);
    const pv = heap.put(v as Float32Array);
    const pb = heap.put(Float32Array.of(bias));
    const pm = mask ? heap.putI32(mask.subarray(0, N * S)) : 0;
    const pw = heap.alloc(N * S * 4), pc = heap.alloc(N * H * 4);
    // the scores' dozen operations an element, and the context's one
    const { nth, meter } = threads('additiveAttention', N, S, H, 13);
    const args = heap.args(block(Attn, { N, S, H, Q: pq, K: pk, V: pv, VALUES: pvals, BIAS: pb, MASK: pm, WEIGHTS: pw, CONTEXT: pc, NTH: nth, CTRL: ctrl }));
    launch(nth, 'additiveAttention', [args], () => k.additiveAttention(args, 0), meter);
    weights.set(heap.f32(pw, N * S));
    context.set(heap.f32(pc, N * H));
  });

  const additiveAttentionBackward = guarded((q: FloatArray, kk: FloatArray, values: FloatArray, v: FloatArray, weights: FloatArray,
    dContext: FloatArray, dWeights: FloatArray | null, N: number, S: number, H: number,
    dq: FloatArray, dk: FloatArray | null, dValues: FloatArray | null, dv: FloatArray | null): number => {
    const [pk, pvals] = keysAndValues(kk as Float32Array, values as Float32Array);
    const pq = heap.put(q as Float32Array);
    const pv = heap.put(v as Float32Array), pw = heap.put(weights as Float32Array), pdc = heap.put(dContext as Float32Array);
    const pdw = dWeights ? heap.put(dWeights as Float32Array) : 0;
    const pdq = heap.alloc(N * H * 4);
    const pdk = dk ? heap.alloc(N * S * H * 4) : 0;
    const pdvals = dValues ? heap.alloc(N * S * H * 4) : 0;
    const pdv = dv ? heap.alloc(H * 4) : 0;
    const rowsOfDv = dv ? heap.alloc(N * H * 4) : 0;
    const pds = heap.alloc(N * S * 4), pdb = heap.alloc(N * 4);
    const { nth, meter } = threads('additiveAttentionBackward', N, S, H, 14);
    const args = heap.args(block(Attn, { N, S, H, Q: pq, K: pk, V: pv, VALUES: pvals, WEIGHTS: pw, DCONTEXT: pdc, DWEIGHTS: pdw, DQ: pdq, DK: pdk, DVALUES: pdvals,
      DV: pdv, DVROWS: rowsOfDv, DSCORES: pds, DBROWS: pdb, NTH: nth, CTRL: ctrl }));
    launch(nth, 'additiveAttentionBackward', [args], () => k.additiveAttentionBackward(args, 0), meter);
    dq.set(heap.f32(pdq, N * H));
    if (dk) dk.set(heap.f32(pdk, N * S * H));
    if (dValues) dValues.set(heap.f32(pdvals, N * S * H));
    if (dv) dv.set(heap.f32(pdv, H));
    // the bias's gradient: the rows' shares in row order (the same for any thread count)
    const rows = heap.f32(pdb, N);
    let dBias = 0;
    for (let n = 0; n < N; n++) dBias = Math.fround(dBias + rows[n]!);
    return dBias;
  });

  // every product of the batch in one call: a decoder's step multiplies each sample's weights by
  // its keys, and a call a sample cost more than the products
  const gemmBatched = guarded((ta: boolean, tb: boolean, batch: number, M: number, N: number, K: number, a: FloatArray, b: FloatArray, c: FloatArray): void => {
    if (M === 0 || N === 0) return;
    heap.reset();
    const pa = heap.put((a as Float32Array).subarray(0, batch * M * K)), pb = heap.put((b as Float32Array).subarray(0, batch * K * N));
    const pc = heap.alloc(batch * M * N * 4);
    const work = batch * M * N * K;
    const { nth, meter } = choose(`gemmBatched:${bucket(work)}`, Math.min(batch, threadsFor(work)));
    const ws = heap.alloc(wsBytes * nth);
    const args = heap.args(block(Batched, { BATCH: batch, TA: +ta, TB: +tb, M, N, K, A: pa, B: pb, C: pc, WS: ws, WSB: wsBytes, NTH: nth }));
    launch(nth, 'gemmBatched', [args], () => k.gemmBatched(args, 0), meter);
    c.set(heap.f32(pc, batch * M * N));
  });

  return {
    supports: (dtype) => dtype === 'float32', additiveScores, additiveScoresBackward, gemmBatched, additiveAttention, additiveAttentionBackward,
    ...decoderKernels(ctx, name),
  };
}
