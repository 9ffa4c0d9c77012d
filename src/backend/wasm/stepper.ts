/**
 * The wasm backend's steppers: a layer's weights packed once in wasm memory (rebuilt when the
 * store's budget evicted them), run a few steps at a time, one row split over the pool's threads
 * by hidden units and pipelined, and generation through stacked layers in one kernel call
 * (kernels/stepping.ts, generate.ts).
 */
import type { FloatArray } from '../../tensor/dtype.js';
import {
  stepperIds, gatherRows, generateByRuns, type RecurrentKind, type StepperExtras, type RecurrentStepper, type RecurrentDims,
  type RecurrentWeights, type LayerAbove, type GenerationKernels,
} from '../backend.js';
import { gateCount } from '../cells.js';
import type { DrawOptions } from '../sample.js';
import { AHEAD_THREADS } from './pool.js';
import type { PackedEntry } from './resident.js';
import { Rec, GenLayer } from './abi.js';
import { referenceBackend as ref } from '../reference/index.js';
import { bucket, f32, fused, KIND, type WasmContext } from './context.js';
import { AheadTracker, pipelineSlots, type AheadPlan } from './pipeline.js';

/** The most memory a stepper spends on precomputed input projections of an embedding's rows. */
const TABLE_MAX_BYTES = 16 * 2 ** 20;
/**
 * Generation splits one row's hidden units between threads from this many multiply-adds of
 * h @ whh^T per step: below, a step is too short for the barrier between steps to pay.
 */
const GENERATE_MIN_STEP_WORK = 2 ** 17;
/**
 * Generation on the pool runs in chunks of about this many seconds (at least MIN, at most MAX
 * tokens), each where it is measured to be faster (see ThreadChooser; its trials are smaller).
 */
const GENERATE_CHUNK_SECONDS = 0.002;
const GENERATE_MIN_CHUNK = 32;
const GENERATE_MAX_CHUNK = 512;

/** Where a stepper's packed weights and pipelining state lie in the kernels' memory (0: none). */
interface StepperPtrs {
  wihP: number;
  whhP: number;
  whrP: number;
  bihP: number;
  bhhP: number;
  tableP: number;
  headP: number;
  headBP: number;
  preP: number;
  hAheadP: number;
  preOkP: number;
  twsP: number;
}

/** A stepper's sizes, and its packed weights (made resident by `ptrs`, for the call under way). */
interface StepperLayer {
  kind: RecurrentKind;
  I: number;
  H: number;
  P: number;
  hasTable: boolean;
  hasHead: boolean;
  ptrs: () => StepperPtrs;
  head: { O: number } | null;
  live: () => boolean;
}

/** The generation extension of the wasm backend. */
export function generationKernels(ctx: WasmContext): GenerationKernels {
  const { k, heap, packed, pool, chooser, choose, launch, threadsFor, rowThreads, wsBytes, guarded, ctrl } = ctx;

  // A stepper call's results, a few small arrays per generated token, are carved from shared
  // 32 KiB buffers: allocating a typed array of its own costs a microsecond or two in V8, as long
  // as the rest of a generation step. (A result kept alive keeps its buffer alive: at most 32 KiB.)
  const CHUNK_FLOATS = 8192;
  let chunk = new Float32Array(0);
  let chunkUsed = 0;
  const stepResult = (src: Float32Array): Float32Array => {
    const n = src.length;
    let v: Float32Array;
    if (n > CHUNK_FLOATS / 4) v = new Float32Array(n);
    else {
      if (chunkUsed + n > chunk.length) {
        chunk = new Float32Array(CHUNK_FLOATS);
        chunkUsed = 0;
      }
      v = chunk.subarray(chunkUsed, chunkUsed + n);
      chunkUsed += n;
    }
    v.set(src);
    return v;
  };

  // a stepper dropped without dispose(): its packed weights go when it is collected (and, before
  // that, when the store's budget needs the room)
  const finalizer = new FinalizationRegistry<PackedEntry>((entry) => entry.dispose());

  /** Each of this backend's steppers' packed weights, for a generating stepper below it. */
  const stepperLayers = new WeakMap<RecurrentStepper, StepperLayer>();

  function recurrentStepper(dims: RecurrentDims, w: RecurrentWeights, extras: StepperExtras = {}): RecurrentStepper {
    const { embedding, head } = extras;
    // supports() saw wih's element type; arrays of mixed types take the reference's stepper
    if (!f32(w.wih, w.whh, w.bih, w.bhh, w.whr, embedding?.weight ?? null, head?.weight ?? null, head?.bias ?? null)) {
      return ref.recurrentStepper(dims, w, extras);
    }
    const { kind, I, H, P } = dims;
    const GH = gateCount(kind) * H;
    const Hout = P || H;
    // A small vocabulary's input projections are precomputed (V, GH): a step then reads one row
    // of them instead of all of wih. Beyond TABLE_MAX_BYTES, rows are gathered and projected.
    const V = embedding?.V ?? 0;
    const useTable = embedding !== undefined && V * GH * 4 <= TABLE_MAX_BYTES;
    const embCopy = embedding && !useTable ? (embedding.weight as Float32Array).slice() : null;
    const O = head?.O ?? 0;
    // one row splits over threads by blocks of 8 hidden units, and is pipelined: the workers
    // compute the next step's product with h_T ahead, while this thread runs the JavaScript
    // between calls (see Rec.PRE in kernels/abi.ts)
    const unitSplit = P === 0 && H % 8 === 0;
    const ahead = pool !== null && unitSplit;
    // the packed weights (and the pipelining state), rebuilt from the weights whenever the store
    // evicted them: the layer's own arrays, unchanged while the stepper may run (it refuses to
    // run once they change)
    const layout: [keyof StepperPtrs, number][] = [
      ['wihP', k.packedBytes(I, GH)], ['whhP', k.packedBytes(Hout, GH)], ['whrP', P ? k.packedBytes(H, P) : 0],
      ['bihP', w.bih ? GH * 4 : 0], ['bhhP', w.bhh ? GH * 4 : 0], ['tableP', useTable ? V * GH * 4 : 0],
      ['headP', head ? k.packedBytes(Hout, O) : 0], ['headBP', head?.bias ? O * 4 : 0],
      ['preP', ahead ? GH * 4 : 0], ['hAheadP', ahead ? AHEAD_THREADS * H * 4 : 0], ['preOkP', ahead ? AHEAD_THREADS * 4 : 0], ['twsP', ahead ? AHEAD_THREADS * 256 : 0],
    ];
    const asPtrs = (list: number[]): StepperPtrs => Object.fromEntries(layout.map(([name], i) => [name, list[i]!])) as unknown as StepperPtrs;
    const entry = packed.create(layout.map(([, bytes]) => bytes), (list) => {
      const q = asPtrs(list);
      heap.reset();
      k.pack(heap.put(w.wih as Float32Array), 1, I, GH, q.wihP);
      k.pack(heap.put(w.whh as Float32Array), 1, Hout, GH, q.whhP);
      if (P) k.pack(heap.put(w.whr as Float32Array), 1, H, P, q.whrP);
      if (ahead) heap.i32(q.preOkP, AHEAD_THREADS).fill(0);
      if (w.bih) heap.f32(q.bihP, GH).set(w.bih);
      if (w.bhh) heap.f32(q.bhhP, GH).set(w.bhh);
      if (head) {
        heap.reset();
        k.pack(heap.put(head.weight as Float32Array), 1, Hout, O, q.headP);
        if (head.bias) heap.f32(q.headBP, O).set(head.bias);
      }
      if (useTable) {
        // the embedding's rows times wih^T, by the same sums as a step's own projection
        heap.reset();
        const pe = heap.put((embedding.weight as Float32Array).subarray(0, V * I));
        const pw = heap.put(w.wih as Float32Array);
        k.gemm(0, 1, V, GH, I, pe, pw, q.tableP, 0, heap.alloc(wsBytes), 0, 1);
      }
    });
    const ptrs = (): StepperPtrs => asPtrs(entry.use());
    const slots = new Array<number>(Rec.COUNT).fill(0); // a call's argument slots, reused
    const tracker = new AheadTracker();
    let live = true;
    const token = {};
    finalizer.register(token, entry, token);
    // what a generating stepper below reads of this one (stacked layers run in its kernel)
    const mine: StepperLayer = { kind, I, H, P, hasTable: useTable, hasHead: !!head, ptrs, head: head ?? null, live: () => live };
    const stepper: RecurrentStepper & { token: object } = {
      token,
      run: guarded((xIn: FloatArray | Int32Array, T: number, B: number, h0: FloatArray, c0: FloatArray | null, lastOnly = false) => {
        if (!live) throw new Error('RecurrentStepper.run: the stepper was disposed');
        let x: FloatArray | null = null;
        let ids: Int32Array | null = null;
        if (embedding) {
          ids = stepperIds(xIn, T * B, V);
          if (embCopy) {
            x = gatherRows(embCopy, ids, T * B, I);
            ids = null;
          }
        } else if (xIn instanceof Int32Array) throw new Error('RecurrentStepper.run: token ids given but the stepper has no embedding');
        else x = xIn;
        if (!(x === null || x instanceof Float32Array) || !(h0 instanceof Float32Array) || !(c0 === null || c0 instanceof Float32Array)) {
          throw new Error('RecurrentStepper.run: float32 inputs expected');
        }
        const q = ptrs(); // before the scratch: packing them (again) may move it
        heap.reset();
        const lstm = kind === 'lstm';
        // one row splits by hidden units (whole 8-unit blocks, no projection), more rows by rows
        const stepWork = B * (GH * (I + Hout) + O * Hout);
        const { nth, meter } = choose(`step:${kind}:${B === 1 ? 'units' : 'rows'}:${bucket(stepWork)}`, unitSplit && B === 1 ? threadsFor(T * stepWork) : rowThreads(T, B, stepWork));
        if (meter) meter.work = T * stepWork;
        slots.fill(0);
        slots[Rec.KIND] = KIND[kind]!;
        slots[Rec.T] = T; slots[Rec.B] = B; slots[Rec.I] = I; slots[Rec.H] = H; slots[Rec.P] = P;
        slots[Rec.X] = x ? heap.put(x as Float32Array) : 0;
        slots[Rec.WIH] = q.wihP;
        slots[Rec.BIH] = q.bihP;
        slots[Rec.BHH] = q.bhhP;
        slots[Rec.H0] = heap.put(h0 as Float32Array);
        slots[Rec.C0] = c0 ? heap.put(c0 as Float32Array) : 0;
        slots[Rec.OUT] = heap.alloc(T * B * Hout * 4);
        slots[Rec.GATES] = heap.alloc(T * B * GH * 4);
        slots[Rec.C] = lstm ? heap.alloc(T * B * H * 4) : 0;
        slots[Rec.TC] = lstm ? heap.alloc(T * B * H * 4) : 0;
        slots[Rec.M] = lstm && P ? heap.alloc(T * B * H * 4) : 0;
        slots[Rec.HN] = kind === 'gru' ? heap.alloc(T * B * H * 4) : 0;
        slots[Rec.HH] = heap.alloc(B * GH * 4);
        slots[Rec.WPACK] = q.whhP;
        slots[Rec.RPACK] = q.whrP;
        slots[Rec.WS] = heap.alloc(wsBytes * nth);
        slots[Rec.NTH] = nth;
        slots[Rec.CTRL] = ctrl;
        slots[Rec.WSB] = wsBytes;
        slots[Rec.PREPACKED] = 1;
        if (ids) {
          slots[Rec.IDS] = heap.putI32(ids.subarray(0, T * B));
          slots[Rec.TABLE] = q.tableP;
        }
        let plan: AheadPlan | null = null;
        if (ahead && B === 1 && nth > 1) {
          plan = tracker.plan(h0 as Float32Array);
          pipelineSlots(slots, q.preP, q.hAheadP, q.preOkP, q.twsP, H, nth, T, plan);
        }
        if (head) {
          slots[Rec.HEAD] = q.headP;
          slots[Rec.HEADB] = q.headBP;
          slots[Rec.O] = O;
          slots[Rec.LOGITS] = heap.alloc(T * B * O * 4);
        }
        const args = heap.args(slots);
        launch(nth, 'recurrentForward', [args], () => k.recurrentForward(args, 0), meter);
        const nH = B * Hout;
        if (ahead && B === 1) tracker.done(heap.f32(slots[Rec.OUT]! + (T - 1) * nH * 4, nH), plan?.ahead ?? false);
        const hN = stepResult(heap.f32(slots[Rec.OUT]! + (T - 1) * nH * 4, nH));
        return {
          out: lastOnly ? hN : stepResult(heap.f32(slots[Rec.OUT]!, T * nH)),
          hN,
          cN: lstm ? stepResult(heap.f32(slots[Rec.C]! + (T - 1) * B * H * 4, B * H)) : null,
          logits: head ? stepResult(heap.f32(slots[Rec.LOGITS]!, T * B * O)) : null,
        };
      }),
      generate: guarded((first: number, n: number, h0: FloatArray, c0: FloatArray | null, sample: DrawOptions, uniforms: Float64Array, above: readonly LayerAbove[] = []) => {
        const { temperature } = sample;
        if (!live) throw new Error('RecurrentStepper.generate: the stepper was disposed');
        if (!embedding) throw new Error('RecurrentStepper.generate: the stepper needs an embedding');
        if (!(Number.isInteger(n) && n >= 1)) throw new Error(`RecurrentStepper.generate: n must be a whole number >= 1, got ${n}`);
        stepperIds(Int32Array.of(first), 1, V);
        // the whole stack in one kernel: the same kind and size throughout, no projection, this
        // backend's steppers, float32, this layer's input rows precomputed, the head on top, and
        // no top-k or top-p (the kernel draws from all the tokens)
        const stack = [mine, ...above.map((a) => stepperLayers.get(a.stepper))];
        const top = stack[stack.length - 1];
        const states = [{ h: h0, c: c0 }, ...above.map((a) => ({ h: a.h0, c: a.c0 }))];
        const fused = sample.topK === 0 && sample.topP === 1 && useTable && top?.head && stack.every((m, l) => m && m.live() && m.kind === kind && m.H === H && !m.P && (l === 0 || m.I === H) && (l === 0 || !m.hasTable) && (m === top || !m.hasHead))
          && states.every((st) => st.h instanceof Float32Array && (st.c === null || st.c instanceof Float32Array));
        if (!fused) return generateByRuns(stepper, first, n, h0, c0, sample, uniforms, above);
        const O = top.head!.O;
        if (O > V) throw new Error(`RecurrentStepper.generate: the head's ${O} outputs are not all token ids of the embedding's ${V}`);
        if (temperature > 0 && uniforms.length < n) throw new Error(`RecurrentStepper.generate: ${n} uniforms expected, got ${uniforms.length}`);
        // every layer's packed weights resident (and pinned) for the whole call
        const layerPtrs = stack.map((m) => m!.ptrs());
        const lstm = kind === 'lstm';
        const L = stack.length;
        const stepWork = L * GH * H;
        const pooled = unitSplit && GH * H >= GENERATE_MIN_STEP_WORK ? threadsFor(n * stepWork) : 1;
        const key = `generate:${kind}:${bucket(stepWork)}`;
        /** m tokens from `tok` and the layers' states `st`, on nth threads: one kernel call. */
        const chunk = (tok: number, m: number, st: { h: FloatArray; c: FloatArray | null }[], u0: number, nth: number) => {
          heap.reset();
          // each thread's rows start on their own 64-byte cache lines (no line written by two
          // threads in a step: that costs microseconds a step here)
          const opad = (O + 15) & ~15;
          const line = (bytes: number): number => (heap.alloc(bytes + 64) + 63) & ~63;
          const records = new Int32Array(GenLayer.COUNT * L);
          const hBufs: number[] = [];
          const cBufs: number[] = [];
          stack.forEach((layer, l) => {
            const r = records.subarray(GenLayer.COUNT * l);
            const q = layerPtrs[l]!;
            r[GenLayer.I] = layer!.I; r[GenLayer.WIH] = l === 0 ? 0 : q.wihP; r[GenLayer.WHH] = q.whhP; r[GenLayer.BIH] = q.bihP; r[GenLayer.BHH] = q.bhhP;
            r[GenLayer.H0] = heap.put(st[l]!.h as Float32Array);
            r[GenLayer.C0] = st[l]!.c ? heap.put(st[l]!.c as Float32Array) : 0;
            r[GenLayer.H] = hBufs[l] = line(2 * H * 4);
            r[GenLayer.C] = cBufs[l] = lstm ? line(2 * H * 4) : 0;
            r[GenLayer.GATES] = line(GH * 4);
            r[GenLayer.HH] = line(GH * 4);
            r[GenLayer.TC] = lstm ? line(H * 4) : 0;
            r[GenLayer.HN] = kind === 'gru' ? line(H * 4) : 0;
          });
          slots.fill(0);
          slots[Rec.KIND] = KIND[kind]!;
          slots[Rec.T] = m; slots[Rec.H] = H;
          slots[Rec.WS] = line(wsBytes * nth);
          slots[Rec.NTH] = nth;
          slots[Rec.CTRL] = ctrl;
          slots[Rec.WSB] = wsBytes;
          slots[Rec.IDS] = heap.alloc(m * 4);
          slots[Rec.TABLE] = layerPtrs[0]!.tableP;
          slots[Rec.HEAD] = layerPtrs[L - 1]!.headP;
          slots[Rec.HEADB] = layerPtrs[L - 1]!.headBP;
          slots[Rec.O] = O;
          slots[Rec.LOGITS] = line(2 * nth * opad * 4);
          slots[Rec.UNIF] = temperature > 0 ? heap.putF64(uniforms.subarray(u0, u0 + m)) : 0;
          slots[Rec.TEMP] = new Int32Array(Float32Array.of(temperature).buffer)[0]!;
          slots[Rec.FIRST] = tok;
          slots[Rec.OPAD] = opad;
          slots[Rec.LAYERS] = heap.putI32(records);
          slots[Rec.NL] = L;
          const args = heap.args(slots);
          launch(nth, 'recurrentGenerate', [args], () => k.recurrentGenerate(args, 0), pooled > 1 ? { key, work: m * stepWork } : undefined);
          const at = (buf: number): number => buf + ((m - 1) & 1) * H * 4; // the last step's half
          return {
            ids: heap.i32(slots[Rec.IDS]!, m).slice(),
            states: stack.map((_, l) => ({ h: heap.take(at(hBufs[l]!), H) as FloatArray, c: lstm ? heap.take(at(cBufs[l]!), H) as FloatArray : null })),
            logits: heap.take(slots[Rec.LOGITS]!, O),
          };
        };
        // on the pool, in chunks each of which runs where it is measured to be faster (a trial of
        // the slower choice is a short chunk); the same tokens and state as one call
        const ids = new Int32Array(n);
        let st = states as { h: FloatArray; c: FloatArray | null }[];
        let tok = first;
        let logits: Float32Array = new Float32Array(0);
        for (let done = 0; done < n;) {
          const pick = chooser.pick(key, pooled, true);
          // chunks of about GENERATE_CHUNK_SECONDS at the speed measured: a machine that turns
          // busy in the middle of one costs at most that many times its slowdown
          const per = chooser.cost(key) * stepWork;
          const full = Number.isFinite(per) ? Math.max(GENERATE_MIN_CHUNK, Math.min(GENERATE_MAX_CHUNK, Math.round(GENERATE_CHUNK_SECONDS / per))) : GENERATE_MAX_CHUNK;
          const m = pooled > 1 ? Math.min(n - done, Math.max(1, Math.ceil(pick.scale * full))) : n;
          const r = chunk(tok, m, st, done, pick.nth);
          ids.set(r.ids, done);
          tok = r.ids[m - 1]!;
          st = r.states;
          logits = r.logits;
          done += m;
        }
        return { ids, hN: st[0]!.h, cN: st[0]!.c, above: st.slice(1).map((x) => ({ hN: x.h, cN: x.c })), logits };
      }),
      dispose() {
        if (!live) return;
        live = false;
        finalizer.unregister(token);
        entry.dispose();
      },
    };
    stepperLayers.set(stepper, mine);
    return stepper;
  }

  return {
    supports: (dims, dtype) => dtype === 'float32' && fused(dims),
    recurrentStepper,
  };
}
