// The barrier of threads inside a kernel, on the pool's control words (Ctrl, abi.ts), and how a
// thread waits at it.
import { Ctrl } from './abi';

/**
 * One wait (at most a millisecond) while the generation word at addr still holds gen. V8's
 * baseline compiler (Liftoff, in Node 20) can lose the values a function keeps in registers
 * across memory.atomic.wait: inlined in the barrier's loop, the loop then never saw the new
 * generation and the thread slept for good. So the wait sits alone in its own function, called
 * through a table (below) so that Binaryen cannot inline it; the caller keeps its values on its
 * stack across the call, and nothing after the wait here reads a register.
 */
export function blockingWait(addr: usize, gen: i32): void {
  if (ASC_FEATURE_THREADS) atomic.wait<i32>(addr, gen, 1000000);
}

/** The spinning thread's wait: none (a browser's main thread may not block). */
export function noWait(addr: usize, gen: i32): void {}

/** How a thread waits at a barrier once spinning has gone on for a while (see setMayWait). */
let waitAt: (addr: usize, gen: i32) => void = blockingWait;

/** Whether this thread may block in atomic.wait (a browser's main thread may not: it spins). */
export function setMayWait(flag: i32): void {
  waitAt = flag != 0 ? blockingWait : noWait;
}

/** The pool's control word set when a thread's share of the job failed (src/backend/wasm/pool.ts). */
export const FAILED_WORD: usize = Ctrl.FAILED * 4;

/**
 * Waits until all nth threads have arrived (the pool's barrier words Ctrl.BARRIER_COUNT and _GEN). Stops
 * the kernel (a trap) if a thread failed meanwhile: it will never arrive.
 */
export function barrier(ctrl: usize, nth: i32): void {
  if (nth <= 1) return;
  if (ASC_FEATURE_THREADS) {
    const count = ctrl + Ctrl.BARRIER_COUNT * 4, generation = ctrl + Ctrl.BARRIER_GEN * 4;
    const gen = atomic.load<i32>(generation);
    if (atomic.add<i32>(count, 1) == nth - 1) {
      atomic.store<i32>(count, 0);
      atomic.add<i32>(generation, 1);
      atomic.notify(generation, nth);
    } else {
      let spins = 0;
      while (atomic.load<i32>(generation) == gen) {
        if (atomic.load<i32>(ctrl + FAILED_WORD) != 0) unreachable();
        if (++spins > 65536) waitAt(generation, gen);
      }
    }
  }
}
