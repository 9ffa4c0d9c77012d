import { Tensor } from '../tensor/tensor.js';
import { allocLike, type FloatArray } from '../tensor/dtype.js';

/** Options of `ExponentialMovingAverage`. */
export interface ExponentialMovingAverageOptions {
  /** The weight kept by the average at each update, in [0, 1) (default 0.999). */
  decay?: number;
}

/** What `ExponentialMovingAverage.stateDict` returns: the number of updates and the averages. */
export interface ExponentialMovingAverageState {
  numUpdates: number;
  averages: number[][];
}

/**
 * An exponential moving average of parameters (Polyak averaging), as PyTorch's
 * `AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))` and Keras's optimizers with
 * `use_ema`: after each optimizer step `update()` moves every average towards its parameter,
 * `average = decay * average + (1 - decay) * parameter`; the first update copies the parameters,
 * as PyTorch's does. `withAveraged(fn)` runs `fn` (evaluation, saving) with the averages in the
 * parameters and puts the trained values back afterwards, also when `fn` throws.
 *
 * The averages of a model still learning lag behind it; near the end of training, with a small
 * learning rate, they usually generalise better than the last step's weights.
 */
export class ExponentialMovingAverage {
  /** The weight kept by the average at each update. */
  readonly decay: number;
  private readonly params: Tensor[];
  private readonly averages: FloatArray[];
  private updates = 0;
  private swapped = false;

  constructor(params: Iterable<Tensor>, options: ExponentialMovingAverageOptions = {}) {
    const who = 'ExponentialMovingAverage';
    const decay = options.decay ?? 0.999;
    if (typeof decay !== 'number' || !(decay >= 0 && decay < 1)) throw new Error(`${who}: decay must be a number in [0, 1), got ${String(decay)}`);
    this.decay = decay;
    this.params = [...params];
    if (this.params.length === 0) throw new Error(`${who}: got an empty parameter list`);
    this.params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new Error(`${who}: parameter ${i} is not a Tensor`);
      if (p.dtype === 'int32') throw new Error(`${who}: parameter ${i} is int32; only floating-point tensors can be averaged`);
    });
    if (new Set(this.params).size !== this.params.length) throw new Error(`${who}: a parameter appears more than once`);
    this.averages = this.params.map((p) => {
      const a = allocLike(p.data as FloatArray, p.size);
      a.set(p.data);
      return a;
    });
  }

  /** How many times `update()` has run. */
  get numUpdates(): number {
    return this.updates;
  }

  /** Moves every average towards its parameter's present value (the first call copies them). */
  update(): void {
    if (this.swapped) throw new Error('ExponentialMovingAverage.update: called inside withAveraged, where the parameters hold the averages');
    const keep = this.updates === 0 ? 0 : this.decay;
    const take = 1 - keep;
    this.params.forEach((p, i) => {
      const a = this.averages[i]!, d = p.data;
      if (d.length !== a.length) throw new Error(`ExponentialMovingAverage.update: parameter ${i} now has ${d.length} values, expected ${a.length}`);
      for (let j = 0; j < a.length; j++) a[j] = keep * a[j]! + take * d[j]!;
    });
    this.updates++;
  }

  /**
   * Runs `fn` with the averages in the parameters and restores the trained values when it returns
   * (or when the promise it returns settles), also when it throws. Returns what `fn` returns.
   */
  withAveraged<T>(fn: () => T): T {
    if (this.swapped) throw new Error('ExponentialMovingAverage.withAveraged: already inside withAveraged');
    const saved = this.params.map((p) => {
      const s = allocLike(p.data as FloatArray, p.size);
      s.set(p.data);
      return s;
    });
    const put = (values: FloatArray[]): void => this.params.forEach((p, i) => {
      p.data.set(values[i]!);
      p.markModified();
    });
    put(this.averages);
    this.swapped = true;
    const restore = (): void => {
      put(saved);
      this.swapped = false;
    };
    let result: T;
    try {
      result = fn();
    } catch (e) {
      restore();
      throw e;
    }
    if (result instanceof Promise) return result.finally(restore) as T;
    restore();
    return result;
  }

  /** Writes the averages into the parameters for good (the trained values are dropped). */
  copyTo(): void {
    if (this.swapped) throw new Error('ExponentialMovingAverage.copyTo: called inside withAveraged');
    this.params.forEach((p, i) => {
      p.data.set(this.averages[i]!);
      p.markModified();
    });
  }

  /** The number of updates and the averages, for checkpoints (the decay is the constructor's). */
  stateDict(): ExponentialMovingAverageState {
    return { numUpdates: this.updates, averages: this.averages.map((a) => Array.from(a)) };
  }

  /** Restores what `stateDict` returned, for the same parameters in the same order. */
  loadStateDict(state: ExponentialMovingAverageState): void {
    const who = 'ExponentialMovingAverage.loadStateDict';
    if (!state || !Array.isArray(state.averages) || typeof state.numUpdates !== 'number') throw new Error(`${who}: expected { numUpdates, averages }`);
    if (!Number.isInteger(state.numUpdates) || state.numUpdates < 0) throw new Error(`${who}: numUpdates must be a non-negative integer, got ${state.numUpdates}`);
    if (state.averages.length !== this.params.length) throw new Error(`${who}: has ${state.averages.length} averages, expected ${this.params.length}`);
    state.averages.forEach((a, i) => {
      if (!Array.isArray(a) || a.length !== this.averages[i]!.length) throw new Error(`${who}: average ${i} has ${Array.isArray(a) ? a.length : 'no'} values, expected ${this.averages[i]!.length}`);
    });
    state.averages.forEach((a, i) => this.averages[i]!.set(a));
    this.updates = state.numUpdates;
  }
}
