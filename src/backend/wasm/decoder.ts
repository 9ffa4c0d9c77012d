/**
 * The attention decoder on the kernels (kernels/decoder.ts): every step of a Seq2Seq decoder in
 * one call each way, the rows split between threads where that is measured faster. Float64, and
 * kinds of cell the kernels do not fuse, take the reference's loops.
 */
import type { FloatArray } from '../../tensor/dtype.js';
import type { AttentionDecoderDims, AttentionDecoderGrads, AttentionDecoderResult, AttentionDecoderWeights, AttentionKernels } from '../backend.js';
import { gateCount } from '../cells.js';
import { Dec, block } from './abi.js';
import { KIND, bucket, type WasmContext } from './context.js';

/** What forward keeps for backward, besides the arrays it returns. */
interface DecoderCacheData {
  gates: Float32Array;
  c: Float32Array | null;
  tc: Float32Array | null;
  hn: Float32Array | null;
  q: Float32Array;
}

/** The decoder part of the wasm backend's attention extension. */
export function decoderKernels(ctx: WasmContext, name: string): Pick<AttentionKernels, 'decoderForward' | 'decoderBackward' | 'supportsDecoder'> {
  const { k, heap, choose, launch, guarded, threadsFor, ctrl, wsBytes } = ctx;

  const threads = (kind: string, d: AttentionDecoderDims): { nth: number; meter: ReturnType<WasmContext['choose']>['meter'] } => {
    const { T, N, E, H, S } = d;
    const GH = gateCount(d.kind) * H;
    const work = T * N * (GH * (E + 2 * H) + H * H + 12 * S * H);
    const { nth, meter } = choose(`${kind}:${d.kind}:${bucket(work)}`, Math.min(N, threadsFor(work)));
    if (meter) meter.work = work;
    return { nth, meter };
  };
  const put = (a: FloatArray | null): number => (a ? heap.put(a as Float32Array) : 0);

  const decoderForward = guarded((d: AttentionDecoderDims, w: AttentionDecoderWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
    keys: FloatArray, pk: FloatArray, mask: Int32Array | null, keepCache: boolean): AttentionDecoderResult => {
    const { kind, T, N, E, H, S } = d;
    const GH = gateCount(kind) * H;
    const lstm = kind === 'lstm', gru = kind === 'gru';
    heap.reset();
    const slots = {
      KIND: KIND[kind]!, T, N, E, H, S,
      X: put(x), H0: put(h0), C0: lstm ? put(c0) : 0, KEYS: put(keys), PK: put(pk), MASK: mask ? heap.putI32(mask.subarray(0, N * S)) : 0,
      WIH: put(w.wih), WHH: put(w.whh), WA: put(w.wa),
      WXP: heap.alloc(k.packedBytes(E, GH)), WCP: heap.alloc(k.packedBytes(H, GH)), WHP: heap.alloc(k.packedBytes(H, GH)), WAP: heap.alloc(k.packedBytes(H, H)),
      BIH: put(w.bih), BHH: put(w.bhh), BA: put(w.ba), VA: put(w.va), VB: heap.put(Float32Array.of(w.vb)),
      OUT: heap.alloc(T * N * H * 4), GATES: heap.alloc(T * N * GH * 4), C: lstm ? heap.alloc(T * N * H * 4) : 0, TC: lstm ? heap.alloc(T * N * H * 4) : 0,
      HN: gru ? heap.alloc(T * N * H * 4) : 0, Q: heap.alloc(T * N * H * 4), WTS: heap.alloc(T * N * S * 4), CTX: heap.alloc(T * N * H * 4), HH: heap.alloc(N * GH * 4),
    };
    const { nth, meter } = threads('decoderForward', d);
    const args = heap.args(block(Dec, { ...slots, NTH: nth, CTRL: ctrl, WS: heap.alloc(wsBytes * nth), WSB: wsBytes }));
    launch(nth, 'decoderForward', [args], () => k.decoderForward(args, 0), meter);
    const out = heap.take(slots.OUT, T * N * H);
    const cN = lstm ? heap.take(slots.C + (T - 1) * N * H * 4, N * H) : null;
    const data: DecoderCacheData | null = keepCache ? {
      gates: heap.take(slots.GATES, T * N * GH), q: heap.take(slots.Q, T * N * H),
      c: lstm ? heap.take(slots.C, T * N * H) : null, tc: lstm ? heap.take(slots.TC, T * N * H) : null, hn: gru ? heap.take(slots.HN, T * N * H) : null,
    } : null;
    return {
      out, hN: out.slice((T - 1) * N * H), cN, weights: heap.take(slots.WTS, T * N * S), context: heap.take(slots.CTX, T * N * H),
      cache: data && ({ backend: name, data } as { backend: string; data: DecoderCacheData }),
    };
  });

  const decoderBackward = guarded((d: AttentionDecoderDims, w: AttentionDecoderWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
    keys: FloatArray, pk: FloatArray, mask: Int32Array | null, fwd: AttentionDecoderResult,
    dOut: FloatArray | null, dContext: FloatArray | null, dWeights: FloatArray | null, dhN: FloatArray | null, dcN: FloatArray | null): AttentionDecoderGrads => {
    void mask;
    const cache = fwd.cache as { backend: string; data?: DecoderCacheData } | null;
    if (!cache || cache.backend !== name || !cache.data) throw new Error('decoderBackward: the forward pass kept no cache of this backend');
    const data = cache.data;
    const { kind, T, N, E, H, S } = d;
    const GH = gateCount(kind) * H;
    const lstm = kind === 'lstm', gru = kind === 'gru';
    heap.reset();
    const TN = T * N;
    const slots = {
      KIND: KIND[kind]!, T, N, E, H, S,
      X: put(x), H0: put(h0), C0: lstm ? put(c0) : 0, KEYS: put(keys), PK: put(pk), MASK: 0, VA: put(w.va),
      OUT: put(fwd.out), GATES: put(data.gates), C: put(data.c), TC: put(data.tc), HN: put(data.hn), Q: put(data.q), WTS: put(fwd.weights), CTX: put(fwd.context),
      DOUT: put(dOut), DCTXIN: put(dContext), DWTS: put(dWeights),
      DH: dhN ? put(dhN) : heap.zeros(N * H), DC: lstm ? (dcN ? put(dcN) : heap.zeros(N * H)) : 0,
      WIH: put(w.wih), WHH: put(w.whh), WA: put(w.wa),
      WHB: heap.alloc(k.packedBytes(GH, H)), WCB: heap.alloc(k.packedBytes(GH, H)), WAB: heap.alloc(k.packedBytes(H, H)), WXB: heap.alloc(k.packedBytes(GH, E)),
      DAX: heap.alloc(TN * GH * 4), DAH: gru ? heap.alloc(TN * GH * 4) : 0, DQ: heap.alloc(TN * H * 4), DCS: heap.alloc(N * H * 4), DSC: heap.alloc(N * S * 4),
      HPREV: heap.alloc(TN * H * 4), ACCX: heap.alloc(N * GH * 4), ACCH: gru ? heap.alloc(N * GH * 4) : 0, ACCQ: heap.alloc(N * H * 4),
      DVAR: heap.alloc(N * H * 4), DVBR: heap.alloc(N * 4),
      DX: heap.alloc(TN * E * 4), DKEYS: heap.alloc(N * S * H * 4), DPK: heap.alloc(N * S * H * 4),
      DWX: heap.alloc(GH * E * 4), DWC: heap.alloc(GH * H * 4), DWHH: heap.alloc(GH * H * 4), DWA: heap.alloc(H * H * 4),
      DBIH: w.bih ? heap.alloc(GH * 4) : 0, DBHH: w.bhh ? heap.alloc(GH * 4) : 0, DBA: w.ba ? heap.alloc(H * 4) : 0, DVA: heap.alloc(H * 4), DVB: heap.alloc(4),
    };
    const { nth, meter } = threads('decoderBackward', d);
    const args = heap.args(block(Dec, { ...slots, NTH: nth, CTRL: ctrl, WS: heap.alloc(wsBytes * nth), WSB: wsBytes }));
    launch(nth, 'decoderBackward', [args], () => k.decoderBackward(args, 0), meter);
    // W_ih's gradient in its own layout: each gate row's input columns, then its context columns
    const dwx = heap.f32(slots.DWX, GH * E), dwc = heap.f32(slots.DWC, GH * H);
    const dwih = new Float32Array(GH * (E + H));
    for (let r = 0; r < GH; r++) {
      dwih.set(dwx.subarray(r * E, (r + 1) * E), r * (E + H));
      dwih.set(dwc.subarray(r * H, (r + 1) * H), r * (E + H) + E);
    }
    return {
      dx: heap.take(slots.DX, TN * E), dh0: heap.take(slots.DH, N * H), dc0: lstm ? heap.take(slots.DC, N * H) : null,
      dkeys: heap.take(slots.DKEYS, N * S * H), dpk: heap.take(slots.DPK, N * S * H),
      dwih, dwhh: heap.take(slots.DWHH, GH * H), dbih: w.bih ? heap.take(slots.DBIH, GH) : null, dbhh: w.bhh ? heap.take(slots.DBHH, GH) : null,
      dwa: heap.take(slots.DWA, H * H), dba: w.ba ? heap.take(slots.DBA, H) : null, dva: heap.take(slots.DVA, H), dvb: heap.f32(slots.DVB, 1)[0]!,
    };
  });

  return {
    supportsDecoder: (d, dtype) => dtype === 'float32' && KIND[d.kind] !== undefined,
    decoderForward, decoderBackward,
  };
}
