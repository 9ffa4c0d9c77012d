/**
 * The choice between the pool and one thread, on simulated calls whose seconds per unit of work
 * depend on the choice and on a load that changes: it follows the faster, and what it spends
 * trying the slower stays a small share of the time.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ThreadChooser } from 'recurrent/internal';

/**
 * Runs `calls` calls of `work` units (scaled down on trials); `cost(nth, t)` is seconds per unit
 * at time t, and a call costs 30 us more on one thread, 80 us more on the pool (as waking a
 * sleeping worker does). `perUnit`: the seconds per unit of work over the run.
 */
function simulate(ch: ThreadChooser, calls: number, work: number, cost: (nth: number, t: number) => number, t0 = 0): { perUnit: number; poolShare: number } {
  const scalable = work > 1;
  let t = t0;
  let onPool = 0;
  let total = 0;
  let done = 0;
  for (let i = 0; i < calls; i++) {
    const { nth, scale } = ch.pick('k', 2, scalable);
    const units = Math.max(1, Math.round(work * scale));
    const s = units * cost(nth, t) + (work > 1 ? (nth > 1 ? 80e-6 : 30e-6) : 0);
    ch.record('k', nth, s, units);
    t += s;
    total += s;
    done += units;
    if (nth > 1) onPool += s;
  }
  return { perUnit: total / done, poolShare: onPool / total };
}

describe('ThreadChooser', () => {
  it('on an idle machine (the pool 1.5 times faster): the pool, with little spent on one thread', () => {
    const ch = new ThreadChooser();
    const r = simulate(ch, 2000, 256, (nth) => (nth > 1 ? 12e-6 : 18e-6));
    assert.ok(r.poolShare > 0.97, `pool share of the time ${r.poolShare}`);
    assert.ok(r.perUnit < 1.03 * 12e-6, `${r.perUnit} s a unit against 12e-6 on the pool alone`);
  });
  it('on a busy machine (the pool 20 times slower): one thread, the trials of the pool within 5% of the time', () => {
    // a long run, and one of 20,000 tokens (a CLI's generate --length 20000)
    for (const calls of [2000, 80]) {
      const r = simulate(new ThreadChooser(), calls, 256, (nth) => (nth > 1 ? 360e-6 : 18e-6));
      assert.ok(r.perUnit < 1.05 * 18e-6, `${calls} calls: ${r.perUnit} s a unit against 18e-6 on one thread alone`);
    }
  });
  it('single calls that cannot be made smaller (stepping): the same', () => {
    const busy = simulate(new ThreadChooser(), 20000, 1, (nth) => (nth > 1 ? 300e-6 : 15e-6));
    assert.ok(busy.perUnit < 1.05 * 15e-6, `${busy.perUnit}`);
    const idle = simulate(new ThreadChooser(), 20000, 1, (nth) => (nth > 1 ? 10e-6 : 15e-6));
    assert.ok(idle.perUnit < 1.05 * 10e-6, `${idle.perUnit}`);
  });
  it('short calls on a pool whose worker sleeps while unused (slow for a few calls after): the pool', () => {
    // one thread 22 us a call; the pool 16 once warm, but 250, 50 and 22 us for its first calls
    // after a rest of more than 0.2 ms (a virtual machine's core waking, a cold cache)
    let t = 0;
    let lastPool = -1;
    let warm = 0;
    const cold = [250e-6, 50e-6, 22e-6];
    const cost = (nth: number): number => {
      if (nth === 1) return (t += 22e-6), 22e-6;
      if (t - lastPool > 2e-4) warm = 0;
      const s = warm < cold.length ? cold[warm]! : 16e-6;
      warm++;
      t += s;
      lastPool = t;
      return s;
    };
    const r = simulate(new ThreadChooser(), 40000, 1, (nth) => cost(nth));
    assert.ok(r.poolShare > 0.9, `pool share of the time ${r.poolShare}`);
    assert.ok(r.perUnit < 1.1 * 16e-6, `${r.perUnit} s a call against 16e-6 on a warm pool`);
  });
  it('big calls it cannot make smaller (a training step\'s kernels): the pool, trials of one thread a small share', () => {
    const r = simulate(new ThreadChooser(), 300, 1, (nth) => (nth > 1 ? 10e-3 : 18e-3));
    assert.ok(r.perUnit < 1.03 * 10e-3, `${r.perUnit}`);
  });
  it('a noisy machine (one call in 30 four times slower) does not drive it off the pool', () => {
    let k = 0;
    const r = simulate(new ThreadChooser(), 3000, 256, (nth) => (nth > 1 ? (++k % 30 === 0 ? 48e-6 : 12e-6) : 18e-6));
    assert.ok(r.poolShare > 0.95, `pool share ${r.poolShare}`);
  });
  it('follows a change of load both ways, within a few seconds', () => {
    const ch = new ThreadChooser();
    // idle, then busy from t = 1 s to 3 s, then idle again
    const cost = (nth: number, t: number): number => (nth > 1 ? (t > 1 && t < 3 ? 360e-6 : 12e-6) : 18e-6);
    let r = simulate(ch, 300, 256, cost); // about 1 s, idle: on the pool
    assert.ok(r.poolShare > 0.95);
    r = simulate(ch, 300, 256, cost, 1.05); // busy (to about 2.5 s): moves to one thread after three slow calls
    assert.ok(r.poolShare < 0.2, `${r.poolShare}`);
    const [one, pool] = ch.snapshot()['k']!;
    assert.ok(one < pool, `one thread ${one} s a unit, the pool ${pool}: one thread is the choice`);
    r = simulate(ch, 1500, 256, cost, 3.05); // idle again: back to the pool once a trial finds it faster
    assert.ok(r.poolShare > 0.5, `${r.poolShare}`);
    const [one2, pool2] = ch.snapshot()['k']!;
    assert.ok(pool2 < one2, 'the pool is the choice again');
  });
  it('off, or with one thread available, it always gives what is available', () => {
    const ch = new ThreadChooser();
    assert.deepEqual(ch.pick('k', 1), { nth: 1, scale: 1 });
    ch.enabled = false;
    for (let i = 0; i < 50; i++) {
      assert.deepEqual(ch.pick('k', 3), { nth: 3, scale: 1 });
      ch.record('k', 3, 1, 1);
    }
  });
});
