/**
 * The attention decoder on the kernels (kernels/decoder.ts): every step of a Seq2Seq decoder in
 * one call each way, the rows split between threads where that is measured faster. Float64, and
 * kinds of cell the kernels do not fuse, take the reference's loops.
 */
import type { FloatArray } from '../../tensor/dtype.js';
import type { AttentionDecoderDims, AttentionDecoderGrads, AttentionDecoderResult, AttentionDecoderWeights, AttentionKernels, RecurrentCache } from '../backend.js';
import { persistentBlocks, type Block } from './resident.js';
import { gateCount } from '../cells.js';
import { Dec, block } from './abi.js';
import { KIND, bucket, type WasmContext } from './context.js';

/** The arrays backward reads that forward does not return (or that it reads from the kernels' memory). */
const KEPT = ['x', 'h0', 'c0', 'keys', 'pk', 'out', 'gates', 'c', 'tc', 'hn', 'q', 'wts', 'ctx'] as const;
type Kept = (typeof KEPT)[number];

/**
 * What forward keeps for backward: the blocks of the kernels' memory its arrays stay in (within
 * the resident caches' budget), or, where they did not fit or were spilled, its own copies of
 * what backward cannot find in its arguments and the forward's results.
 */
interface DecoderCacheData {
  resident: Record<Kept, number> | null;
  gates: Float32Array | null;
  c: Float32Array | null;
  tc: Float32Array | null;
  hn: Float32Array | null;
  q: Float32Array | null;
}

/** The decoder part of the wasm backend's attention extension. */
export function decoderKernels(ctx: WasmContext, name: string): Pick<AttentionKernels, 'decoderForward' | 'decoderBackward' | 'supportsDecoder'> {
  const { k, heap, choose, launch, guarded, threadsFor, ctrl, wsBytes, caches } = ctx;

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
    const TNH = T * N * H;
    const sizes: Record<Kept, number> = {
      x: T * N * E, h0: N * H, c0: lstm ? N * H : 0, keys: S * N * H, pk: S * N * H,
      out: TNH, gates: T * N * GH, c: lstm ? TNH : 0, tc: lstm ? TNH : 0, hn: gru ? TNH : 0, q: TNH, wts: T * N * S, ctx: TNH,
    };
    // what backward reads stays in wasm memory when the budget allows (allocated before the scratch)
    const total = keepCache ? KEPT.reduce((a, key) => a + (sizes[key] ? sizes[key] * 4 + 32 : 0), 0) : 0;
    let resident: Record<Kept, number> | null = null;
    let blocks: Block[] = [];
    if (keepCache && caches.admit(total)) ({ at: resident, blocks } = persistentBlocks(heap, sizes));
    let owned = false;
    try {
      heap.reset();
      const into = (key: Kept, a: FloatArray | null): number => {
        if (!a) return 0;
        if (!resident) return put(a);
        heap.f32(resident[key], sizes[key]).set(a);
        return resident[key];
      };
      const room = (key: Kept): number => (!sizes[key] ? 0 : resident ? resident[key] : heap.alloc(sizes[key] * 4));
      const slots = {
        KIND: KIND[kind]!, T, N, E, H, S,
        X: into('x', x), H0: into('h0', h0), C0: lstm ? into('c0', c0) : 0, KEYS: into('keys', keys), PK: into('pk', pk), MASK: mask ? heap.putI32(mask.subarray(0, N * S)) : 0,
        WIH: put(w.wih), WHH: put(w.whh), WA: put(w.wa),
        WXP: heap.alloc(k.packedBytes(E, GH)), WCP: heap.alloc(k.packedBytes(H, GH)), WHP: heap.alloc(k.packedBytes(H, GH)), WAP: heap.alloc(k.packedBytes(H, H)),
        BIH: put(w.bih), BHH: put(w.bhh), BA: put(w.ba), VA: put(w.va), VB: heap.put(Float32Array.of(w.vb)),
        OUT: room('out'), GATES: room('gates'), C: room('c'), TC: room('tc'), HN: room('hn'), Q: room('q'), WTS: room('wts'), CTX: room('ctx'), HH: heap.alloc(N * GH * 4),
      };
      const { nth, meter } = threads('decoderForward', d);
      const args = heap.args(block(Dec, { ...slots, NTH: nth, CTRL: ctrl, WS: heap.alloc(wsBytes * nth), WSB: wsBytes }));
      launch(nth, 'decoderForward', [args], () => k.decoderForward(args, 0), meter);
      const out = heap.take(slots.OUT, TNH);
      const cN = lstm ? heap.take(slots.C + (T - 1) * N * H * 4, N * H) : null;
      const result: AttentionDecoderResult = { out, hN: out.slice((T - 1) * N * H), cN, weights: heap.take(slots.WTS, T * N * S), context: heap.take(slots.CTX, TNH), cache: null };
      if (!keepCache) return result;
      caches.forwardKept();
      const data: DecoderCacheData = { resident, gates: null, c: null, tc: null, hn: null, q: null };
      // past the budget (or without room): backward then copies these in
      const takeOwn = (): void => {
        data.gates = heap.take(slots.GATES, T * N * GH);
        data.q = heap.take(slots.Q, TNH);
        data.c = lstm ? heap.take(slots.C, TNH) : null;
        data.tc = lstm ? heap.take(slots.TC, TNH) : null;
        data.hn = gru ? heap.take(slots.HN, TNH) : null;
        data.resident = null;
      };
      if (!resident) {
        takeOwn();
        result.cache = { backend: name, data, bytes: total } as RecurrentCache;
        return result;
      }
      const key = caches.add({ blocks, spill: takeOwn });
      owned = true;
      const cache = {
        backend: name, data, bytes: total,
        release: () => {
          caches.free(key);
          for (const k of KEPT) resident![k] = 0;
        },
      };
      caches.watch(cache, key);
      result.cache = cache;
      return result;
    } finally {
      if (!owned) for (const b of blocks) heap.release(b.p, b.bytes);
    }
  });

  const decoderBackward = guarded((d: AttentionDecoderDims, w: AttentionDecoderWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
    keys: FloatArray, pk: FloatArray, fwd: AttentionDecoderResult,
    dOut: FloatArray | null, dContext: FloatArray | null, dWeights: FloatArray | null, dhN: FloatArray | null, dcN: FloatArray | null): AttentionDecoderGrads => {
    const cache = fwd.cache as { backend: string; data?: DecoderCacheData; bytes?: number } | null;
    if (!cache || cache.backend !== name || !cache.data) throw new Error('decoderBackward: the forward pass kept no cache of this backend');
    const data = cache.data;
    const res = data.resident;
    if (res && res.out === 0) throw new Error('decoderBackward: the cache was already released');
    caches.consumed(cache.bytes ?? 0);
    const { kind, T, N, E, H, S } = d;
    const GH = gateCount(kind) * H;
    const lstm = kind === 'lstm', gru = kind === 'gru';
    heap.reset();
    const TN = T * N;
    // resident arrays need no copy
    const from = (key: Kept, a: FloatArray | null): number => (!a ? 0 : res ? res[key] : put(a));
    const slots = {
      KIND: KIND[kind]!, T, N, E, H, S,
      X: from('x', x), H0: from('h0', h0), C0: lstm ? from('c0', c0) : 0, KEYS: from('keys', keys), PK: from('pk', pk), MASK: 0, VA: put(w.va),
      OUT: from('out', fwd.out), GATES: res ? res.gates : put(data.gates), C: res ? res.c : put(data.c), TC: res ? res.tc : put(data.tc), HN: res ? res.hn : put(data.hn),
      Q: res ? res.q : put(data.q), WTS: from('wts', fwd.weights), CTX: from('ctx', fwd.context),
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
