/**
 * The wasm backend's sequence kernels: one direction of an RNN, LSTM or GRU layer over a whole
 * sequence in one kernel call (kernels/forward.ts, backward.ts), what backward needs kept in wasm
 * memory while the budget allows; minGRU and minLSTM (scan.ts) and the layer-normalised and
 * peephole LSTMs (variants.ts) by their own kernels. Keras's variants and float64 take the
 * reference's.
 */
import type { FloatArray } from '../../tensor/dtype.js';
import {
  ALL_RECURRENT_GRADS, type RecurrentCache, type RecurrentDims, type RecurrentForwardResult, type RecurrentGrads,
  type RecurrentNeeds, type RecurrentWeights, type SequenceKernels, type RecurrentGradTargets,
} from '../backend.js';
import { gateCount } from '../cells.js';
import { persistentBlocks, type Block } from './resident.js';
import { Rec } from './abi.js';
import { referenceBackend as ref } from '../reference/index.js';
import { bucket, f32, fused, KIND, type WasmContext } from './context.js';
import { pipelineSlots, type AheadPlan } from './pipeline.js';
import { variantKernels, VARIANT_KIND } from './variants.js';
import { scanKernels } from './scan.js';

/**
 * What backward needs, either resident in wasm memory (addresses, freed by release()) or, past
 * the residency budget, copied out to JavaScript arrays. Held apart from the cache object the
 * graph holds, so that the registry of resident caches can copy it out without keeping that
 * object (and so its graph) alive.
 */
interface CacheData {
  /** Addresses of what backward reads, while resident (null: copied out, in the arrays below). */
  resident: { out: number; gates: number; c: number; tc: number; m: number; hn: number; x: number; h0: number; c0: number } | null;
  gates: Float32Array | null;
  c: Float32Array | null;
  tc: Float32Array | null;
  m: Float32Array | null;
  hn: Float32Array | null;
}

interface WasmCache extends RecurrentCache {
  data: CacheData;
  /** Bytes of what backward reads, resident or not (what a training step needs kept). */
  bytes: number;
}

/** Points the argument slots of the sequence kernels at a resident cache. */
function residentSlots(slots: number[], r: NonNullable<CacheData['resident']>): void {
  slots[Rec.X] = r.x;
  slots[Rec.H0] = r.h0;
  slots[Rec.C0] = r.c0;
  slots[Rec.OUT] = r.out;
  slots[Rec.GATES] = r.gates;
  slots[Rec.C] = r.c;
  slots[Rec.TC] = r.tc;
  slots[Rec.M] = r.m;
  slots[Rec.HN] = r.hn;
}

/** The sequence extension of the wasm backend. */
export function sequenceKernels(ctx: WasmContext): SequenceKernels {
  const { k, heap, caches, choose, launch, rowThreads, threadsFor, wsBytes, putOr0, guarded, ctrl, name, prepared } = ctx;

  /**
   * Copies the weights (unless prepared: kept between calls, see weights.ts) and the state in,
   * and fills the argument slots both kernels share.
   */
  function common(dims: RecurrentDims, w: RecurrentWeights, x: Float32Array | null, h0: Float32Array | null, c0: Float32Array | null, reverse: boolean,
    kernel: 'recurrentForward' | 'recurrentBackward', lengths: Int32Array | null, state: Float32Array | null = h0) {
    const { kind, T, B, I, H, P } = dims;
    const GH = gateCount(kind) * H;
    const Hout = P || H;
    // first: preparing may use the scratch heap, which the copies below then fill
    const pre = kernel === 'recurrentForward' ? prepared.forward(dims, w) : prepared.backward(dims, w);
    heap.reset();
    const slots = new Array<number>(Rec.COUNT).fill(0);
    slots[Rec.KIND] = KIND[kind]!;
    slots[Rec.T] = T; slots[Rec.B] = B; slots[Rec.I] = I; slots[Rec.H] = H; slots[Rec.P] = P; slots[Rec.REV] = +reverse;
    slots[Rec.X] = x ? heap.put(x) : 0;
    slots[Rec.BIH] = putOr0(w.bih);
    slots[Rec.BHH] = putOr0(w.bhh);
    slots[Rec.H0] = h0 ? heap.put(h0) : 0;
    slots[Rec.C0] = c0 ? heap.put(c0) : 0;
    slots[Rec.HH] = heap.alloc(B * GH * 4); // hh
    slots[Rec.LENS] = lengths ? heap.putI32(lengths) : 0;
    if (pre) {
      slots[Rec.PREPACKED] = 1;
      slots[Rec.WIH] = pre.wih;
      slots[Rec.WPACK] = pre.whh;
      slots[Rec.RPACK] = pre.whr;
    } else {
      slots[Rec.WIH] = heap.put(w.wih as Float32Array);
      slots[Rec.WHH] = heap.put(w.whh as Float32Array);
      slots[Rec.WHR] = putOr0(w.whr);
      slots[Rec.WPACK] = heap.alloc(Math.max(k.packedBytes(Hout, GH), k.packedBytes(GH, Hout)));
      slots[Rec.RPACK] = P ? heap.alloc(Math.max(k.packedBytes(H, P), k.packedBytes(P, H))) : 0;
    }
    const stepWork = B * GH * (I + Hout);
    // one row of prepared weights splits by hidden units, pipelined as a stepper's (kernels/stepping.ts)
    const units = kernel === 'recurrentForward' && pre !== null && pre.pre !== 0 && B === 1 && !lengths;
    const { nth, meter } = units
      ? choose(`step:${kind}:units:${bucket(stepWork)}`, threadsFor(T * stepWork))
      : choose(`${kernel}:${kind}:${bucket(stepWork)}:${bucket(T)}`, rowThreads(T, B, stepWork));
    if (meter) meter.work = T * stepWork;
    // the state the first step reads decides how the call is pipelined (see AheadTracker)
    const plan: AheadPlan | null = units && nth > 1 && pre.tracker && state ? pre.tracker.plan(state) : null;
    if (plan) pipelineSlots(slots, pre!.pre, pre!.hAhead, pre!.preOk, pre!.tws, H, nth, T, plan);
    slots[Rec.WS] = heap.alloc(wsBytes * nth);
    slots[Rec.NTH] = nth;
    slots[Rec.CTRL] = ctrl;
    slots[Rec.WSB] = wsBytes;
    /** After the call: the state its last step left, for the tracker. */
    const after = (hLast: Float32Array): void => {
      if (units && pre?.tracker) pre.tracker.done(hLast, plan?.ahead ?? false);
    };
    return { slots, GH, Hout, nth, meter, after };
  }

  /** minGRU and minLSTM (scan.ts). */
  const isScan = (d: RecurrentDims): boolean => d.kind === 'mingru' || d.kind === 'minlstm';
  const scans = scanKernels(ctx);
  /** The layer-normalised and peephole LSTMs (variants.ts). */
  const isVariant = (d: RecurrentDims): boolean => VARIANT_KIND[d.kind] !== undefined;
  const variants = variantKernels(ctx);

  function recurrentForward(dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
    reverse: boolean, keepCache: boolean, lengths: Int32Array | null = null): RecurrentForwardResult {
    // supports() saw x's element type; arrays of mixed types take the reference's kernels
    if (!f32(x, h0, c0, w.wih, w.whh, w.bih, w.bhh, w.whr) || (w.extra && !f32(...Object.values(w.extra)))) return ref.recurrentForward(dims, w, x, h0, c0, reverse, keepCache);
    if (isScan(dims)) return scans.forward(dims, w, x as Float32Array, h0 as Float32Array, reverse, keepCache);
    if (isVariant(dims)) return variants.forward(dims, w, x as Float32Array, h0 as Float32Array, c0 as Float32Array, reverse, keepCache);
    const { kind, T, B, I, H, P } = dims;
    const lstm = kind === 'lstm';
    const GH = gateCount(kind) * H;
    const Hout = P || H;
    // what backward reads stays in wasm memory when the budget allows (allocated before the scratch)
    const sizes = {
      out: T * B * Hout, gates: T * B * GH, c: lstm ? T * B * H : 0, tc: lstm ? T * B * H : 0, m: lstm && P ? T * B * H : 0,
      hn: kind === 'gru' ? T * B * H : 0, x: T * B * I, h0: B * Hout, c0: c0 ? B * H : 0,
    };
    const total = keepCache ? Object.values(sizes).reduce((a, b) => a + (b ? b * 4 + 32 : 0), 0) : 0;
    let resident: NonNullable<CacheData['resident']> | null = null;
    let blocks: Block[] = [];
    if (keepCache && caches.admit(total)) ({ at: resident, blocks } = persistentBlocks(heap, sizes));
    // blocks not yet owned by a cache go back if anything below fails (or starts over)
    let owned = false;
    try {
      const { slots, nth, meter, after } = resident
        ? common(dims, w, null, null, null, reverse, 'recurrentForward', lengths, h0 as Float32Array)
        : common(dims, w, x as Float32Array, h0 as Float32Array, c0 as Float32Array | null, reverse, 'recurrentForward', lengths);
      if (resident) {
        heap.f32(resident.x, x.length).set(x);
        heap.f32(resident.h0, h0.length).set(h0);
        if (c0) heap.f32(resident.c0, c0.length).set(c0);
        residentSlots(slots, resident);
      } else {
        slots[Rec.OUT] = heap.alloc(sizes.out * 4);
        slots[Rec.GATES] = heap.alloc(sizes.gates * 4);
        slots[Rec.C] = lstm ? heap.alloc(sizes.c * 4) : 0;
        slots[Rec.TC] = lstm ? heap.alloc(sizes.tc * 4) : 0;
        slots[Rec.M] = sizes.m ? heap.alloc(sizes.m * 4) : 0;
        slots[Rec.HN] = sizes.hn ? heap.alloc(sizes.hn * 4) : 0;
      }
      // on several threads each projects its own rows against wih^T packed here once (Rec.XPACK)
      if (nth > 1 && !slots[Rec.PREPACKED]) slots[Rec.XPACK] = heap.alloc(k.packedBytes(I, GH));
      const args = heap.args(slots);
      launch(nth, 'recurrentForward', [args], () => k.recurrentForward(args, 0), meter);
      const out = heap.take(slots[Rec.OUT]!, T * B * Hout);
      const last = reverse ? 0 : T - 1;
      after(out.subarray(last * B * Hout, (last + 1) * B * Hout));
      let hN: Float32Array, cN: Float32Array | null;
      if (lengths && !reverse) {
        // each row's state after its own last step
        hN = new Float32Array(B * Hout);
        cN = lstm ? new Float32Array(B * H) : null;
        const cAll = lstm ? heap.f32(slots[Rec.C]!, T * B * H) : null;
        for (let b = 0; b < B; b++) {
          const at = (lengths[b]! - 1) * B + b;
          hN.set(out.subarray(at * Hout, (at + 1) * Hout), b * Hout);
          if (cN) cN.set(cAll!.subarray(at * H, (at + 1) * H), b * H);
        }
      } else {
        hN = out.slice(last * B * Hout, (last + 1) * B * Hout);
        cN = lstm ? heap.take(slots[Rec.C]! + last * B * H * 4, B * H) : null;
      }
      // the reverse direction's padded steps hold the state a row starts from: its outputs there are 0
      if (lengths && reverse) for (let b = 0; b < B; b++) for (let t = lengths[b]!; t < T; t++) out.fill(0, (t * B + b) * Hout, (t * B + b + 1) * Hout);
      let cache: WasmCache | null = null;
      if (keepCache) caches.forwardKept();
      if (keepCache && resident) {
        const res = resident;
        const data: CacheData = { resident: res, gates: null, c: null, tc: null, m: null, hn: null };
        const key = caches.add({
          blocks,
          // past the budget: backward then copies these in, as for a cache that was never resident
          spill: () => {
            data.gates = heap.take(res.gates, sizes.gates);
            data.c = res.c ? heap.take(res.c, sizes.c) : null;
            data.tc = res.tc ? heap.take(res.tc, sizes.tc) : null;
            data.m = res.m ? heap.take(res.m, sizes.m) : null;
            data.hn = res.hn ? heap.take(res.hn, sizes.hn) : null;
            data.resident = null;
          },
        });
        owned = true;
        cache = {
          backend: name, data, bytes: total,
          release: () => {
            caches.free(key);
            for (const name of Object.keys(res) as (keyof typeof res)[]) res[name] = 0;
          },
        };
        caches.watch(cache, key);
      } else if (keepCache) {
        cache = {
          backend: name, bytes: total,
          data: {
            resident: null,
            gates: heap.take(slots[Rec.GATES]!, T * B * GH),
            c: lstm ? heap.take(slots[Rec.C]!, T * B * H) : null,
            tc: lstm ? heap.take(slots[Rec.TC]!, T * B * H) : null,
            m: slots[Rec.M] ? heap.take(slots[Rec.M]!, T * B * H) : null,
            hn: slots[Rec.HN] ? heap.take(slots[Rec.HN]!, T * B * H) : null,
          },
        };
      }
      return { out, hN, cN, cache };
    } finally {
      if (!owned) for (const b of blocks) heap.release(b.p, b.bytes);
    }
  }

  function recurrentBackward(dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
    reverse: boolean, fwd: RecurrentForwardResult, dOut: FloatArray | null, dhN: FloatArray | null, dcN: FloatArray | null,
    needs: RecurrentNeeds = ALL_RECURRENT_GRADS, lengths: Int32Array | null = null, into: RecurrentGradTargets | null = null): RecurrentGrads {
    const cache = fwd.cache as WasmCache | null;
    if (into && !(fused(dims) && needs.params)) throw new Error('recurrentBackward: gradient targets are taken by the fused kernels only, with the parameters\' gradients wanted');
    if (!cache || cache.backend !== name) throw new Error('recurrentBackward: the forward pass kept no cache of this backend');
    if (isScan(dims)) return scans.backward(dims, w, x as Float32Array, h0 as Float32Array, reverse, fwd, dOut, dhN, needs);
    if (isVariant(dims)) return variants.backward(dims, w, x as Float32Array, h0 as Float32Array, c0 as Float32Array, reverse, fwd, dOut, dhN, dcN, needs);
    const { kind, T, B, I, H, P } = dims;
    const data = cache.data;
    const res = data.resident;
    if (res && res.out === 0) throw new Error('recurrentBackward: the cache was already released');
    caches.consumed(cache.bytes);
    // resident x, h0, c0 need no copy; common() copies the weights unless they are prepared
    const { slots, GH, Hout, nth, meter } = common(dims, w, res ? null : (x as Float32Array), res ? null : (h0 as Float32Array), res ? null : (c0 as Float32Array | null), reverse, 'recurrentBackward', lengths);
    const TB = T * B;
    if (res) {
      residentSlots(slots, res);
    } else {
      slots[Rec.OUT] = heap.put(fwd.out as Float32Array);
      // the reverse direction's padded steps: the kernel reads there the state a row starts from
      if (lengths && reverse) {
        const o = heap.f32(slots[Rec.OUT]!, T * B * Hout);
        for (let b = 0; b < B; b++) for (let t = lengths[b]!; t < T; t++) o.set(h0.subarray(b * Hout, (b + 1) * Hout), (t * B + b) * Hout);
      }
      slots[Rec.GATES] = heap.put(data.gates!);
      slots[Rec.C] = putOr0(data.c);
      slots[Rec.TC] = putOr0(data.tc);
      slots[Rec.M] = putOr0(data.m);
      slots[Rec.HN] = putOr0(data.hn);
    }
    slots[Rec.DOUT] = putOr0(dOut);
    slots[Rec.DH] = dhN ? heap.put(dhN as Float32Array) : heap.zeros(B * Hout);
    slots[Rec.DC] = kind === 'lstm' ? (dcN ? heap.put(dcN as Float32Array) : heap.zeros(B * H)) : 0;
    slots[Rec.DAX] = heap.alloc(TB * GH * 4); // dAx
    slots[Rec.DAH] = kind === 'gru' ? heap.alloc(TB * GH * 4) : 0; // dAh
    slots[Rec.DHALL] = P ? heap.alloc(TB * P * 4) : 0; // dh of every step (projection)
    slots[Rec.DM] = P ? heap.alloc(B * H * 4) : 0; // dm
    // a zero slot tells the kernel to skip that gradient
    const pw = needs.params;
    slots[Rec.HPREV] = pw ? heap.alloc(TB * Hout * 4) : 0; // h_{t-1} of every step
    slots[Rec.DX] = needs.input ? heap.alloc(TB * I * 4) : 0; // dx
    // the parameters' gradients so far, which the kernel adds onto (GADD), or room for new ones
    const grad = (want: unknown, target: FloatArray | null | undefined, n: number): number => (!want ? 0 : into ? heap.put(target as Float32Array) : heap.alloc(n * 4));
    slots[Rec.DWIH] = grad(pw, into?.dwih, GH * I);
    slots[Rec.DWHH] = grad(pw, into?.dwhh, GH * Hout);
    slots[Rec.DBIH] = grad(pw && w.bih, into?.dbih, GH);
    slots[Rec.DBHH] = grad(pw && w.bhh, into?.dbhh, GH);
    slots[Rec.DWHR] = grad(pw && P, into?.dwhr, P * H);
    slots[Rec.GADD] = into ? 1 : 0;
    // per batch row sums of the gate gradients over the steps, for the bias gradients
    slots[Rec.ACCX] = pw && (w.bih || (w.bhh && kind !== 'gru')) ? heap.alloc(B * GH * 4) : 0;
    slots[Rec.ACCH] = pw && w.bhh && kind === 'gru' ? heap.alloc(B * GH * 4) : 0;
    const args = heap.args(slots);
    launch(nth, 'recurrentBackward', [args], () => k.recurrentBackward(args, 0), meter);
    const takeOr = (slot: number, n: number): Float32Array | null => (slots[slot] ? heap.take(slots[slot]!, n) : null);
    if (into) {
      // back into the parameters' gradients, in place: no new arrays
      const back = (target: FloatArray | null, slot: number): void => {
        if (target && slots[slot]) target.set(heap.f32(slots[slot]!, target.length));
      };
      back(into.dwih, Rec.DWIH);
      back(into.dwhh, Rec.DWHH);
      back(into.dbih, Rec.DBIH);
      back(into.dbhh, Rec.DBHH);
      back(into.dwhr, Rec.DWHR);
      return { dx: takeOr(Rec.DX, TB * I), dh0: heap.take(slots[Rec.DH]!, B * Hout), dc0: kind === 'lstm' ? heap.take(slots[Rec.DC]!, B * H) : null, dwih: null, dwhh: null, dbih: null, dbhh: null, dwhr: null };
    }
    return {
      dx: takeOr(Rec.DX, TB * I),
      dh0: heap.take(slots[Rec.DH]!, B * Hout),
      dc0: kind === 'lstm' ? heap.take(slots[Rec.DC]!, B * H) : null,
      dwih: takeOr(Rec.DWIH, GH * I),
      dwhh: takeOr(Rec.DWHH, GH * Hout),
      dbih: takeOr(Rec.DBIH, GH),
      dbhh: takeOr(Rec.DBHH, GH),
      dwhr: takeOr(Rec.DWHR, P * H),
    };
  }

  return {
    supports: (dims, dtype) => dtype === 'float32' && (fused(dims) || isScan(dims) || isVariant(dims)),
    supportsLengths: (dims, dtype) => dtype === 'float32' && fused(dims) && dims.P === 0,
    supportsGradTargets: (dims, dtype) => dtype === 'float32' && fused(dims),
    recurrentForward: guarded(recurrentForward),
    recurrentBackward: guarded(recurrentBackward),
  };
}
