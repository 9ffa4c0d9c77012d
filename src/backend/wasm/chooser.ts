/**
 * Whether a kind of call runs on the pool or on the calling thread alone, decided by measuring
 * both. On an idle machine the pool wins wherever the work per barrier pays for it; on a busy
 * one (a browser tab, a laptop, a CI runner: another process on the cores) a thread waiting at
 * a barrier for a descheduled peer loses more than the split gains, and one thread is faster.
 *
 * Per kind of call (a kernel and the size of its work between barriers), each choice keeps a
 * moving average of its seconds per unit of work. The better one runs; the other is tried again
 * now and then (less and less often while it keeps losing), on a small call where the caller
 * can make one, so a change of load is noticed and the trial costs little. The thread count
 * never changes a result, only its speed.
 */

/** A step of a trial: the fraction of a full call (for callers that can make calls smaller), and what it is for. */
interface TrialStep {
  scale: number;
  /** Not counted: it warms up (a sleeping worker wakes, the code and caches warm). */
  warm?: boolean;
  /** The trial goes on while the choice tried costs at most this many times the other. */
  goOn?: number;
}

/**
 * Trials. On callers that can make calls smaller (generation, in chunks), small calls first: a
 * choice far behind (the pool on a busy machine, many times slower) then costs two small calls
 * to rule out, and one close behind is measured on full calls; small calls pay a call's fixed
 * cost on less work, hence the looser bound on them. On callers that cannot, each step is a full
 * call, and only the pool (a worker to wake) or a first measure warms up.
 */
const SCALED: TrialStep[] = [{ scale: 1 / 64, warm: true }, { scale: 1 / 32, goOn: 2 }, { scale: 1 / 4, goOn: 1.25 }, { scale: 1 }];
const WHOLE: TrialStep[] = [{ scale: 1, goOn: 1.1 }, { scale: 1 }];
/** A trial's choice wins before its last step only when it costs less than this share of the other. */
const DECISIVE = 0.5;
const WHOLE_WARM: TrialStep[] = [{ scale: 1, warm: true }, ...WHOLE];
/**
 * The pool's trial on short calls (below SHORT_CALL): a worker that slept takes a few calls to
 * come back to speed (on a virtual machine its core wakes slowly and its cache is cold), which
 * one warm-up call left in the measure: the pool lost its trials and stayed unused where, warm,
 * it was the faster.
 */
const SHORT_WARM: TrialStep[] = [{ scale: 1, warm: true }, { scale: 1, warm: true }, { scale: 1, warm: true }, { scale: 1, warm: true }, ...WHOLE];

/** One kind of call's measurements. */
interface Arm {
  /** Seconds per unit of work: [one thread, the pool]; NaN until measured. */
  cost: [number, number];
  /** Seconds of calls until the losing choice is tried again, and the interval after that. */
  until: number;
  interval: number;
  /** A trial under way: the choice tried (0 one thread, 1 the pool), its steps, the next one, and its seconds so far. */
  trial: { arm: 0 | 1; steps: TrialStep[]; next: number; seconds: number } | null;
  /** Calls in a row of the choice in use that took more than twice the other's cost. */
  strikes: number;
  /** Seconds of the last call recorded (short calls warm the pool up longer on a trial). */
  last: number;
}

/** Weight of a new sample of the choice in use in its moving average (outliers left out: see strikes). */
const ALPHA = 0.1;
/** The choice in use gives way when its average costs this much more than the other's last measure... */
const SWITCH = 1.1;
/**
 * ...or after this many calls in a row that each cost more than twice the other's (another
 * process took a core); the choice left is tried again soon (STRIKE_INTERVAL seconds of calls),
 * as a virtual machine's cores also stall now and then for a few milliseconds.
 */
const STRIKES = 3;
const STRIKE_INTERVAL = 0.01;
/**
 * Seconds of calls between trials of the losing choice: from this, doubling while it keeps
 * losing (to MAX_INTERVAL), and at least TRIAL_SHARE_INV times the trial's own seconds. In time, not calls: a
 * trial's cost then stays a small share of the work whatever the size of a call, and whatever
 * it lost by (on a busy machine, a trial of a pool twenty times slower costs that much).
 */
const FIRST_INTERVAL = 0.05;
const MAX_INTERVAL = 2;
const TRIAL_SHARE_INV = 50;
/** Seconds under which a call is short: its first trial of one thread comes at once. */
const SHORT_CALL = 0.002;

export class ThreadChooser {
  private readonly arms = new Map<string, Arm>();
  /** Off: always the pool (tests of the kernels' thread counts set this). */
  enabled = true;

  /**
   * The threads for the next call of kind `key` given `nth` available (1 or nth), and `scale`:
   * the fraction of a full call to make it, for callers that can (`scalable`; below 1 on trials).
   */
  pick(key: string, nth: number, scalable = false): { nth: number; scale: number } {
    if (nth <= 1 || !this.enabled) return { nth, scale: 1 };
    let a = this.arms.get(key);
    if (!a) {
      // calls it can make smaller: one thread is measured first (on a small call), then the pool
      // is tried against it, so a busy machine costs two small calls on the pool; calls it cannot:
      // the pool first (warming up, then measured), and one thread once its trial, a whole call,
      // is a small share of the time (a training step's big calls: seconds later)
      a = { cost: [NaN, NaN], until: 0, interval: FIRST_INTERVAL, trial: null, strikes: 0, last: Infinity };
      a.trial = scalable ? { arm: 0, next: 0, seconds: 0, steps: SCALED } : { arm: 1, next: 0, seconds: 0, steps: WHOLE_WARM.slice(0, 2) };
      this.arms.set(key, a);
    }
    if (!a.trial && a.until <= 0) a.trial = this.trialOf(a.cost[0] <= a.cost[1] ? 1 : 0, scalable, a.last < SHORT_CALL);
    const arm = a.trial ? a.trial.arm : a.cost[0] <= a.cost[1] ? 0 : 1;
    return { nth: arm ? nth : 1, scale: a.trial ? a.trial.steps[a.trial.next]!.scale : 1 };
  }

  private trialOf(arm: 0 | 1, scalable: boolean, short = false): Arm['trial'] {
    return { arm, next: 0, seconds: 0, steps: scalable ? SCALED : arm === 1 ? (short ? SHORT_WARM : WHOLE_WARM) : WHOLE };
  }

  /** Records a call of kind `key` on `threads` that took `seconds` for `work` units. */
  record(key: string, threads: number, seconds: number, work: number): void {
    const a = this.arms.get(key);
    if (!this.enabled || !a || !(work > 0) || !(seconds >= 0)) return;
    const i = threads > 1 ? 1 : 0;
    const other = i ? 0 : 1;
    const c = seconds / work;
    a.last = seconds;
    const t = a.trial;
    if (t) {
      if (i !== t.arm) return;
      const step = t.steps[t.next++]!;
      t.seconds += seconds;
      if (step.warm) return;
      a.cost[i] = c; // a trial's measure replaces the choice's stale estimate
      if (Number.isNaN(a.cost[other])) {
        // the first measure of one choice: the other is tried against it, at once on small or
        // short calls (a trial costs next to nothing), later on long ones
        if (t.steps === SCALED || seconds < SHORT_CALL) a.trial = this.trialOf(other as 0 | 1, t.steps === SCALED, seconds < SHORT_CALL);
        else this.restart(a, Math.max(FIRST_INTERVAL, 2 * TRIAL_SHARE_INV * seconds));
        return;
      }
      // it wins: the choice from now on; the other, now losing, is tried once its call (at its last
      // cost) would be a small share of the time
      // (on a small call only when far ahead: a busy machine's pool is fast now and then, for a
      // few milliseconds at a time)
      const last = t.next === t.steps.length;
      if (c < (last ? 1 : DECISIVE) * a.cost[other]) this.restart(a, Math.max(FIRST_INTERVAL, TRIAL_SHARE_INV * a.cost[other] * work));
      else if (last || !(c <= step.goOn! * a.cost[other])) {
        // soon again at first (a few milliseconds' stall looks like a busy machine), then at
        // most one trial's seconds in TRIAL_SHARE_INV
        const next = Math.min(MAX_INTERVAL, 2 * a.interval);
        this.restart(a, next < 2 * FIRST_INTERVAL ? next : Math.max(next, TRIAL_SHARE_INV * t.seconds));
      }
      return;
    }
    if (Number.isNaN(a.cost[i])) return;
    a.until -= seconds;
    if (Number.isNaN(a.cost[other])) {
      a.cost[i] += ALPHA * (c - a.cost[i]); // nothing to compare with yet
      return;
    }
    const outlier = c > 2 * a.cost[other];
    a.strikes = outlier ? a.strikes + 1 : 0;
    if (!outlier) a.cost[i] += ALPHA * (c - a.cost[i]);
    // the choice in use got clearly slower than the other's last measure: switch, and keep watching
    if (a.strikes >= STRIKES) {
      a.cost[i] = c;
      this.restart(a, STRIKE_INTERVAL);
    } else if (a.cost[i] > SWITCH * a.cost[other]) this.restart(a, FIRST_INTERVAL);
  }

  private restart(a: Arm, interval: number): void {
    a.trial = null;
    a.strikes = 0;
    a.interval = interval;
    a.until = interval;
  }

  /** The estimated seconds per unit of work of the choice `pick` makes for `key` now (NaN: none yet). */
  cost(key: string): number {
    const a = this.arms.get(key);
    return a ? Math.min(a.cost[0], a.cost[1]) : NaN;
  }

  /** What was measured, for tests and tuning: per kind, [one thread, the pool] seconds per unit. */
  snapshot(): Record<string, [number, number]> {
    return Object.fromEntries([...this.arms].map(([k, a]) => [k, [a.cost[0], a.cost[1]]]));
  }
}
