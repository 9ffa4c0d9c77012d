/**
 * One batch row split by hidden units over the pool, pipelined (kernels/stepping.ts, Rec.PRE):
 * how each call shares the units and whether it computes the next call's first product ahead.
 */
import { Rec } from './abi.js';

/**
 * A pipelined one-step call's share of hidden units for the calling thread, against 1 for each
 * worker: the workers' extra share is computed ahead (the next step's product, see Rec.PRE),
 * while this thread runs the JavaScript between calls.
 */
const AHEAD_MAIN_SHARE = 0.6;

/**
 * The calling thread's share against 1 for each worker in a pipelined call of T steps: only the
 * first step's product can have been computed ahead, so the longer the call, the closer to an
 * even split (the one-step share on a long call left the caller waiting at every step's barrier
 * for a worker with more units).
 */
const mainShare = (T: number): number => (T - 1 + AHEAD_MAIN_SHARE) / T;

/**
 * The argument slots of a pipelined one-row call of T steps over H units on nth threads, as its
 * AheadTracker planned it: where the next step's product is computed ahead (Rec.PRE, HAHEAD,
 * PREOK, TWS; none when this call should not compute ahead), and the calling thread's 8-unit
 * blocks (Rec.MAIN: fewer than an even share only where the workers' product computed ahead can
 * serve this call's first step).
 */
export function pipelineSlots(slots: number[], pre: number, hAhead: number, preOk: number, tws: number, H: number, nth: number, T: number,
  plan: AheadPlan): void {
  if (!plan.ahead) return;
  slots[Rec.PRE] = pre;
  slots[Rec.HAHEAD] = hAhead;
  slots[Rec.PREOK] = preOk;
  slots[Rec.TWS] = tws;
  const share = plan.valid ? mainShare(T) : 1;
  slots[Rec.MAIN] = Math.max(1, Math.round(((H / 8) * share) / (share + nth - 1)));
}

/** How a pipelined one-row call runs: see AheadTracker. */
export interface AheadPlan {
  /** The workers' product computed ahead may serve this call's first step (the kernel checks it bit for bit). */
  valid: boolean;
  /** This call computes the next one's first product ahead. */
  ahead: boolean;
}

/**
 * Whether a one-row caller's calls continue from each other's states (a generation loop, a
 * stream fed step by step) or each start afresh (inference on new sequences, from zeros), judged
 * by the last call. Computing ahead pays only for the first kind: for the second, the workers'
 * product ahead is thrown away, keeps a worker busy into the next call, and leaves the calling
 * thread a share of units meant for a head start the workers did not get.
 */
export class AheadTracker {
  private last: Float32Array | null = null;
  private computed = false;

  /** The plan of a call that starts from h0 (the state its first step reads). */
  plan(h0: Float32Array): AheadPlan {
    const last = this.last;
    if (last === null) return { valid: false, ahead: true };
    let same = last.length === h0.length;
    for (let i = 0; same && i < last.length; i++) same = last[i] === h0[i];
    return { valid: same && this.computed, ahead: same };
  }

  /** After a call: the state its last step left (what the product ahead started from) and whether it computed ahead. */
  done(hLast: Float32Array, computedAhead: boolean): void {
    if (this.last === null || this.last.length !== hLast.length) this.last = new Float32Array(hLast.length);
    this.last.set(hLast);
    this.computed = computedAhead;
  }
}
