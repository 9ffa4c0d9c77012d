/**
 * A layer's weights prepared once for the sequence kernels and kept in their memory between
 * calls: a decoder stepping through a batch calls its layer once per step, a generation loop once
 * per token, with the same weights each time, and copying and packing them afresh made such calls
 * cost many times their arithmetic. Each direction's weights are keyed by their stamp (see
 * WeightStamp): a later call with another version, or other arrays, prepares them again. The
 * blocks live in the PackedStore (least recently used evicted past its budget, prepared again on
 * next use) and are freed when the stamp's owner is collected.
 *
 * Forward reads wih^T, whh^T and whr^T packed as right operands; backward reads wih as it is (for
 * dx = dA @ wih) and whh and whr packed untransposed (for dA @ whh and dh @ whr).
 */
import type { FloatArray } from '../../tensor/dtype.js';
import type { RecurrentDims, RecurrentWeights, WeightStamp } from '../backend.js';
import { gateCount } from '../cells.js';
import type { PackedEntry } from './resident.js';
import type { WasmContext } from './context.js';
import { AheadTracker } from './pipeline.js';
import { AHEAD_THREADS } from './pool.js';

/** What a kernel call of one direction reads from the prepared blocks (addresses; 0: none). */
export interface PreparedWeights {
  /** forward: packed wih^T; backward: wih as it is */
  wih: number;
  /** forward: packed whh^T; backward: packed whh */
  whh: number;
  /** forward: packed whr^T; backward: packed whr (0 without a projection) */
  whr: number;
  /**
   * forward, where one row can split by hidden units over the pool (no projection, H a multiple
   * of 8): the pipelining state of Rec.PRE, Rec.HAHEAD, Rec.PREOK and Rec.TWS (0: none)
   */
  pre: number;
  hAhead: number;
  preOk: number;
  tws: number;
  /** Whether calls continue from each other's states, for planning the pipelining (null: none). */
  tracker: AheadTracker | null;
}

/** Whether one row of these dims splits by 8-unit blocks over threads (kernels/stepping.ts). */
export const unitSplit = (dims: RecurrentDims): boolean => dims.P === 0 && dims.H % 8 === 0;

interface Prepared {
  version: number;
  arrays: readonly (FloatArray | null)[];
  dimsKey: string;
  entry: PackedEntry;
}

/** The prepared weights of every stamped direction, for forward and for backward. */
export function weightPreparer(ctx: WasmContext): {
  forward(dims: RecurrentDims, w: RecurrentWeights): PreparedWeights | null;
  backward(dims: RecurrentDims, w: RecurrentWeights): PreparedWeights | null;
  /** A layer's weight b (N, K), as the right operand of x @ b^T: packed (K, N), kept between calls. */
  rightOperand(stamp: WeightStamp, b: Float32Array, K: number, N: number): number;
} {
  const { k, heap, packed } = ctx;
  const forwardSets = new WeakMap<object, Prepared>();
  const backwardSets = new WeakMap<object, Prepared>();
  // the blocks go when their owner does (the entry must not reference the owner: it is held strongly)
  const finalizer = new FinalizationRegistry<PackedEntry>((entry) => entry.dispose());

  /**
   * The blocks kept for `owner` in `sets`: made (or made again, after a change of version, sizes
   * or arrays) with `fill`, and made resident for the call under way.
   */
  function keep(sets: WeakMap<object, Prepared>, stamp: WeightStamp, arrays: readonly (FloatArray | null)[], dimsKey: string,
    sizes: number[], fill: (ptrs: number[]) => void): number[] {
    let p = sets.get(stamp.owner);
    if (p && (p.version !== stamp.version || p.dimsKey !== dimsKey || p.arrays.some((a, i) => a !== arrays[i]))) {
      finalizer.unregister(p);
      p.entry.dispose();
      sets.delete(stamp.owner);
      p = undefined;
    }
    if (!p) {
      const entry = packed.create(sizes, fill);
      p = { version: stamp.version, arrays, dimsKey, entry };
      sets.set(stamp.owner, p);
      finalizer.register(stamp.owner, entry, p);
    }
    return p.entry.use();
  }

  /** A stamped direction's blocks (null without a stamp, or for arrays the kernels do not read). */
  function prepare(sets: WeakMap<object, Prepared>, dims: RecurrentDims, w: RecurrentWeights, sizes: number[],
    fill: (wih: Float32Array, whh: Float32Array, whr: Float32Array | null, ptrs: number[]) => void): number[] | null {
    const stamp = w.stamp;
    if (!stamp || !(w.wih instanceof Float32Array) || !(w.whh instanceof Float32Array)) return null;
    const { kind, I, H, P } = dims;
    // the fill reads the arrays, never the stamp's owner (the registry holds the entry strongly)
    const wih = w.wih, whh = w.whh, whr = (w.whr as Float32Array | null) ?? null;
    return keep(sets, stamp, [wih, whh, whr], `${kind} ${I} ${H} ${P}`, sizes, (ptrs) => fill(wih, whh, whr, ptrs));
  }

  const matrices = new WeakMap<object, Prepared>();
  const trackers = new WeakMap<object, AheadTracker>();

  return {
    rightOperand(stamp, b, K, N) {
      return keep(matrices, stamp, [b], `${K} ${N}`, [k.packedBytes(K, N)], (ptrs) => {
        heap.reset();
        k.pack(heap.put(b), 1, K, N, ptrs[0]!);
      })[0]!;
    },
    forward(dims, w) {
      const { kind, I, H, P } = dims;
      const GH = gateCount(kind) * H;
      const Hout = P || H;
      const ahead = ctx.pool !== null && unitSplit(dims);
      const sizes = [k.packedBytes(I, GH), k.packedBytes(Hout, GH), P ? k.packedBytes(H, P) : 0,
        ahead ? GH * 4 : 0, ahead ? AHEAD_THREADS * H * 4 : 0, ahead ? AHEAD_THREADS * 4 : 0, ahead ? AHEAD_THREADS * 256 : 0];
      const p = prepare(forwardSets, dims, w, sizes, (wih, whh, whr, ptrs) => {
        heap.reset();
        k.pack(heap.put(wih), 1, I, GH, ptrs[0]!);
        k.pack(heap.put(whh), 1, Hout, GH, ptrs[1]!);
        if (P && whr) k.pack(heap.put(whr), 1, H, P, ptrs[2]!);
        if (ahead) heap.i32(ptrs[5]!, AHEAD_THREADS).fill(0); // nothing computed ahead yet
      });
      if (!p) return null;
      let tracker: AheadTracker | null = null;
      if (ahead) {
        const owner = w.stamp!.owner;
        tracker = trackers.get(owner) ?? new AheadTracker();
        trackers.set(owner, tracker);
      }
      return { wih: p[0]!, whh: p[1]!, whr: p[2]!, pre: p[3]!, hAhead: p[4]!, preOk: p[5]!, tws: p[6]!, tracker };
    },
    backward(dims, w) {
      const { kind, I, H, P } = dims;
      const GH = gateCount(kind) * H;
      const Hout = P || H;
      const p = prepare(backwardSets, dims, w, [GH * I * 4, k.packedBytes(GH, Hout), P ? k.packedBytes(P, H) : 0], (wih, whh, whr, ptrs) => {
        heap.f32(ptrs[0]!, GH * I).set(wih);
        heap.reset();
        k.pack(heap.put(whh), 0, GH, Hout, ptrs[1]!);
        if (P && whr) k.pack(heap.put(whr), 0, P, H, ptrs[2]!);
      });
      return p && { wih: p[0]!, whh: p[1]!, whr: p[2]!, pre: 0, hAhead: 0, preOk: 0, tws: 0, tracker: null };
    },
  };
}
